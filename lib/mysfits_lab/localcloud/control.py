"""Start, stop and inspect the local cloud process from the CLI, lib and tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from ..paths import cloud_dir
from .constants import LOOPBACK

DEFAULT_PORT = 4577
START_TIMEOUT = 60.0


class CloudError(RuntimeError):
    pass


def configured_port() -> int:
    return int(os.environ.get("MYSFITS_LAB_EDGE_PORT", DEFAULT_PORT))


@dataclass
class CloudStatus:
    running: bool
    edge_url: str | None = None
    instance_id: str | None = None
    pid: int | None = None
    started_at: str | None = None
    details: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state_file() -> Path:
    return cloud_dir() / "state.json"


def log_file() -> Path:
    return cloud_dir() / "cloud.log"


def _read_state() -> dict[str, Any] | None:
    try:
        return json.loads(_state_file().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot): with the pid, it names one process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    # Reap it if this process started it, or it lingers as a zombie that looks alive.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ours(state: dict[str, Any] | None) -> bool:
    """The state file's process is alive and still the cloud that wrote it — not a later
    process that reuses its pid after a crash."""
    if not state or not isinstance(state.get("pid"), int) or not _alive(state["pid"]):
        return False
    recorded = state.get("process_start")
    return recorded is None or process_start(state["pid"]) in (recorded, None)


def status() -> CloudStatus:
    """Ask the running cloud itself; the state file only says where to ask."""
    state = _read_state()
    if not _ours(state):
        return CloudStatus(running=False)
    try:
        live = requests.get(f"{state['edge_url']}/_localcloud/status", timeout=5).json()
    except requests.RequestException:
        return CloudStatus(running=False, pid=state.get("pid"), edge_url=state.get("edge_url"))
    details = {k: v for k, v in live.items() if k not in CloudStatus.__dataclass_fields__}
    return CloudStatus(
        running=True,
        edge_url=live["edge_url"],
        instance_id=live["instance_id"],
        pid=live["pid"],
        started_at=live.get("started_at"),
        details=details,
    )


def listeners(details: dict[str, Any]) -> list[dict[str, str]]:
    """Every address the cloud serves besides its edge, from its status: website endpoints and
    load balancer listeners (each on its own local port), as table rows."""
    rows = [
        {"kind": "website", "name": bucket, "region": "", "port": "", "url": url}
        for bucket, url in sorted(details.get("websites", {}).items())
    ]
    for key, balancer in sorted(details.get("loadbalancers", {}).items()):
        for port, url in sorted(balancer.get("listeners", {}).items(), key=lambda p: int(p[0])):
            rows.append(
                {
                    "kind": f"load balancer ({balancer.get('type', '')})",
                    "name": key.rsplit("/", 1)[-1],
                    "region": balancer.get("region", ""),
                    "port": port,
                    "url": url,
                }
            )
    return rows


def control_get(path: str) -> Any:
    """GET a JSON control endpoint of the running cloud (``websites/<bucket>``, ...)."""
    current = status()
    if not current.running:
        raise CloudError("the local cloud is not running: start it with `mysfits-lab cloud up`")
    response = requests.get(f"{current.edge_url}/_localcloud/{path}", timeout=10)
    if response.status_code == 404:
        raise LookupError(response.json().get("message", path))
    response.raise_for_status()
    return response.json()


def up(
    port: int | None = None, region: str = "us-east-1", timeout: float = START_TIMEOUT
) -> CloudStatus:
    """Start the cloud in the background unless it is already running; wait until it answers."""
    current = status()
    if current.running:
        return current
    port = port or configured_port()
    if _taken(port):
        raise CloudError(_port_taken(port))
    directory = cloud_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _state_file().unlink(missing_ok=True)
    with open(log_file(), "ab") as log:
        since = log.tell()  # earlier clouds' lines stay in the log but are not this start's story
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mysfits_lab.localcloud.cloud",
                "--port",
                str(port),
                "--state-dir",
                str(directory),
                "--region",
                region,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives the notebook kernel or CLI that started it
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = _log_since(since)
            if "Address already in use" in output:  # taken between the check and the bind
                raise CloudError(_port_taken(port))
            last = "\n".join(output.splitlines()[-20:])
            raise CloudError(
                f"the local cloud exited during start-up (code {process.returncode}); "
                f"its log:\n{last}"
            )
        current = status()
        if current.running:
            return current
        time.sleep(0.1)
    raise CloudError(f"the local cloud did not answer within {timeout:.0f}s; see {log_file()}")


def down(timeout: float = 20.0) -> bool:
    """Stop the cloud (and its child processes). Returns False when it was not running."""
    state = _read_state()
    if not _ours(state):
        _state_file().unlink(missing_ok=True)
        return False
    pid = state["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _state_file().unlink(missing_ok=True)
    return True


def _taken(port: int) -> bool:
    """Something listens on ``port`` already. SO_REUSEADDR as in the cloud's own server, so a
    just-stopped cloud's connections in TIME_WAIT do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _port_taken(port: int) -> str:
    free = next((p for p in range(port + 1, port + 100) if not _taken(p)), port + 100)
    return (
        f"port {port} is taken by another program; run the local cloud on a free port: "
        f"export MYSFITS_LAB_EDGE_PORT={free} (then `make lab`, `make run` or `mysfits-lab ...`)"
    )


def _log_since(offset: int) -> str:
    with open(log_file(), "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def tail_log(lines: int = 50) -> str:
    try:
        return "\n".join(log_file().read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log yet)"
