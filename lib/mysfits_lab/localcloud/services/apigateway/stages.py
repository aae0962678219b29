"""The stages being served: each (API, stage) on its own loopback port — its own browser origin,
trusted by the edge's CORS policy like the cloud's websites — opened when the stage is deployed
and closed when it (or its API) is deleted."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ...constants import LOOPBACK
from ...core.http_server import LoopbackServer, serve_in_background
from .gateway import StageGateway
from .models import ApiSnapshot

log = logging.getLogger("mysfits_lab.localcloud.apigateway")


@dataclass
class _Served:
    gateway: StageGateway
    server: LoopbackServer

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_port}/{self.gateway.stage}"


class StageServers:
    def __init__(
        self,
        make_gateway: Callable[[str, ApiSnapshot], StageGateway],
        allow_port: Callable[[int], None],
        revoke_port: Callable[[int], None],
    ):
        self._make_gateway = make_gateway
        self._allow_port = allow_port
        self._revoke_port = revoke_port
        self._served: dict[tuple[str, str], _Served] = {}
        self._lock = threading.Lock()

    def deploy(self, api_id: str, stage: str, snapshot: ApiSnapshot) -> str:
        """Serve ``snapshot`` on the stage (opening its port the first time); its URL."""
        with self._lock:
            served = self._served.get((api_id, stage))
            if served is not None:
                served.gateway.deploy(snapshot)
                return served.url
            gateway = self._make_gateway(stage, snapshot)
            server = LoopbackServer(gateway)
            # A deleted stage's port closes promptly.
            serve_in_background(server, f"apigateway-{api_id}-{stage}", poll_interval=0.1)
            served = self._served[(api_id, stage)] = _Served(gateway, server)
            self._allow_port(server.server_port)
            log.info("stage %s of API %s on %s", stage, api_id, served.url)
            return served.url

    def configure(
        self,
        api_id: str,
        stage: str,
        variables: dict[str, str],
        tracing: bool,
        api_name: str = "",
    ) -> None:
        """A served stage's variables and tracing setting (and its API's name, for traces)."""
        with self._lock:
            served = self._served.get((api_id, stage))
        if served is not None:
            served.gateway.configure(variables, tracing, api_name)

    def using(self, api_id: str, deployment_id: str) -> list[str]:
        """The API's stages that serve this deployment."""
        with self._lock:
            return sorted(
                stage
                for (api, stage), served in self._served.items()
                if api == api_id and served.gateway.snapshot.deployment_id == deployment_id
            )

    def close(self, api_id: str, stage: str | None = None) -> None:
        """A stage's port, or every stage of the API when ``stage`` is None."""
        with self._lock:
            keys = [k for k in self._served if k[0] == api_id and stage in (None, k[1])]
            closing = [self._served.pop(k) for k in keys]
        for served in closing:
            served.gateway.closed = True  # kept-alive connections get 403 from now on
            self._revoke_port(served.server.server_port)
            served.server.shutdown()
            served.server.server_close()
            log.info("stage %s closed", served.url)

    def close_all(self) -> None:
        with self._lock:
            apis = {api for api, _ in self._served}
        for api in apis:
            self.close(api)

    def urls(self) -> dict[str, str]:
        with self._lock:
            return {f"{a}/{s}": served.url for (a, s), served in sorted(self._served.items())}

    def url(self, api_id: str, stage: str) -> str:
        with self._lock:
            served = self._served.get((api_id, stage))
        if served is None:
            raise LookupError(f"no stage {stage!r} of API {api_id!r} is deployed")
        return served.url
