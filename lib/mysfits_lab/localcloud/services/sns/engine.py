"""Delivery as SNS does it: after Publish (or Subscribe) has answered, from a bounded queue that
a few worker threads drain; a delivery that fails for a reason worth retrying comes back after
SNS's delay (20 s, on the cloud's time scale), at most three more times.

The queue holds at most ``max_jobs`` deliveries and ``max_bytes`` of messages: beyond that a
delivery is dropped and counted as failed, as memory must stay flat whatever is published.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ...core.clock import Clock
from .documents import Envelope
from .models import SubscriptionInfo

log = logging.getLogger("mysfits_lab.localcloud.sns")

# SNS's default delivery policy: three retries, 20 seconds apart.
RETRIES = 3
RETRY_DELAY = 20.0
MAX_JOBS = 1000
MAX_BYTES = 64 * 1024 * 1024
WORKERS = 4


class Retry(Exception):
    """A delivery that failed for a reason worth trying again (an endpoint down, a 5xx)."""


@dataclass
class Delivery:
    subscription: SubscriptionInfo
    envelope: Envelope
    raw: bool = False  # RawMessageDelivery: an HTTP endpoint gets the message alone
    counted: bool = True  # notifications count in the topic's stats; confirmations do not
    attempts: int = 0

    @property
    def size(self) -> int:
        return len(self.envelope.message) + 2048  # the document around the message


class DeliveryQueue:
    """Deliveries by the time they are due, bounded in number and bytes."""

    def __init__(self, monotonic: Callable[[], float], max_jobs: int, max_bytes: int):
        self._monotonic = monotonic
        self._max_jobs, self._max_bytes = max_jobs, max_bytes
        self._heap: list[tuple[float, int, Delivery]] = []
        self._bytes = 0
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap)

    def put(self, job: Delivery, delay: float = 0.0) -> bool:
        """Queue ``job`` to run ``delay`` seconds from now; False when the queue is full."""
        with self._cond:
            if self._closed or len(self._heap) >= self._max_jobs:
                return False
            if self._bytes + job.size > self._max_bytes:
                return False
            heapq.heappush(self._heap, (self._monotonic() + delay, next(self._order), job))
            self._bytes += job.size
            self._cond.notify()
            return True

    def take(self) -> Delivery | None:
        """The next delivery once it is due; None when the queue is closed."""
        with self._cond:
            while not self._closed:
                wait = None
                if self._heap:
                    due = self._heap[0][0]
                    wait = due - self._monotonic()
                    if wait <= 0:
                        job = heapq.heappop(self._heap)[2]
                        self._bytes -= job.size
                        return job
                self._cond.wait(wait)
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._bytes = 0
            self._cond.notify_all()


class Courier:
    """Worker threads that hand each delivery to ``send`` and report how it ended to
    ``done(job, delivered)``. ``send`` raises Retry to have a delivery tried again later, any
    other exception to give it up."""

    def __init__(
        self,
        send: Callable[[Delivery], None],
        done: Callable[[Delivery, bool], None],
        clock: Clock,
        workers: int = WORKERS,
        max_jobs: int = MAX_JOBS,
        max_bytes: int = MAX_BYTES,
    ):
        self._send, self._done, self._clock = send, done, clock
        self.queue = DeliveryQueue(clock.monotonic, max_jobs, max_bytes)
        self._workers = workers
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"sns-delivery-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.queue.close()
        for thread in self._threads:
            thread.join(timeout=5)  # a delivery in flight may hold a worker (15 s for HTTP)
        self._threads.clear()

    def submit(self, job: Delivery) -> bool:
        """Queue a delivery; False (and counted as failed) when the queue is full."""
        if self.queue.put(job):
            return True
        log.warning("SNS delivery queue full: dropped a message for %s", job.subscription.endpoint)
        self._done(job, False)
        return False

    def _work(self) -> None:
        while (job := self.queue.take()) is not None:
            self._attempt(job)

    def _attempt(self, job: Delivery) -> None:
        job.attempts += 1
        target = f"{job.subscription.protocol} {job.subscription.endpoint}"
        try:
            self._send(job)
        except Retry as exc:
            if job.attempts <= RETRIES and self.queue.put(job, self._clock.scaled(RETRY_DELAY)):
                log.info("SNS delivery to %s failed (%s); retrying", target, exc)
                return
            log.warning("SNS gave up delivering to %s: %s", target, exc)
            self._done(job, False)
        except Exception as exc:  # the endpoint refused it: no retry, as SNS
            log.warning("SNS could not deliver to %s: %s", target, exc)
            self._done(job, False)
        else:
            self._done(job, True)
