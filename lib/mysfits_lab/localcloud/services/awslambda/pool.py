"""The warm workers of one function: reused between invocations, at most ``limit`` at once
(its reserved concurrency, else a default), recycled when the code or settings of the version
they run change — a busy worker finishes its invocation with the code it started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .models import Revision
from .worker import Worker

log = logging.getLogger("mysfits_lab.localcloud.lambda")


class Throttled(Exception):
    """No worker became free in time (or the function's reserved concurrency is 0)."""


class PoolClosed(Exception):
    """The function was deleted while the invocation waited."""


class FunctionPool:
    def __init__(
        self,
        start: Callable[[Revision], Worker],
        stop: Callable[[Worker], None],
        limit: int,
    ):
        self._start = start
        self._stop = stop
        self.limit = limit
        self._cond = threading.Condition()
        self._idle: list[Worker] = []  # most recently used last
        self._count = 0  # workers busy, idle or starting
        self._current: dict[str, Revision] = {}  # version -> the revision it runs now
        self._busy: set[Worker] = set()
        self._closed = False

    # -- invocations ------------------------------------------------------------------------
    def acquire(self, revision: Revision, deadline: float) -> Worker:
        """A warm worker for ``revision``'s version, or a new one if the limit allows;
        otherwise wait until one is released. Throttled past ``deadline`` or with a limit of 0.
        A worker started after an update runs the new revision, even for an invocation that
        arrived before it."""
        victims: list[Worker] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise PoolClosed()
                    current = self._current.get(revision.version)
                    if current is not None and current.serial > revision.serial:
                        revision = current
                    worker = self._take_idle(revision, victims)
                    if worker is not None:
                        self._busy.add(worker)
                        return worker
                    if self._count < self.limit:
                        self._count += 1
                        break
                    if self._idle:  # make room: an idle worker of another version goes
                        victims.append(self._idle.pop(0))
                        self._count -= 1
                        continue
                    remaining = deadline - time.monotonic()
                    if self.limit <= 0 or remaining <= 0:
                        raise Throttled()
                    self._cond.wait(remaining)
        finally:
            for victim in victims:
                self._stop(victim)
        try:
            worker = self._start(revision)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._busy.add(worker)
        return worker

    def _take_idle(self, revision: Revision, victims: list[Worker]) -> Worker | None:
        for worker in reversed(self._idle):
            if worker.revision.serial == revision.serial:
                self._idle.remove(worker)
                if worker.alive:
                    return worker
                victims.append(worker)
                self._count -= 1
        return None

    def release(self, worker: Worker, reusable: bool) -> None:
        """Back to the idle workers, or stopped: it crashed or timed out, its revision is no
        longer current, the pool shrank or closed."""
        keep = False
        with self._cond:
            self._busy.discard(worker)
            current = self._current.get(worker.revision.version)
            keep = (
                reusable
                and worker.alive
                and not self._closed
                and current is worker.revision
                and self._count <= self.limit
            )
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._cond.notify()
        if not keep:
            self._stop(worker)

    # -- changes --------------------------------------------------------------------------
    def set_current(self, revision: Revision) -> None:
        """``revision`` is what its version runs from now on: idle workers of an older one
        are stopped, busy ones when they are released."""
        with self._cond:
            self._current[revision.version] = revision
            stale = [
                w
                for w in self._idle
                if w.revision.version == revision.version and w.revision.serial != revision.serial
            ]
            self._drop(stale)
        for worker in stale:
            self._stop(worker)

    def forget(self, version: str) -> None:
        """A deleted version: its workers go."""
        with self._cond:
            self._current.pop(version, None)
            stale = [w for w in self._idle if w.revision.version == version]
            self._drop(stale)
        for worker in stale:
            self._stop(worker)

    def resize(self, limit: int) -> None:
        with self._cond:
            self.limit = limit
            excess = self._idle[: max(0, self._count - limit)]
            self._drop(excess)
            self._cond.notify_all()
        for worker in excess:
            self._stop(worker)

    def reap_idle(self, idle_seconds: float) -> None:
        """Stop workers idle for longer than ``idle_seconds`` (Lambda reclaims them too)."""
        now = time.monotonic()
        with self._cond:
            old = [w for w in self._idle if now - w.last_used > idle_seconds or not w.alive]
            self._drop(old)
        for worker in old:
            self._stop(worker)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle = list(self._idle)
            self._drop(idle)
            self._cond.notify_all()
        for worker in idle:
            self._stop(worker)

    def _drop(self, workers: list[Worker]) -> None:
        for worker in workers:
            self._idle.remove(worker)
            self._count -= 1
        if workers:
            self._cond.notify_all()

    def snapshot(self) -> dict[str, object]:
        with self._cond:
            return {
                "limit": self.limit,
                "idle": [_describe(w) for w in self._idle],
                "busy": [_describe(w) for w in self._busy],
            }


def _describe(worker: Worker) -> dict[str, object]:
    return {
        "version": worker.revision.version,
        "pid": worker.pid,
        "stream": worker.stream,
        "invocations": worker.invocations,
    }
