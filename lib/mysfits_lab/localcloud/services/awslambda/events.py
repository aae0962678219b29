"""Asynchronous invocations (``InvocationType=Event``): accepted at once (202), queued, run on
the function's workers, retried twice on a function error — about 1 minute, then 2 minutes
later on AWS, scaled by the cloud's clock — then dropped or sent to the function's on-failure
destination. A throttled event waits and tries again until it is too old. The queue holds at
most ``MAX_EVENTS`` events and ``MAX_BYTES`` of payloads.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...core.clock import Clock
from ...edge import ServiceError
from .tracing import TraceHeader

log = logging.getLogger("mysfits_lab.localcloud.lambda")

MAX_EVENTS = 1000
MAX_BYTES = 64 * 1024 * 1024
RUNNERS = 8  # events run at once (each waits for a worker of its function)
RETRY_DELAYS = (60.0, 120.0)  # AWS seconds before the 2nd and the 3rd attempt
THROTTLE_DELAY = 60.0
DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE = 21600.0  # seconds: six hours


@dataclass
class AsyncEvent:
    region: str
    name: str
    qualifier: str | None
    payload: bytes
    request_id: str
    received: float  # epoch seconds
    attempts: int = 0
    settings: dict[str, Any] | None = None  # the function's event invoke config, once read
    trace: TraceHeader | None = None  # the trace it was decided to belong to, when invoked


@dataclass
class Attempt:
    """What one run of an event produced."""

    ok: bool
    payload: bytes = b""
    function_error: str | None = None
    executed_version: str = "$LATEST"
    throttled: bool = False
    gone: bool = False  # the function (or version) no longer exists


@dataclass(order=True)
class _Due:
    due: float
    seq: int
    event: AsyncEvent = field(compare=False)


class QueueFull(Exception):
    pass


class EventQueue:
    def __init__(
        self,
        run: Callable[[AsyncEvent], Attempt],
        settings: Callable[[AsyncEvent], dict[str, Any]],
        deliver: Callable[[AsyncEvent, Attempt, str], None],
        clock: Clock,
    ):
        self._run = run
        self._settings = settings
        self._deliver = deliver
        self._clock = clock
        self._heap: list[_Due] = []
        self._bytes = 0
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._pool = ThreadPoolExecutor(RUNNERS, thread_name_prefix="lambda-event")
        self._thread = threading.Thread(target=self._schedule, name="lambda-events", daemon=True)
        self._thread.start()

    def submit(self, event: AsyncEvent) -> None:
        with self._cond:
            if len(self._heap) >= MAX_EVENTS or self._bytes + len(event.payload) > MAX_BYTES:
                raise QueueFull()
            self._push(event, self._clock.monotonic())

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _push(self, event: AsyncEvent, due: float) -> None:
        heapq.heappush(self._heap, _Due(due, next(self._seq), event))
        self._bytes += len(event.payload)
        self._cond.notify()

    def _later(self, event: AsyncEvent, aws_seconds: float) -> None:
        with self._cond:
            if not self._stopped:
                self._push(event, self._clock.monotonic() + self._clock.scaled(aws_seconds))

    def _schedule(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                    not self._heap or self._heap[0].due > self._clock.monotonic()
                ):
                    wait = self._heap[0].due - self._clock.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                event = heapq.heappop(self._heap).event
                self._bytes -= len(event.payload)
            try:
                self._pool.submit(self._attempt, event)
            except RuntimeError:  # shut down meanwhile
                return

    def _attempt(self, event: AsyncEvent) -> None:
        try:
            if event.settings is None:
                event.settings = self._settings(event)
            age = self._clock.now() - event.received
            max_age = float(event.settings.get("MaximumEventAgeInSeconds") or DEFAULT_MAX_AGE)
            if age > self._clock.scaled(max_age):
                self._give_up(event, Attempt(ok=False), "EventAgeExceeded")
                return
            result = self._run(event)
            if result.gone:
                log.info("event %s dropped: %s no longer exists", event.request_id, event.name)
                return
            if result.throttled:
                self._later(event, THROTTLE_DELAY)
                return
            event.attempts += 1
            if result.ok:
                self._deliver(event, result, "Success")
                return
            retries = event.settings.get("MaximumRetryAttempts")
            retries = DEFAULT_RETRIES if retries is None else int(retries)
            if event.attempts <= retries:
                delay = RETRY_DELAYS[min(event.attempts, len(RETRY_DELAYS)) - 1]
                self._later(event, delay)
                return
            self._give_up(event, result, "RetriesExhausted")
        except ServiceError as exc:
            log.info("event %s of %s dropped: %s", event.request_id, event.name, exc.message)
        except Exception:  # a bug must not stop the queue
            log.exception("event %s of %s failed", event.request_id, event.name)

    def _give_up(self, event: AsyncEvent, result: Attempt, condition: str) -> None:
        log.info(
            "event %s of %s dropped after %d attempt(s): %s",
            event.request_id,
            event.name,
            event.attempts,
            condition,
        )
        self._deliver(event, result, condition)
