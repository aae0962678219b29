"""What many tests need: waiting for a condition, free ports, clients for an edge, and checks
that processes are gone."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import requests

from mysfits_lab.localcloud.constants import DEFAULT_REGION, DUMMY_CREDENTIALS
from mysfits_lab.localcloud.core.ports import free_port

__all__ = [
    "EdgeSession",
    "assert_dead",
    "descendants",
    "edge_client",
    "free_port",
    "pids_alive",
    "wait_for",
]

T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str, timeout: float = 15.0, interval: float = 0.05) -> T:
    """Call ``check`` until it returns something truthy (returned); AssertionError naming
    ``what`` — with the last value or exception seen — after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
            if last:
                return last
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {last!r}")
        time.sleep(interval)


def edge_client(edge_url: str, service: str, region: str = DEFAULT_REGION) -> Any:
    """A boto3 client for a local cloud's edge."""
    return boto3.client(service, endpoint_url=edge_url, region_name=region, **DUMMY_CREDENTIALS)


def _running(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for its (re)parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def pids_alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if _running(pid)]


def assert_dead(pid: int, wait: float = 3.0) -> None:
    wait_for(lambda: not _running(pid), f"process {pid} to end", timeout=wait)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class EdgeSession:
    """Clients for one local cloud's edge, made once each, and its control routes."""

    def __init__(self, port: int):
        self.edge = f"http://127.0.0.1:{port}"
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = edge_client(self.edge, name)
        return self._clients[name]

    def control(self, path: str, payload: dict | None = None) -> Any:
        """GET (or POST ``payload`` to) ``/_localcloud/<path>``; asserts a 200."""
        url = f"{self.edge}/_localcloud/{path}"
        response = requests.post(url, json=payload) if payload else requests.get(url)
        assert response.status_code == 200, response.text
        return response.json()
