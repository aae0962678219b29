"""Loopback addresses of their own for processes that must listen on a fixed port, as each ECS
task on Fargate has an IP of its own (its ENI's) and listens on its ``containerPort`` there.

Linux routes the whole of 127.0.0.0/8 to the loopback interface: any of its 16 million addresses
can be bound without setup or privileges, so two processes both listen on port 8080, one at
127.x.y.1, the other at 127.x.y.2. macOS configures only 127.0.0.1 on ``lo0`` (others need
``sudo ifconfig lo0 alias``): ``available()`` finds that out once, and callers fall back to one
port per process on 127.0.0.1.

Addresses come from 127.1.0.1–127.254.255.254, leaving 127.0.0.0/16 to the system (127.0.0.1,
systemd-resolved's 127.0.0.53, Debian's 127.0.1.1) and skipping ``.0`` and ``.255`` hosts. Each
pool starts at a random /24 and hands addresses out in turn, so that two local clouds on one
machine almost never meet, and an address given up is not handed out again until the pool
wraps around (connections to its last user may linger in TIME_WAIT).
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import secrets
import socket
import threading

from ..constants import LOOPBACK

log = logging.getLogger("mysfits_lab.localcloud.loopback")

FIRST = "127.1.0.1"
LAST = "127.254.255.254"
# Never handed out: bound to learn whether a port is taken on every address (a 0.0.0.0 bind).
PROBE = "127.255.255.254"
# "shared" makes every task share 127.0.0.1 with a port of its own, even where 127/8 works.
MODE_VARIABLE = "MYSFITS_LAB_TASK_ADDRESSES"


_RESERVED = frozenset(int(ipaddress.IPv4Address(a)) for a in (LOOPBACK, PROBE))


class AddressesExhausted(Exception):
    """Every address of the pool is held."""


def bindable(host: str, port: int = 0) -> OSError | None:
    """Why ``host:port`` cannot be bound right now, or None when it can (checked, then freed).

    No ``SO_REUSEADDR``: with it, BSD lets a specific address share a port with a 0.0.0.0 bind,
    and this is asked to find such binds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def port_taken_everywhere(port: int) -> bool:
    """Whether ``port`` is taken on an address nobody is given: something binds 0.0.0.0:port."""
    error = bindable(PROBE, port)
    return error is not None and error.errno == errno.EADDRINUSE


class LoopbackAddresses:
    """Hands out loopback addresses, one per holder, and takes them back."""

    def __init__(self, first: str = FIRST, last: str = LAST, start: str | None = None):
        self._first = int(ipaddress.IPv4Address(first))
        self._last = int(ipaddress.IPv4Address(last))
        if not (
            ipaddress.IPv4Address(first).is_loopback and ipaddress.IPv4Address(last).is_loopback
        ):
            raise ValueError(f"{first}-{last} is not a loopback range")
        if self._last < self._first:
            raise ValueError(f"{first}-{last} is empty")
        size = self._last - self._first + 1
        # A random /24 to start from (when the range has several), so two pools rarely overlap.
        offset = (secrets.randbelow(max(1, size // 256)) * 256) if start is None else 0
        self._next = int(ipaddress.IPv4Address(start)) if start else self._first + offset
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._available: bool | None = None
        self._shared = os.environ.get(MODE_VARIABLE, "").strip().lower() == "shared"

    @staticmethod
    def _usable(number: int) -> bool:
        return number & 0xFF not in (0, 255) and number not in _RESERVED

    def take(self) -> str:
        """The next free address after the last one handed out; AddressesExhausted if none."""
        with self._lock:
            size = self._last - self._first + 1
            number = self._next
            for _ in range(size):
                if number > self._last or number < self._first:
                    number = self._first
                candidate, number = number, number + 1
                if candidate not in self._held and self._usable(candidate):
                    self._held.add(candidate)
                    self._next = number
                    return str(ipaddress.IPv4Address(candidate))
        raise AddressesExhausted(
            f"all {len(self._held)} loopback addresses of {self._range()} are in use"
        )

    def release(self, address: str) -> None:
        """Give an address back (an address not held is ignored)."""
        with self._lock:
            self._held.discard(int(ipaddress.IPv4Address(address)))

    def held(self) -> set[str]:
        with self._lock:
            return {str(ipaddress.IPv4Address(n)) for n in self._held}

    def _range(self) -> str:
        return f"{ipaddress.IPv4Address(self._first)}-{ipaddress.IPv4Address(self._last)}"

    def available(self) -> bool:
        """Whether addresses other than 127.0.0.1 can be bound here (asked once; the answer,
        and why not, is logged once), unless ``MYSFITS_LAB_TASK_ADDRESSES=shared`` was set
        when the pool was made."""
        with self._lock:
            if self._available is None:
                self._available = self._check()
            return self._available

    def _check(self) -> bool:
        if self._shared:
            log.info(
                "%s=shared: tasks share %s, each with a port of its own ($PORT)",
                MODE_VARIABLE,
                LOOPBACK,
            )
            return False
        error = bindable(PROBE)
        if error is None:
            log.info("tasks get loopback addresses of their own (%s)", self._range())
            return True
        log.warning(
            "this system cannot bind loopback addresses other than %s (%s: %s; macOS has only "
            "127.0.0.1 on lo0): ECS tasks share %s, each listening on a port of its own passed "
            "as $PORT, not on its containerPort; a container that ignores $HOST/$PORT fails "
            "its health checks",
            LOOPBACK,
            PROBE,
            error.strerror or error,
            LOOPBACK,
        )
        return False
