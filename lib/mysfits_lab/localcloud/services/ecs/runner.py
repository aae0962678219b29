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
- **Address and port**: as on Fargate, each task has an IP of its own and listens on its
  ``containerPort`` there. The IP is a loopback address of the task's own (``core/loopback.py``:
  127.x.y.z, never 127.0.0.1, given back when the task stops), reported as its ENI's private
  IPv4 address and registered in target groups as the ip target ``<task ip>:<containerPort>``,
  so health checks and the NLB reach it there and two tasks of a service both listen on 8080.
  A container with port mappings gets ``HOST=<task ip>`` and ``PORT=<containerPort>`` (the
  Cloud Run convention, which gunicorn, waitress and most servers can be told to follow). Only
  the first port mapping is honoured.
- **Output**: stdout and stderr, line by line, go to ``<state dir>/ecs/<task id>/<container>.log``
  and, with the ``awslogs`` driver, to CloudWatch Logs: group ``awslogs-group``, stream
  ``<awslogs-stream-prefix>/<container name>/<task id>``, as on AWS. A missing group fails the
  task (``ResourceInitializationError``) unless ``awslogs-create-group`` is ``true``.
- **Lifetime**: each container runs in its own process group under the cloud's launcher, so it
  dies with the local cloud process, even a killed one.

**Why tasks share the machine's network.** On Fargate every task has a network namespace of its
own, so a container may bind ``0.0.0.0:<containerPort>``. Here all tasks share the host's
network: a process that binds ``0.0.0.0:8080`` takes 8080 on every loopback address, so only
one task on the machine can do that, and none can once another listens on 8080 at its own
address. What was weighed:

- *A network namespace per task* (``unshare -n``) would run such containers unchanged, but it
  needs root (or unprivileged user namespaces, which Ubuntu 24.04's AppArmor and many laptops
  refuse), and a task in it cannot reach the cloud's edge on 127.0.0.1 nor be reached by the
  NLB without veth pairs and routes, which need root too. CI has root; learners' laptops do
  not, and a runtime that works only on CI would hide the bugs laptops hit. Not used.
- *Rewriting the bind* (an ``LD_PRELOAD`` shim) would be invisible magic that breaks statically
  linked and macOS binaries. Not used.
- *An address per task, with ``$HOST``* (used): unchanged code that binds ``$HOST`` (or
  ``$HOST:$PORT``) runs any number of times; code that insists on ``0.0.0.0:<containerPort>``
  works as long as it is the only task on that port. When it is not, the task that cannot bind
  stops with a reason that says so (``address already in use: another task binds
  0.0.0.0:8080; …``), found before the start when the port is already taken on every address,
  or from the container's exit: never a task restarted for failing health checks it could not
  pass.

**Fallbacks** (the task keeps its address, or shares 127.0.0.1; a warning is logged):

- macOS has no loopback address but 127.0.0.1 (``LoopbackAddresses.available()``; also forced
  with ``MYSFITS_LAB_TASK_ADDRESSES=shared``): every task shares 127.0.0.1 and each container
  gets a free port of its own as ``PORT``, ``HOST=127.0.0.1``; targets are
  ``127.0.0.1:<port>``. A container that ignores ``$PORT`` cannot pass its health checks.
- The ``containerPort`` cannot be bound at the task's address for a reason that is not another
  task (a program on this machine binds ``0.0.0.0:8080``; a port below 1024 without root): that
  container gets a free port, passed as ``PORT``, at its task's address.

Containers of one task share the task's address, as they share an ENI on Fargate; but they
cannot reach each other on ``localhost`` (127.0.0.1) as they would there.
"""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import shutil
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ...constants import LOOPBACK
from ...core.logs import LogStream
from ...core.loopback import (
    AddressesExhausted,
    LoopbackAddresses,
    bindable,
    port_taken_everywhere,
)
from ...core.ports import free_port
from ...core.processes import Process, ProcessSpec
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


# How a server says it could not bind its port: Python, Node, Go, Java, Ruby ("errno 48": macOS).
_IN_USE_WORDS = ("address already in use", "eaddrinuse", "errno 98", "errno 48")


def on_port(tasks: Sequence[Task], port: int) -> list[Task]:
    """Those of ``tasks`` with a container listening on ``port`` at their own address."""
    return [t for t in tasks if t.holds_address and any(c.host_port == port for c in t.containers)]


def in_use_reason(port: int, address: str, everywhere: bool, by_task: bool) -> str:
    """Why a container cannot listen on ``port`` at the task's ``address``, and what to do."""
    who = "another task" if by_task else "another program on this machine"
    if everywhere:
        taken = f"{who} binds 0.0.0.0:{port} (every loopback address)"
    elif by_task:
        taken = f"other tasks listen on port {port} at their own address"
    else:
        taken = f"{who} listens on port {port}"
    if not everywhere:
        taken += f", so 0.0.0.0:{port} cannot be bound"
    return (
        f"address already in use: {taken}; on the local cloud tasks share the machine's network: "
        f"bind your task's own address $HOST ({address}:{port}), not 0.0.0.0"
    )


