"""ECS tasks as local processes: one process per container, started from the image snapshot.

The contract between a task and the local cloud (what a container sees instead of Fargate):

- **Command**: the container definition's ``entryPoint``/``command`` when set, else the image's
  ENTRYPOINT + CMD. The executable is looked up on PATH = the local cloud interpreter's bin
  folder, then the system PATH, so ``python`` and ``waitress-serve`` are the project's; an
  absolute container path is used from the snapshot when it exists there, else by its base name.
  Arguments that are absolute container paths of files in the snapshot are mapped to them.
- **Working directory**: ``workingDirectory`` or the image's WORKDIR, inside the snapshot.
- **Environment**: HOME/LANG/PATH of the host (PATH as above; an image PATH is ignored because it
  names container folders), then the image's ENV, then the container definition's
  ``environment`` (and RunTask overrides), then the cloud's: ``AWS_ENDPOINT_URL`` (the edge),
  ``AWS_REGION``/``AWS_DEFAULT_REGION``, dummy credentials (``testing``), ``AWS_EXECUTION_ENV``.
- **Port**: on AWS each task has its own IP and listens on its ``containerPort``; on loopback
  tasks cannot share a port, so each container with port mappings gets a free port of its own,
  passed as ``PORT=<port>`` with ``HOST=127.0.0.1`` (the Cloud Run convention). The service must
  listen on ``$HOST:$PORT``. Its private IP is reported as 127.0.0.1, and load balancers
  register it as the ip target ``127.0.0.1:<port>``. Only the first port mapping is honoured.
- **Output**: stdout and stderr, line by line, go to ``<state dir>/ecs/<task id>/<container>.log``
  and, with the ``awslogs`` driver, to CloudWatch Logs: group ``awslogs-group``, stream
  ``<awslogs-stream-prefix>/<container name>/<task id>``, as on AWS. A missing group fails the
  task (``ResourceInitializationError``) unless ``awslogs-create-group`` is ``true``.
- **Lifetime**: each container runs in its own process group; stopping sends the image's
  STOPSIGNAL (SIGTERM), then SIGKILL after ``stopTimeout`` (30 s). On Linux a task also dies
  with the local cloud process (PR_SET_PDEATHSIG), so a crashed cloud leaves no orphans.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.tasks")

DEFAULT_STOP_TIMEOUT = 30.0
LOG_FLUSH_SECONDS = 0.2
LOG_BATCH = 200

# Runs between fork and the container's command: ask the kernel to kill the task when the
# thread that started it (the scheduler, alive as long as the cloud) goes away, then exec.
_LAUNCHER = """
import ctypes, os, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(137)
os.execv(sys.argv[2], sys.argv[2:])
"""


class Image(Protocol):
    """What a task needs from an image (``mysfits_lab.localcloud.images.Image``)."""

    root: Path
    workdir: str
    env: dict[str, str]
    exposed_ports: list[int]
    digest: str

    def command(self) -> list[str]: ...

    def host_path(self, container_path: str) -> Path: ...


def cloud_images(cloud: LocalCloud, image_uri: str) -> Image:
    """The default way to find an image: the cloud's image store (``cloud.images``)."""
    images = getattr(cloud, "images", None)
    if images is None:
        raise LookupError(f"{image_uri}: this local cloud has no image store")
    return images.resolve(image_uri)


