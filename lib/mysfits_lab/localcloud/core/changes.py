"""A count of the state changes that one service waits for in another, so that a poller wakes
when there is something new to read instead of sleeping a fixed period.

Providers still read each other's state through the API only: this says *when* to read, never
*what*. Whoever changes what a poller watches (a build ends, a target becomes healthy, a task
stops) calls ``notify()``; a poller notes ``count()`` before it reads, and after reading waits
with ``wait(count, timeout)`` for a change it has not seen yet (the timeout still covers
changes nobody announces).
"""

from __future__ import annotations

import threading


class Changes:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._count = 0

    def notify(self) -> None:
        with self._condition:
            self._count += 1
            self._condition.notify_all()

    def count(self) -> int:
        with self._condition:
            return self._count

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change after the ``seen`` count; whether one
        came (at once when it came already)."""
        with self._condition:
            return self._condition.wait_for(lambda: self._count != seen, max(0.0, timeout))