class TaskRunner:
    def __init__(self, ctx: Context, log_dir: Path, addresses: LoopbackAddresses | None = None):
        self.ctx = ctx
        self.log_dir = log_dir
        self.addresses = addresses or LoopbackAddresses()

    def launch(self, task: Task, peers: Sequence[Task] = ()) -> None:
        """Start every container; raises TaskStartError (after cleaning up) when one cannot.
        ``peers``: the other tasks whose processes run, that may hold a port this one needs."""
        self._attach(task, peers)
        specs = [self._prepare(task, container) for container in task.containers]
        try:
            for container, spec in zip(task.containers, specs, strict=True):
                self._start(task, container, spec)
        except TaskStartError:
            for container in task.containers:
                if container.process is not None:
                    container.process.send(signal.SIGKILL)
            raise

    def release(self, task: Task) -> None:
        """Give the stopped task's address back (it stays its reported private IP)."""
        if task.holds_address:
            self.addresses.release(task.private_ip)
            task.holds_address = False

    # -- the task's network ------------------------------------------------------------------
    def _attach(self, task: Task, peers: Sequence[Task]) -> None:
        """The task's ENI: its private IP, and where each container with a port listens."""
        with_ports = [c for c in task.containers if c.container_port is not None]
        if not self.addresses.available():
            task.private_ip = LOOPBACK
            for container in with_ports:
                container.host_port = self.ctx.ports.take()
            return
        try:
            task.private_ip = self.addresses.take()
        except AddressesExhausted as exc:
            raise TaskStartError(
                "ResourceInitializationError: failed to attach the network interface: the "
                f"subnet has no free IP address ({exc})"
            ) from None
        task.holds_address = True
        for container in with_ports:
            container.host_port = self._port(task, container, peers)

    def _port(self, task: Task, container: Container, peers: Sequence[Task]) -> int:
        """The containerPort, when it can be bound at the task's address; a free port when
        something other than a task is in the way; TaskStartError when a task holds it on
        every address (it binds 0.0.0.0)."""
        port = int(container.container_port or 0)
        error = bindable(task.private_ip, port)
        if error is None:
            return port
        in_use = error.errno == errno.EADDRINUSE
        if in_use and port_taken_everywhere(port) and on_port(peers, port):
            raise TaskStartError(
                "CannotStartContainerError: "
                + in_use_reason(port, task.private_ip, everywhere=True, by_task=True)
            )
        remapped = free_port(task.private_ip)
        log.warning(
            "task %s container %s: port %s cannot be bound at %s (%s%s): it listens on "
            "$PORT=%s instead",
            task.id,
            container.name,
            port,
            task.private_ip,
            error.strerror or error,
            f"; something binds 0.0.0.0:{port}" if in_use and port_taken_everywhere(port) else "",
            remapped,
        )
        return remapped

    def exit_reason(self, task: Task, container: Container, peers: Sequence[Task]) -> str | None:
        """Why an exited container could not listen on its port, when its last words say that
        and something else holds the port; None otherwise (``peers``: the other tasks whose
        processes run)."""
        port = container.container_port
        if not task.holds_address or port is None or container.host_port != port:
            return None
        if container.process is not None:
            container.process.join_output(1.0)  # its last lines may still be in the pipe
        if not any(w in line.lower() for line in container.tail for w in _IN_USE_WORDS):
            return None
        if (error := bindable("0.0.0.0", port)) is None or error.errno != errno.EADDRINUSE:
            return None  # the port is free now: it was not another holder's
        return in_use_reason(
            port,
            task.private_ip,
            everywhere=port_taken_everywhere(port),
            by_task=bool(on_port(peers, port)),
        )

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
        if container.host_port is not None:
            extra |= {"PORT": str(container.host_port), "HOST": task.private_ip}
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
            on_line=self._on_line(container, stream),
        )

    @staticmethod
    def _on_line(container: Container, stream: LogStream | None) -> Callable[[str], None]:
        def on_line(line: str) -> None:
            container.tail.append(line)
            if stream is not None:
                stream.write(line)

        return on_line

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

    def _announce_exit(self, process: Process) -> None:
        """The scheduler moves a task on as soon as a container exits (stopped, crashed)."""
        process.wait()
        self.ctx.changes.notify()

    def _start(self, task: Task, container: Container, spec: ProcessSpec) -> None:
        try:
            container.process = self.ctx.launcher.start(spec)
        except OSError as exc:
            raise TaskStartError(
                f"CannotStartContainerError: Error response from daemon: {exc}"
            ) from None
        container.status = "RUNNING"
        threading.Thread(
            target=self._announce_exit,
            args=(container.process,),
            name=f"exit-{spec.name}",
            daemon=True,
        ).start()
        log.info(
            "task %s container %s: pid %s at %s:%s: %s",
            task.id,
            container.name,
            container.process.pid,
            task.private_ip,
            container.host_port,
            " ".join(spec.argv),
        )
