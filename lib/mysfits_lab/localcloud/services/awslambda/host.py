"""What the cloud gives a function's workers: how to start them (``WorkerHost``), the variables
the function sees, its ``sys.path`` and the folder of the workers' sockets.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ...core.clock import Clock
from ...core.processes import Launcher
from .code import layer_paths
from .models import Revision
from .output import LogSink

TASK_ROOT = "/var/task"  # where a function's code is on AWS


@dataclass
class WorkerHost:
    """What a worker needs from the cloud (a narrow view of the provider's ``Context``)."""

    launcher: Launcher
    clock: Clock
    socket_dir: Path
    environment: Callable[[Revision, str], dict[str, str]]  # (revision, stream) -> env
    open_log: Callable[[Revision, str], LogSink | None]  # (revision, stream) -> sink
    paths: Callable[[Revision], list[str]]  # sys.path entries before the standard library


def environment_for(
    revision: Revision,
    stream: str,
    child_environment: Callable[..., dict[str, str]],
    runtime_dir: str,
) -> dict[str, str]:
    """The variables a function sees: its own, the cloud's (endpoint, region, dummy
    credentials) and those the Lambda runtime defines."""
    extra: Mapping[str, str] = {
        "AWS_LAMBDA_FUNCTION_NAME": revision.name,
        "AWS_LAMBDA_FUNCTION_VERSION": revision.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(revision.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": revision.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{revision.runtime}",
        "LAMBDA_TASK_ROOT": str(revision.code_dir),
        "LAMBDA_RUNTIME_DIR": runtime_dir,
        "_HANDLER": revision.handler,
        "AWS_REGION": revision.region,
        "AWS_DEFAULT_REGION": revision.region,
        "TZ": ":UTC",
    }
    env = child_environment(revision.region, base=dict(revision.environment), extra=extra)
    daemon = env.get("AWS_XRAY_DAEMON_ADDRESS")
    if daemon:  # the X-Ray variables the Lambda runtime defines next to the daemon's address
        host, _, port = daemon.rpartition(":")
        env.update(_AWS_XRAY_DAEMON_ADDRESS=host, _AWS_XRAY_DAEMON_PORT=port)
        env.setdefault("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
    return env


def function_paths(revision: Revision, python: str, sdk: Path) -> list[str]:
    """sys.path before the standard library: the code, the function's own PYTHONPATH
    (``/var/task/...`` is its code folder here), the layers, the SDK."""
    paths = [str(revision.code_dir)]
    for entry in (revision.environment.get("PYTHONPATH") or "").split(":"):
        if entry == TASK_ROOT or entry.startswith(TASK_ROOT + "/"):
            entry = str(revision.code_dir) + entry[len(TASK_ROOT) :]
        if entry and entry not in paths:
            paths.append(entry)
    for layer in revision.layer_dirs:
        paths += layer_paths(layer, python)
    return [*paths, str(sdk)]


def socket_dir(workdir: Path) -> Path:
    """Where workers' sockets are made. AF_UNIX paths are short (108 bytes): in the provider's
    work folder (removed with the cloud's state, even after a crash) when its path leaves room,
    else in a private folder of /tmp."""
    folder = workdir / "sockets"
    if len(str(folder)) + len("/01234567.sock") < 100:
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder
    return Path(tempfile.mkdtemp(prefix="mysfits-lambda-"))