class TaskStartError(Exception):
    """A task could not start; the message is the stoppedReason ECS would report."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def epoch() -> float:
    return round(time.time(), 3)


# -- CloudWatch Logs ------------------------------------------------------------------------
class LogShipper:
    """Sends task output to CloudWatch Logs in small batches from one background thread."""

    def __init__(self, logs_client: Callable[[str], Any]):
        self._client = logs_client  # region -> boto3 logs client
        self._queue: queue.Queue[tuple[str, str, str, int, str]] = queue.Queue()
        self._streams: set[tuple[str, str, str]] = set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecs-logs", daemon=True)
        self._thread.start()

    def put(self, region: str, group: str, stream: str, message: str) -> None:
        self._queue.put((region, group, stream, int(time.time() * 1000), message))

    def _run(self) -> None:
        while not self._closed.is_set():
            self._closed.wait(LOG_FLUSH_SECONDS)
            self.flush()

    def flush(self) -> None:
        pending: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        while True:
            try:
                region, group, stream, stamp, message = self._queue.get_nowait()
            except queue.Empty:
                break
            pending.setdefault((region, group, stream), []).append(
                {"timestamp": stamp, "message": message}
            )
        for (region, group, stream), events in pending.items():
            try:
                self._send(region, group, stream, events)
            except Exception as exc:  # the group may have been deleted: the output is lost
                log.debug("dropping %d log events for %s/%s: %s", len(events), group, stream, exc)

    def _send(self, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        client = self._client(region)
        if (region, group, stream) not in self._streams:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
            self._streams.add((region, group, stream))
        for start in range(0, len(events), LOG_BATCH):
            client.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=events[start : start + LOG_BATCH],
            )

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self.flush()


# -- containers -----------------------------------------------------------------------------
@dataclass
class LogTarget:
    region: str
    group: str
    stream: str


@dataclass
class Container:
    """One container of a task: its definition and, once started, its process."""

    definition: dict[str, Any]
    arn: str
    runtime_id: str
    status: str = "PENDING"
    process: subprocess.Popen | None = None
    host_port: int | None = None
    exit_code: int | None = None
    reason: str | None = None
    image_digest: str | None = None
    stop_signal: int = signal.SIGTERM
    log_target: LogTarget | None = None
    reader: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def essential(self) -> bool:
        return self.definition.get("essential", True)

    @property
    def container_port(self) -> int | None:
        mappings = self.definition.get("portMappings") or []
        return mappings[0].get("containerPort") if mappings else None

    @property
    def stop_timeout(self) -> float:
        return float(self.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)

    def poll(self) -> int | None:
        if self.process is None:
            return None
        code = self.process.poll()
        if code is not None and self.exit_code is None:
            # A signal death is reported as Docker does: 128 + the signal number.
            self.exit_code = 128 - code if code < 0 else code
            self.status = "STOPPED"
        return code

    def send(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


@dataclass
class Task:
    """An ECS task: what DescribeTasks reports, plus the processes behind it."""

    id: str
    arn: str
    cluster_arn: str
    region: str
    definition: dict[str, Any]
    containers: list[Container]
    group: str
    started_by: str | None = None
    launch_type: str = "FARGATE"
    overrides: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    created_at: float = field(default_factory=epoch)
    times: dict[str, float] = field(default_factory=dict)
    stop_code: str | None = None
    stopped_reason: str | None = None
    version: int = 1
    attachment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    eni_id: str = field(default_factory=lambda: "eni-" + secrets.token_hex(8)[:17])
    subnet_id: str | None = None
    # Scheduler bookkeeping (not reported)
    service: Any = None
    deployment: Any = None
    registered: list[tuple[str, str, int]] = field(default_factory=list)  # (group, ip, port)
    failed: bool = False
    was_healthy: bool = False
    launched_at: float = 0.0
    kill_at: float = 0.0
    drain_until: float = 0.0

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.rsplit("/", 1)[-1]

    @property
    def alive(self) -> bool:
        return self.desired_status == "RUNNING" and self.last_status != "STOPPED"

    def touch(self, status: str | None = None) -> None:
        if status and status != self.last_status:
            self.last_status = status
        self.version += 1

    def port_of(self, container_name: str) -> int | None:
        for container in self.containers:
            if container.name == container_name:
                return container.host_port
        return None

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.containers if c.process is not None]

    def to_api(self) -> dict[str, Any]:
        definition = self.definition
        details = [
            {"name": "subnetId", "value": self.subnet_id or ""},
            {"name": "networkInterfaceId", "value": self.eni_id},
            {"name": "macAddress", "value": "02:00:00:00:00:01"},
            {"name": "privateDnsName", "value": "localhost"},
            {"name": "privateIPv4Address", "value": "127.0.0.1"},
        ]
        stopped = self.last_status == "STOPPED"
        task: dict[str, Any] = {
            "taskArn": self.arn,
            "clusterArn": self.cluster_arn,
            "taskDefinitionArn": definition["taskDefinitionArn"],
            "overrides": {"containerOverrides": [], "inferenceAcceleratorOverrides": []}
            | self.overrides,
            "lastStatus": self.last_status,
            "desiredStatus": self.desired_status,
            "cpu": str(definition.get("cpu", "256")),
            "memory": str(definition.get("memory", "512")),
            "containers": [self._container_api(c) for c in self.containers],
            "version": self.version,
            "connectivity": "CONNECTED",
            "createdAt": self.created_at,
            "group": self.group,
            "launchType": self.launch_type,
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "availabilityZone": f"{self.region}a",
            "attachments": [
                {
                    "id": self.attachment_id,
                    "type": "ElasticNetworkInterface",
                    "status": "DELETED" if stopped else "ATTACHED",
                    "details": details,
                }
            ],
            "healthStatus": "UNKNOWN",
            "tags": self.tags,
            "enableExecuteCommand": False,
            "ephemeralStorage": {"sizeInGiB": 20},
        }
        if self.started_by:
            task["startedBy"] = self.started_by
        for key in (
            "connectivityAt",
            "pullStartedAt",
            "pullStoppedAt",
            "startedAt",
            "stoppingAt",
            "executionStoppedAt",
            "stoppedAt",
        ):
            if key in self.times:
                task[key] = self.times[key]
        if self.stop_code:
            task["stopCode"] = self.stop_code
        if self.stopped_reason:
            task["stoppedReason"] = self.stopped_reason
        return task

    def _container_api(self, container: Container) -> dict[str, Any]:
        data: dict[str, Any] = {
            "containerArn": container.arn,
            "taskArn": self.arn,
            "name": container.name,
            "image": container.definition.get("image", ""),
            "runtimeId": container.runtime_id,
            "lastStatus": container.status,
            "networkBindings": [],
            "networkInterfaces": [
                {"attachmentId": self.attachment_id, "privateIpv4Address": "127.0.0.1"}
            ],
            "healthStatus": "UNKNOWN",
            "cpu": str(container.definition.get("cpu", 0)),
        }
        if container.image_digest:
            data["imageDigest"] = container.image_digest
        if container.definition.get("memory"):
            data["memory"] = str(container.definition["memory"])
        if container.exit_code is not None:
            data["exitCode"] = container.exit_code
        if container.reason:
            data["reason"] = container.reason
        return data


def new_task(cluster_arn: str, definition: dict[str, Any], group: str, **fields: Any) -> Task:
    """A PROVISIONING task with the ARN layout ``task/<cluster>/<32 hex>``."""
    _, _, _, region, account, _ = cluster_arn.split(":", 5)
    cluster = cluster_arn.rsplit("/", 1)[-1]
    task_id = uuid.uuid4().hex
    containers = [
        Container(
            definition=c,
            arn=f"arn:aws:ecs:{region}:{account}:container/{cluster}/{task_id}/{uuid.uuid4()}",
            runtime_id=f"{task_id}-{secrets.randbelow(10**10):010d}",
        )
        for c in definition.get("containerDefinitions", [])
    ]
    return Task(
        id=task_id,
        arn=f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task_id}",
        cluster_arn=cluster_arn,
        region=region,
        definition=definition,
        containers=containers,
        group=group,
        **fields,
    )


# -- launching ------------------------------------------------------------------------------
class TaskRunner:
    """Starts and stops task processes. ``launch`` must run on one long-lived thread (the
    scheduler): the kernel's parent-death signal is tied to the thread that forked."""

    def __init__(
        self,
        cloud: LocalCloud,
        resolver: Callable[[LocalCloud, str], Image],
        shipper: LogShipper,
    ):
        self.cloud = cloud
        self.resolver = resolver
        self.shipper = shipper
        self.log_dir = cloud.state_dir / "ecs"
        self.bin_dir = str(Path(sys.executable).parent)
        # Ports handed out lately: the OS may offer a port again before its task binds it.
        self._recent_ports: deque[int] = deque(maxlen=256)

    def _port(self) -> int:
        while (port := free_port()) in self._recent_ports:
            pass
        self._recent_ports.append(port)
        return port

    def launch(self, task: Task) -> None:
        """Start every container; raises TaskStartError (after cleaning up) when one cannot."""
        prepared = [self._prepare(task, container) for container in task.containers]
        started: list[Container] = []
        try:
            for container, (argv, cwd, env) in zip(task.containers, prepared, strict=True):
                self._start(task, container, argv, cwd, env)
                started.append(container)
        except TaskStartError:
            for container in started:
                container.send(signal.SIGKILL)
            raise

    def _prepare(self, task: Task, container: Container) -> tuple[list[str], Path, dict[str, str]]:
        definition = container.definition
        uri = definition.get("image", "")
        try:
            image = self.resolver(self.cloud, uri)
        except LookupError as exc:
            raise TaskStartError(
                f"CannotPullContainerError: pull image manifest has been retried 1 time(s): "
                f"failed to resolve ref {uri}: {exc}"
            ) from None
        container.image_digest = image.digest
        container.stop_signal = _signal_number(getattr(image, "stop_signal", None))
        container.log_target = self._log_target(task, container)
        override = next(
            (
                o
                for o in task.overrides.get("containerOverrides", [])
                if o.get("name") == container.name
            ),
            {},
        )
        env = self._environment(task, image, definition, override)
        if container.container_port is not None:
            container.host_port = self._port()
            env["PORT"] = str(container.host_port)
            env["HOST"] = "127.0.0.1"
        argv = self._command(image, definition, override, env["PATH"])
        workdir = definition.get("workingDirectory") or image.workdir or "/"
        cwd = image.host_path(workdir)
        if not cwd.is_dir():
            raise TaskStartError(
                f"CannotStartContainerError: working directory {workdir} does not exist in the "
                f"image {uri}"
            )
        return argv, cwd, env

    def _log_target(self, task: Task, container: Container) -> LogTarget | None:
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
        region = options.get("awslogs-region") or task.region
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{container.name}/{task.id}" if prefix else task.id
        logs = self.cloud.client("logs", region)
        found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
        if not any(g["logGroupName"] == group for g in found):
            if str(options.get("awslogs-create-group", "")).lower() != "true":
                raise TaskStartError(
                    "ResourceInitializationError: failed to validate logger args: create stream "
                    "has been retried 1 times: failed to create Cloudwatch log stream: "
                    "ResourceNotFoundException: The specified log group does not exist. "
                    ": exit status 1"
                )
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
        return LogTarget(region, group, stream)

    def _environment(
        self, task: Task, image: Image, definition: dict[str, Any], override: dict[str, Any]
    ) -> dict[str, str]:
        env = {
            "PATH": os.pathsep.join([self.bin_dir, os.environ.get("PATH", os.defpath)]),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }
        env.update({k: v for k, v in image.env.items() if k != "PATH"})
        for item in [*definition.get("environment", []), *override.get("environment", [])]:
            env[item["name"]] = str(item.get("value", ""))
        env.update(
            {
                "AWS_ENDPOINT_URL": self.cloud.edge_url,
                "AWS_REGION": task.region,
                "AWS_DEFAULT_REGION": task.region,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EXECUTION_ENV": f"AWS_ECS_{task.launch_type}",
            }
        )
        return env

    def _command(
        self, image: Image, definition: dict[str, Any], override: dict[str, Any], path: str
    ) -> list[str]:
        entrypoint = definition.get("entryPoint")
        command = override.get("command") or definition.get("command")
        if entrypoint is None and command is None:
            argv = image.command()
        else:
            image_entrypoint = list(getattr(image, "entrypoint", []) or [])
            image_cmd = list(getattr(image, "cmd", []) or [])
            # As Docker: a new ENTRYPOINT drops the image's CMD; a new CMD keeps its ENTRYPOINT.
            argv = [
                *(entrypoint if entrypoint is not None else image_entrypoint),
                *(command if command is not None else ([] if entrypoint else image_cmd)),
            ]
        if not argv:
            raise TaskStartError(
                "CannotStartContainerError: Error response from daemon: no command specified"
            )
        executable = self._executable(image, argv[0], path)
        return [executable, *(self._argument(image, arg) for arg in argv[1:])]

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

    def _start(
        self, task: Task, container: Container, argv: list[str], cwd: Path, env: dict[str, str]
    ) -> None:
        log_file = self.log_dir / task.id / f"{container.name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        shown = " ".join(argv)
        if sys.platform.startswith("linux"):
            argv = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), *argv]
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,  # stop signals reach anything the command starts
            )
        except OSError as exc:
            raise TaskStartError(
                f"CannotStartContainerError: Error response from daemon: {exc}"
            ) from None
        container.process = process
        container.status = "RUNNING"
        container.reader = threading.Thread(
            target=self._read_output,
            args=(process, log_file, container.log_target),
            name=f"task-{task.id[:8]}-{container.name}",
            daemon=True,
        )
        container.reader.start()
        log.info(
            "task %s container %s: pid %s port %s: %s",
            task.id,
            container.name,
            process.pid,
            container.host_port,
            shown,
        )

    def _read_output(
        self, process: subprocess.Popen, log_file: Path, target: LogTarget | None
    ) -> None:
        assert process.stdout is not None
        with open(log_file, "ab") as sink:
            for raw in iter(process.stdout.readline, b""):
                sink.write(raw)
                sink.flush()
                if target is not None:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    self.shipper.put(target.region, target.group, target.stream, line)
        process.stdout.close()


def _signal_number(name: str | None) -> int:
    if not name:
        return signal.SIGTERM
    text = str(name).upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    return int(getattr(signal, text, signal.SIGTERM))
