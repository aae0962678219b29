"""The local cloud process: moto in-process behind our edge, plus the providers.

Started by ``mysfits-lab cloud up`` (or ``Lab.connect``) as a background process bound to
127.0.0.1. Its state directory holds ``state.json`` (pid, port, instance id) and ``cloud.log``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .constants import ACCOUNT_ID, DEFAULT_REGION, LOOPBACK
from .control import process_start
from .core.clock import Clock
from .core.http_server import LoopbackServer
from .core.provider import Context, Provider
from .edge import ControlRule, Edge
from .edge.catalog import service_index
from .registry import PROVIDERS, start_order

log = logging.getLogger("mysfits_lab.localcloud")

# moto builds a service's WSGI app and backend on the service's first request, the EC2 one
# in over a second; the workbook's services are built in the background at start instead.
WARM_SERVICES = (
    "sts", "iam", "s3", "ec2", "elbv2", "ecr", "ecs", "logs", "codebuild", "codepipeline",
    "dynamodb", "dynamodbstreams", "cognitoidp", "apigateway", "lambda", "firehose", "sns",
    "xray", "sagemaker", "resourcegroupstaggingapi",
)  # fmt: skip


def _warm_up(dispatcher: Any, region: str) -> None:
    """Build what the first requests would otherwise wait for, then freeze it."""
    from moto import backends

    service_index()  # the edge's index of botocore's services
    for service in WARM_SERVICES:
        try:
            app = dispatcher.create_app(service)
            with dispatcher.lock:  # moto builds apps under this lock: not held while building
                dispatcher.app_instances.setdefault(service, app)
            per_account = backends.get_backend(service)[ACCOUNT_ID]  # type: ignore[call-overload]
            per_account[region if region in per_account.regions else "aws"]  # global: IAM, S3...
        except Exception:  # a request builds it then, as moto would
            log.exception("building moto's %s backend ahead of use", service)
    # What start-up built (service models, AWS managed policies: millions of objects) lives as
    # long as the cloud. Frozen, it is no longer walked by every full garbage collection, which
    # otherwise stops every request for some 300 ms now and then.
    gc.collect()
    gc.freeze()
    # Requests allocate many short-lived objects: collecting the young generation every 20,000
    # allocations rather than every 700 makes the (still pausing) older collections rarer.
    gc.set_threshold(20_000, 20, 20)


def _moto_app() -> Any:
    # jsonschema (under moto's API Gateway) imports rfc3987_syntax when it is installed, to
    # check the "iri" format; that module compiles a grammar as it is imported: 1.8 s of every
    # start. Nothing in the cloud checks that format: jsonschema goes on without it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    # Imported lazily: moto's import is the bulk of the start-up time.
    from moto import backends
    from moto.core.base_backend import BackendDict
    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # AWS managed policies (AWSLambdaBasicExecutionRole, ...) exist in every account on AWS;
    # moto leaves them out unless asked, and AttachRolePolicy then fails with NoSuchEntity.
    default_user_config["iam"]["load_aws_managed_policies"] = True
    # moto's state is per process: a new cloud starts empty even when an earlier cloud ran in
    # this process (tests start one after another), as a restarted cloud process does.
    BackendDict.reset()
    modules = frozenset(backends.list_of_moto_modules())

    class Dispatcher(DomainDispatcherApplication):
        """moto's dispatcher with its module list read once: moto lists its package folder
        (a directory read and ~250 stats) on every request to match the Host header."""

        def get_backend_for_host(self, host: str | None) -> Any:
            if host is None:
                return None
            if host == "moto_api" or host in modules:
                return host
            for backend, pattern in self.backend_url_patterns:
                if pattern.match(f"http://{host}"):
                    return backend
            return None

    return Dispatcher(create_backend_app)


class LocalCloud:
    def __init__(
        self,
        port: int,
        state_dir: Path,
        region: str = DEFAULT_REGION,
        providers: list[str | type[Provider]] | None = None,
        clock: Clock | None = None,
    ):
        self.instance_id = uuid.uuid4().hex[:12]
        # Disk space for providers (image snapshots, task logs); one folder per instance. A
        # state directory has one cloud at a time, so older folders belong to stopped clouds.
        instances = state_dir / "instances"
        for stale in instances.glob("*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.state_dir = instances / self.instance_id
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.edge = Edge(_moto_app(), region)
        self._warming = threading.Thread(
            target=_warm_up, args=(self.edge.moto_app, region), name="warm-up", daemon=True
        )
        self._warming.start()
        self._server = LoopbackServer(self.edge, LOOPBACK, port)
        self.port = self._server.server_port
        self.edge_url = f"http://{LOOPBACK}:{self.port}"
        self.ctx = Context(
            self.edge_url,
            region,
            self.state_dir,
            self.edge.cors,
            clock,
            self._provider_of,
            self.edge.ask_moto,
        )
        # Built one by one in dependency order, so a provider may look up the ones it requires.
        self.providers: list[Provider] = []
        for cls in start_order(providers or list(PROVIDERS)):
            self.providers.append(cls(self.ctx))
        self.edge.add_control("status", ControlRule("", lambda _request: self.status()))
        for provider in self.providers:
            for route in provider.routes():
                route.owner = provider.name
                self.edge.add_route(route)
            for rule in provider.control():
                self.edge.add_control(provider.name, rule)
        for provider in self.providers:
            provider.start()

    def _provider_of(self, kind: type[Provider]) -> Provider:
        for provider in self.providers:
            if isinstance(provider, kind):
                return provider
        raise LookupError(f"no provider {kind.__name__} on this cloud")

    def client(self, service: str, region: str | None = None) -> Any:
        return self.ctx.client(service, region)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "running": True,
            "edge_url": self.edge_url,
            "instance_id": self.instance_id,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "region": self.region,
            "warming": self._warming.is_alive(),  # moto's services still being built
        }
        for provider in self.providers:
            status.update(provider.status())
        return status

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        """Stop providers in reverse start order (ECS stops its tasks before the load balancer
        stops health checks), then the shared runtime, then the edge."""
        for provider in reversed(self.providers):
            try:
                provider.stop()
            except Exception:  # keep stopping the others
                log.exception("stopping provider %s", provider.name)
        self.ctx.close()
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mysfits_lab.localcloud.cloud")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--region", default=DEFAULT_REGION)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.monotonic()
    # A subset of providers (comma-separated names from the registry) for debugging one service.
    only = os.environ.get("MYSFITS_LAB_PROVIDERS")
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    cloud = LocalCloud(args.port, args.state_dir, region=args.region, providers=names)

    state = cloud.status() | {"port": cloud.port, "process_start": process_start(os.getpid())}
    args.state_dir.mkdir(parents=True, exist_ok=True)
    (args.state_dir / "state.json").write_text(json.dumps(state, indent=2))

    def stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=cloud.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "local cloud %s ready on %s in %.2fs",
        cloud.instance_id,
        cloud.edge_url,
        time.monotonic() - started,
    )
    cloud.serve_forever()
    log.info("local cloud %s stopped", cloud.instance_id)


if __name__ == "__main__":
    main()
