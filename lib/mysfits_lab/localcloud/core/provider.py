"""The provider contract: what every service on the local cloud is built from.

A provider is constructed with the cloud's ``Context`` (so it never exists half-attached), then
says what it handles — ``routes()`` on the edge, ``control()`` JSON endpoints under
``/_localcloud/<name>/`` — and is started in dependency order (``requires``) and stopped in
reverse. It reaches other services only through their API (``ctx.client``) and shared
infrastructure through ``ctx`` (listeners, launcher, logs, clock, ports, changes) or
``ctx.provider(T)`` for the image store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import boto3
from botocore.config import Config

from ..constants import ACCOUNT_ID, DUMMY_CREDENTIALS
from .changes import Changes
from .clock import Clock
from .environment import child_environment
from .listeners import ListenerPool
from .logs import LogWriter, moto_sender
from .ports import PortAllocator
from .processes import Launcher

if TYPE_CHECKING:
    from ..edge import ControlRule, Route
    from ..edge.cors import CorsPolicy

P = TypeVar("P", bound="Provider")


class Provider:
    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()  # providers that must start first

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def routes(self) -> list[Route]:
        """Edge routes: (service, operation) → handler."""
        return []

    def control(self) -> list[ControlRule]:
        """JSON endpoints under ``/_localcloud/<name>`` for the CLI, lib, shims and tests."""
        return []

    def start(self) -> None:
        """Start background work (threads, listeners)."""

    def stop(self) -> None:
        """Stop background work and child processes; the cloud stops in reverse start order."""

    def status(self) -> dict[str, Any]:
        """What this provider serves now, for ``mysfits-lab cloud status``."""
        return {}

    def workdir(self) -> Path:
        """This provider's own folder in the cloud instance's state directory."""
        path = self.ctx.state_dir / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path


class Context:
    """What the cloud gives its providers."""

    def __init__(
        self,
        edge_url: str,
        region: str,
        state_dir: Path,
        cors: CorsPolicy,
        clock: Clock | None = None,
        lookup: Callable[[type[Provider]], Provider] | None = None,
        moto: Callable[[str, str, str, dict[str, Any]], dict[str, Any]] | None = None,
    ):
        self.edge_url = edge_url
        self.region = region
        self.state_dir = state_dir
        self.cors = cors
        self.clock = clock or Clock()
        self.changes = Changes()  # when to read another provider's state again (changes.py)
        self.listeners = ListenerPool()
        self.launcher = Launcher()
        self.ports = PortAllocator()
        self.logs = LogWriter(
            lambda r: self.client("logs", r),
            self.clock,
            # in the cloud, straight into moto's logs (logs.py says why)
            moto_sender(ACCOUNT_ID) if moto is not None else None,
        )
        self._lookup = lookup
        self._moto = moto
        # Variables a running provider gives every process that runs AWS code (the X-Ray
        # daemon's address): set in its start(), removed in its stop().
        self.extra_environment: dict[str, str] = {}
        # boto3 sessions are not thread-safe: one of our own, used under a lock.
        self._session = boto3.Session(region_name=region, **DUMMY_CREDENTIALS)
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for this cloud (clients themselves are thread-safe)."""
        key = (service, region or self.region)
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service,
                    endpoint_url=self.edge_url,
                    region_name=key[1],
                    config=Config(retries={"max_attempts": 2}),
                )
            return self._clients[key]

    def provider(self, kind: type[P]) -> P:
        """The running provider of class ``kind`` (e.g. the image store)."""
        if self._lookup is None:
            raise LookupError(f"no provider {kind.__name__} on this cloud")
        found = self._lookup(kind)
        if not isinstance(found, kind):
            raise LookupError(f"no provider {kind.__name__} on this cloud")
        return found

    def moto(self, service: str, operation: str, region: str, **params: Any) -> dict[str, Any]:
        """moto's own answer to a call, past every provider route (in-process, no HTTP)."""
        if self._moto is None:
            raise LookupError("this context has no moto to ask")
        return self._moto(service, operation, region, params)

    def child_environment(self, region: str, **options: Any) -> dict[str, str]:
        """The environment of a process that runs code written for AWS (see environment.py),
        with what running providers add; the caller's ``extra`` still wins."""
        extra = {**self.extra_environment, **(options.pop("extra", None) or {})}
        return child_environment(self.edge_url, region, extra=extra, **options)

    def close(self) -> None:
        self.listeners.stop_all()
        self.launcher.shutdown()
        self.logs.close()
