"""Starting a task's containers as local processes, from the image snapshot.

The contract between a task and the local cloud (what a container sees instead of Fargate):

- **Command**: the container definition's ``entryPoint``/``command`` when set, else the image's
  ENTRYPOINT + CMD. The executable is looked up on PATH = the local cloud interpreter's bin
  folder, then the system PATH, so ``python`` and ``waitress-serve`` are the project's; an
  absolute container path is used from the snapshot when it exists there, else by its base name.
  Arguments that are absolute container paths of files in the snapshot are mapped to them.
- **Working directory**: ``workingDirectory`` or the image's WORKDIR, inside the snapshot.
- **Environment**: the image's ENV, then the container definition's ``environment`` (and RunTask
  overrides), then the cloud's (``core/environment.py``: endpoint, region, dummy credentials),
  and ``AWS_EXECUTION_ENV``. An image PATH is ignored: it names container folders.
- **Port**: on AWS each task has its own IP and listens on its ``containerPort``; on loopback
  tasks cannot share a port, so each container with port mappings gets a free port of its own,
  passed as ``PORT=<port>`` with ``HOST=127.0.0.1`` (the Cloud Run convention). The service must
  listen on ``$HOST:$PORT``. Its private IP is reported as 127.0.0.1, and load balancers
  register it as the ip target ``127.0.0.1:<port>``. Only the first port mapping is honoured.
- **Output**: stdout and stderr, line by line, go to ``<state dir>/ecs/<task id>/<container>.log``
  and, with the ``awslogs`` driver, to CloudWatch Logs: group ``awslogs-group``, stream
  ``<awslogs-stream-prefix>/<container name>/<task id>``, as on AWS. A missing group fails the
  task (``ResourceInitializationError``) unless ``awslogs-create-group`` is ``true``.
- **Lifetime**: each container runs in its own process group under the cloud's launcher, so it
  dies with the local cloud process, even a killed one.
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import signal
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ...constants import LOOPBACK
from ...core.logs import LogStream
from ...core.processes import ProcessSpec
from ...core.provider import Context
from ...images import Image
from ...images.provider import ImagesProvider
from .models import Container, Task

log = logging.getLogger("mysfits_lab.localcloud.ecs")


class TaskStartError(Exception):
    """A task could not start; the message is the stoppedReason ECS would report."""


def signal_number(name: str | None) -> int:
    """A Dockerfile STOPSIGNAL (``SIGTERM``, ``TERM``, ``15``) as a number."""
    if not name:
        return signal.SIGTERM
    text = str(name).upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    return int(getattr(signal, text, signal.SIGTERM))


class TaskRunner:
    def __init__(self, ctx: Context, log_dir: Path):
        self.ctx = ctx
        self.log_dir = log_dir

    def launch(self, task: Task) -> None:
        """Start every container; raises TaskStartError (after cleaning up) when one cannot."""
        specs = [self._prepare(task, container) for container in task.containers]
        try:
            for container, spec in zip(task.containers, specs, strict=True):
                self._start(task, container, spec)
        except TaskStartError:
            for container in task.containers:
                if container.process is not None:
                    container.process.send(signal.SIGKILL)
            raise

    def _image(self, uri: str) -> Image:
        try:
            # Looked up when needed: the cloud has no provider list while providers are built.
            return self.ctx.provider(ImagesProvider).resolve(uri)
        except LookupError as exc:
            raise TaskStartError(
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): "
                f"failed to resolve ref {uri}: {exc}"
            ) from None

    def _prepare(self, task: Task, container: Container) -> ProcessSpec:
        definition = container.definition
        uri = definition.get("image", "")
        image = self._image(uri)
        container.image_digest = image.digest
        container.stop_signal = signal_number(image.stop_signal)
        stream = self._log_stream(task, container)
        override = next(
            (
                o
                for o in task.overrides.get("containerOverrides", [])
                if o.get("name") == container.name
            ),
            {},
        )
        variables = [*definition.get("environment", []), *override.get("environment", [])]
        extra = {"AWS_EXECUTION_ENV": f"AWS_ECS_{task.launch_type}"}
        if container.container_port is not None:
            container.host_port = self.ctx.ports.take()
            extra |= {"PORT": str(container.host_port), "HOST": LOOPBACK}
        env = self.ctx.child_environment(
            task.region,
            base=image.env | {v["name"]: str(v.get("value", "")) for v in variables},
            extra=extra,
        )
        workdir = definition.get("workingDirectory") or image.workdir or "/"
        cwd = image.host_path(workdir)
        if not cwd.is_dir():
            raise TaskStartError(
                f"CannotStartContainerError: working directory {workdir} does not exist in the "
                f"image {uri}"
            )
        return ProcessSpec(
            argv=self._command(image, definition, override, env["PATH"]),
            cwd=cwd,
            env=env,
            name=f"task-{task.id[:8]}-{container.name}",
            output_file=self.log_dir / task.id / f"{container.name}.log",
            on_line=stream.write if stream is not None else None,
        )

    def _log_stream(self, task: Task, container: Container) -> LogStream | None:
        config = container.definition.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs":
            return None
        options = config.get("options") or {}
        group = options.get("awslogs-group")
        if not group:
            raise TaskStartError(
                "ResourceInitializationError: failed to validate logger args: "
                "awslogs-group is required"
            )
        prefix = options.get("awslogs-stream-prefix")
        try:
            return self.ctx.logs.open(
                options.get("awslogs-region") or task.region,
                group,
                f"{prefix}/{container.name}/{task.id}" if prefix else task.id,
                create_group=str(options.get("awslogs-create-group", "")).lower() == "true",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            raise TaskStartError(
                "ResourceInitializationError: failed to validate logger args: create stream "
                "has been retried 1 times: failed to create Cloudwatch log stream: "
                "ResourceNotFoundException: The specified log group does not exist. "
                ": exit status 1"
            ) from None

    def _command(
        self, image: Image, definition: dict[str, Any], override: dict[str, Any], path: str
    ) -> list[str]:
        entrypoint = definition.get("entryPoint")
        command = override.get("command") or definition.get("command")
        if entrypoint is None and command is None:
            argv = image.command()
        else:
            # As Docker: a new ENTRYPOINT drops the image's CMD; a new CMD keeps its ENTRYPOINT.
            argv = [
                *(entrypoint if entrypoint is not None else image.entrypoint),
                *(command if command is not None else ([] if entrypoint else image.cmd)),
            ]
        if not argv:
            raise TaskStartError(
                "CannotStartContainerError: Error response from daemon: no command specified"
            )
        return [
            self._executable(image, argv[0], path),
            *(self._argument(image, a) for a in argv[1:]),
        ]

    @staticmethod
    def _executable(image: Image, name: str, path: str) -> str:
        if name.startswith("/"):
            inside = image.host_path(name)
            if inside.is_file() and os.access(inside, os.X_OK):
                return str(inside)
            name = posixpath.basename(name)  # /usr/local/bin/python -> the project's python
        found = shutil.which(name, path=path)
        if found is None:
            raise TaskStartError(
                "CannotStartContainerError: Error response from daemon: failed to create task "
                f'for container: exec: "{name}": executable file not found in $PATH: unknown'
            )
        return found

    @staticmethod
    def _argument(image: Image, arg: str) -> str:
        if arg.startswith("/") and len(arg) > 1:
            inside = image.host_path(arg)
            if inside.exists():
                return str(inside)
        return arg

    def _start(self, task: Task, container: Container, spec: ProcessSpec) -> None:
        try:
            container.process = self.ctx.launcher.start(spec)
        except OSError as exc:
            raise TaskStartError(
                f"CannotStartContainerError: Error response from daemon: {exc}"
            ) from None
        container.status = "RUNNING"
        log.info(
            "task %s container %s: pid %s port %s: %s",
            task.id,
            container.name,
            container.process.pid,
            container.host_port,
            " ".join(spec.argv),
        )
