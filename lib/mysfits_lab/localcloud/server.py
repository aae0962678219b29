"""The local cloud process: moto in-process behind our edge, plus the providers.

Started by ``mysfits-lab cloud up`` (or ``Lab.connect``) as a background process bound to
127.0.0.1. Its state directory holds ``state.json`` (pid, port, instance id) and ``cloud.log``.
"""

from __future__ import annotations

import argparse
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

import boto3
from botocore.config import Config
from werkzeug.serving import make_server

from .edge import Edge
from .listeners import ListenerPool
from .providers.cloudformation import CloudFormationProvider
from .providers.codebuild import CodeBuildProvider
from .providers.ecs import EcsProvider
from .providers.elb import LoadBalancerProvider
from .providers.images import ImagesProvider
from .providers.s3_website import S3WebsiteProvider
from .providers.sagemaker import SageMakerProvider

log = logging.getLogger("mysfits_lab.localcloud")

# moto's default account; every ARN on the local cloud carries it.
ACCOUNT_ID = "123456789012"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _moto_app() -> Any:
    # Imported lazily: moto's import is the bulk of the start-up time.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def default_providers() -> list:
    return [
        S3WebsiteProvider(),
        CloudFormationProvider(),
        ImagesProvider(),
        CodeBuildProvider(),
        LoadBalancerProvider(),
        EcsProvider(),
        SageMakerProvider(),
    ]


class LocalCloud:
    def __init__(
        self, port: int, state_dir: Path, region: str = "us-east-1", providers: list | None = None
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
        self.edge = Edge(_moto_app(), self.instance_id)
        self._clients: dict[tuple[str, str], Any] = {}
        self.listeners = ListenerPool()
        self.providers = providers if providers is not None else default_providers()
        self._server = make_server("127.0.0.1", port, self.edge, threaded=True)
        self.port = self._server.server_port
        self.edge_url = f"http://127.0.0.1:{self.port}"
        self.edge.control_route("status", lambda _request: self.status())
        for provider in self.providers:
            provider.attach(self)

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client that talks to this cloud (providers read moto's state this way)."""
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self._new_client(service, region)
        return self._clients[key]

    def _new_client(self, service: str, region: str | None) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.edge_url,
            region_name=region or self.region,
            config=Config(retries={"max_attempts": 2}),
            **DUMMY_CREDENTIALS,
        )

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "running": True,
            "edge_url": self.edge_url,
            "instance_id": self.instance_id,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "region": self.region,
        }
        for provider in self.providers:
            status.update(provider.status())
        return status

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        for provider in self.providers:
            try:
                provider.stop()
            except Exception:  # keep stopping the others
                log.exception("stopping provider %s", provider.name)
        self.listeners.stop_all()
        self._server.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mysfits_lab.localcloud.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.monotonic()
    cloud = LocalCloud(args.port, args.state_dir, region=args.region)

    state = cloud.status() | {"port": cloud.port}
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
