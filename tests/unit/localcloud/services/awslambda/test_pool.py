"""A function's warm workers: reuse, the concurrency limit, recycling after an update."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mysfits_lab.localcloud.services.awslambda.models import Revision
from mysfits_lab.localcloud.services.awslambda.pool import FunctionPool, PoolClosed, Throttled


class FakeWorker:
    def __init__(self, revision: Revision):
        self.revision = revision
        self.alive = True
        self.last_used = time.monotonic()
        self.pid = id(self)
        self.stream = "s"
        self.invocations = 0

    def stop(self) -> None:
        self.alive = False


def _revision(version: str = "$LATEST", code: str = "one") -> Revision:
    return Revision(
        region="us-east-1",
        name="fn",
        version=version,
        runtime="python3.12",
        handler="app.handler",
        timeout=3,
        memory=128,
        environment={},
        code_sha256=code,
        code_dir=Path("/code") / code,
    )


class Pool:
    def __init__(self, limit: int = 2):
        self.started: list[FakeWorker] = []
        self.stopped: list[FakeWorker] = []
        self.pool = FunctionPool(self._start, self._stop, limit)

    def _start(self, revision: Revision) -> FakeWorker:
        worker = FakeWorker(revision)
        self.started.append(worker)
        return worker

    def _stop(self, worker: FakeWorker) -> None:
        worker.stop()
        self.stopped.append(worker)


def _soon() -> float:
    return time.monotonic() + 2.0


def test_a_released_worker_is_reused():
    fake = Pool()
    revision = _revision()
    fake.pool.set_current(revision)
    worker = fake.pool.acquire(revision, _soon())
    fake.pool.release(worker, reusable=True)
    assert fake.pool.acquire(revision, _soon()) is worker
    assert len(fake.started) == 1


def test_a_worker_that_failed_is_not_reused():
    fake = Pool()
    revision = _revision()
    fake.pool.set_current(revision)
    worker = fake.pool.acquire(revision, _soon())
    fake.pool.release(worker, reusable=False)
    assert fake.stopped == [worker]
    assert fake.pool.acquire(revision, _soon()) is not worker


def test_past_the_limit_an_invocation_waits_for_a_free_worker():
    fake = Pool(limit=1)
    revision = _revision()
    fake.pool.set_current(revision)
    busy = fake.pool.acquire(revision, _soon())
    got: list[FakeWorker] = []
    waiter = threading.Thread(target=lambda: got.append(fake.pool.acquire(revision, _soon())))
    waiter.start()
    time.sleep(0.1)
    assert not got  # still waiting
    fake.pool.release(busy, reusable=True)
    waiter.join(timeout=2)
    assert got == [busy]


def test_no_free_worker_in_time_or_no_concurrency_at_all_throttles():
    fake = Pool(limit=1)
    revision = _revision()
    fake.pool.set_current(revision)
    fake.pool.acquire(revision, _soon())
    with pytest.raises(Throttled):
        fake.pool.acquire(revision, time.monotonic() + 0.1)
    zero = Pool(limit=0)
    started = time.monotonic()
    with pytest.raises(Throttled):
        zero.pool.acquire(revision, _soon())
    assert time.monotonic() - started < 0.5  # at once, not after the deadline


def test_an_update_recycles_idle_workers_at_once_and_busy_ones_when_released():
    fake = Pool(limit=3)
    old = _revision(code="old")
    fake.pool.set_current(old)
    idle = fake.pool.acquire(old, _soon())
    busy = fake.pool.acquire(old, _soon())
    fake.pool.release(idle, reusable=True)

    new = _revision(code="new")
    fake.pool.set_current(new)
    assert fake.stopped == [idle]
    fake.pool.release(busy, reusable=True)
    assert fake.stopped == [idle, busy]
    fresh = fake.pool.acquire(new, _soon())
    assert fresh.revision is new


def test_an_invocation_that_arrived_before_an_update_starts_the_new_code():
    fake = Pool()
    old, new = _revision(code="old"), _revision(code="new")
    fake.pool.set_current(old)
    fake.pool.set_current(new)
    assert fake.pool.acquire(old, _soon()).revision is new


def test_an_idle_worker_of_another_version_makes_room():
    fake = Pool(limit=1)
    latest, one = _revision(), _revision("1")
    fake.pool.set_current(latest)
    fake.pool.set_current(one)
    worker = fake.pool.acquire(latest, _soon())
    fake.pool.release(worker, reusable=True)
    other = fake.pool.acquire(one, _soon())
    assert other.revision is one and fake.stopped == [worker]


def test_shrinking_reaping_and_closing():
    fake = Pool(limit=3)
    revision = _revision()
    fake.pool.set_current(revision)
    workers = [fake.pool.acquire(revision, _soon()) for _ in range(3)]
    for worker in workers:
        fake.pool.release(worker, reusable=True)
    fake.pool.resize(1)
    assert len(fake.stopped) == 2
    survivor = next(w for w in workers if w.alive)
    survivor.last_used -= 1000
    fake.pool.reap_idle(600)
    assert not survivor.alive
    fake.pool.close()
    with pytest.raises(PoolClosed):
        fake.pool.acquire(revision, _soon())
