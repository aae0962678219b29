"""The delivery queue: bounded, ordered by due time, retried as SNS retries."""

from __future__ import annotations

import threading

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.sns.documents import NOTIFICATION, Envelope
from mysfits_lab.localcloud.services.sns.engine import (
    RETRIES,
    Courier,
    Delivery,
    DeliveryQueue,
    Retry,
)
from mysfits_lab.localcloud.services.sns.models import SubscriptionInfo
from tests.helpers import wait_for

TOPIC = "arn:aws:sns:us-east-1:123456789012:questions"


def job(message: str = "hello", n: int = 1) -> Delivery:
    info = SubscriptionInfo(f"{TOPIC}:s{n}", TOPIC, "https", "https://example.com/hook")
    envelope = Envelope(NOTIFICATION, f"m-{n}", TOPIC, message, "2026-01-31T12:00:00.000Z")
    return Delivery(info, envelope)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_queue_is_bounded_in_deliveries_and_bytes():
    queue = DeliveryQueue(FakeTime(), max_jobs=2, max_bytes=10_000)
    assert queue.put(job()) and queue.put(job())
    assert not queue.put(job())
    roomy = DeliveryQueue(FakeTime(), max_jobs=100, max_bytes=10_000)
    assert not roomy.put(job("x" * 9_000))
    assert len(roomy) == 0


def test_deliveries_come_out_when_due_earliest_first():
    time = FakeTime()
    queue = DeliveryQueue(time, max_jobs=10, max_bytes=10**6)
    later, sooner = job(n=1), job(n=2)
    queue.put(later, delay=5)
    queue.put(sooner, delay=1)
    taken: list[Delivery | None] = []
    worker = threading.Thread(target=lambda: taken.append(queue.take()))
    worker.start()
    worker.join(timeout=0.2)
    assert worker.is_alive() and not taken  # nothing due yet
    time.now += 2
    queue.put(job(n=3), delay=100)  # wakes the worker, which finds the sooner one due
    worker.join(timeout=2)
    assert taken == [sooner] and len(queue) == 2


def test_closing_wakes_the_workers():
    queue = DeliveryQueue(FakeTime(), max_jobs=10, max_bytes=10**6)
    taken: list[object] = []
    worker = threading.Thread(target=lambda: taken.append(queue.take()))
    worker.start()
    queue.close()
    worker.join(timeout=2)
    assert taken == [None] and not queue.put(job())


def run_courier(send, n_jobs: int = 1):
    finished: list[tuple[Delivery, bool]] = []
    courier = Courier(send, lambda j, ok: finished.append((j, ok)), Clock(scale=0.001), workers=2)
    courier.start()
    jobs = [job(n=n) for n in range(n_jobs)]
    for item in jobs:
        courier.submit(item)
    try:
        wait_for(lambda: len(finished) == n_jobs, "deliveries to finish", timeout=5)
    finally:
        courier.stop()
    return finished


def test_a_delivery_that_succeeds_is_reported_once():
    finished = run_courier(lambda j: None, n_jobs=3)
    assert all(ok for _, ok in finished) and len(finished) == 3


def test_a_retryable_failure_is_tried_again_then_given_up():
    attempts: list[int] = []

    def send(j: Delivery) -> None:
        attempts.append(j.attempts)
        raise Retry("HTTP 503")

    ((done, ok),) = run_courier(send)
    assert not ok and attempts == list(range(1, RETRIES + 2))


def test_a_retry_that_then_succeeds_is_delivered():
    def send(j: Delivery) -> None:
        if j.attempts < 2:
            raise Retry("connection refused")

    ((done, ok),) = run_courier(send)
    assert ok and done.attempts == 2


def test_a_refusal_is_not_retried():
    attempts: list[int] = []

    def send(j: Delivery) -> None:
        attempts.append(j.attempts)
        raise ValueError("HTTP 404")

    ((_, ok),) = run_courier(send)
    assert not ok and attempts == [1]


def test_a_full_queue_drops_the_delivery_as_failed():
    finished: list[bool] = []
    courier = Courier(lambda j: None, lambda j, ok: finished.append(ok), Clock(), max_jobs=0)
    assert not courier.submit(job())
    assert finished == [False]
