"""Free loopback ports, without handing the same port out twice in a row."""

from __future__ import annotations

import socket
import threading
from collections import deque

from ..constants import LOOPBACK


def free_port(host: str = LOOPBACK) -> int:
    """A port that is free right now (the OS may offer it again before its user binds it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class PortAllocator:
    """Free ports for child processes that bind later: recently handed-out ports are skipped."""

    def __init__(self, remember: int = 256):
        self._recent: deque[int] = deque(maxlen=remember)
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            while (port := free_port()) in self._recent:
                pass
            self._recent.append(port)
            return port
