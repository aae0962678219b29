"""Shared pieces: an isolated local cloud for a benchmark, process memory, percentiles."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def isolated_cloud() -> Iterator[Path]:
    """A fresh lab home and edge port; the cloud is stopped afterwards."""
    from mysfits_lab.localcloud import control

    saved = {
        k: os.environ.get(k)
        for k in ("MYSFITS_LAB_HOME", "MYSFITS_LAB_EDGE_PORT", "MYSFITS_LAB_RUNS")
    }
    with tempfile.TemporaryDirectory(prefix="mysfits-bench-") as home:
        os.environ.update(
            MYSFITS_LAB_HOME=home,
            MYSFITS_LAB_EDGE_PORT=str(free_port()),
            MYSFITS_LAB_RUNS=f"{home}/runs",
        )
        try:
            yield Path(home)
        finally:
            control.down()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def wait_until_warm(edge_url: str, timeout: float = 60.0) -> None:
    """Wait until the cloud has built moto's services in the background (it does right after
    its start): a latency measured meanwhile would measure that work."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not requests.get(f"{edge_url}/_localcloud/status", timeout=5).json().get("warming"):
            return
        time.sleep(0.1)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (Linux /proc)."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for kid in map(int, kids):
            found += [kid, *_children(kid)]
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
