"""Asynchronous invocations: retries with AWS's delays (scaled), throttling, the bounds of the
queue, and the records sent to destinations."""

from __future__ import annotations

import json
import threading
import time

import pytest

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.awslambda import events
from mysfits_lab.localcloud.services.awslambda.destinations import deliver, record
from mysfits_lab.localcloud.services.awslambda.events import (
    AsyncEvent,
    Attempt,
    EventQueue,
    QueueFull,
)
from tests.helpers import wait_for


def _event(payload: bytes = b'{"n": 1}') -> AsyncEvent:
    return AsyncEvent("us-east-1", "fn", None, payload, "req-1", time.time())


class Harness:
    def __init__(self, results: list[Attempt], settings: dict | None = None, scale: float = 0.001):
        self.results = list(results)
        self.runs: list[float] = []
        self.delivered: list[tuple[str, Attempt]] = []
        self.done = threading.Event()
        self.queue = EventQueue(
            self._run, lambda event: settings or {}, self._deliver, Clock(scale=scale)
        )

    def _run(self, event: AsyncEvent) -> Attempt:
        self.runs.append(time.monotonic())
        return self.results.pop(0)

    def _deliver(self, event: AsyncEvent, attempt: Attempt, condition: str) -> None:
        self.delivered.append((condition, attempt))
        self.done.set()


@pytest.fixture
def harnesses():
    made: list[Harness] = []
    yield made
    for harness in made:
        harness.queue.stop()


def test_a_failing_event_is_retried_twice_after_aws_s_delays(harnesses):
    failed = Attempt(ok=False, function_error="Unhandled")
    harness = Harness([failed, failed, Attempt(ok=True, payload=b"1")], scale=0.01)
    harnesses.append(harness)
    harness.queue.submit(_event())
    assert harness.done.wait(5)
    first, second, third = harness.runs
    assert 0.5 <= second - first < 1.5  # one minute on AWS
    assert 1.1 <= third - second < 2.5  # two minutes on AWS
    assert [condition for condition, _ in harness.delivered] == ["Success"]


def test_an_event_is_given_up_after_its_retries(harnesses):
    failed = Attempt(ok=False, function_error="Unhandled")
    harness = Harness([failed, failed], settings={"MaximumRetryAttempts": 1})
    harnesses.append(harness)
    harness.queue.submit(_event())
    assert harness.done.wait(5)
    assert len(harness.runs) == 2
    assert harness.delivered[0][0] == "RetriesExhausted"


def test_a_throttled_event_waits_without_using_up_its_retries(harnesses):
    throttled = Attempt(ok=False, throttled=True)
    failed = Attempt(ok=False, function_error="Unhandled")
    harness = Harness([throttled, throttled, failed], settings={"MaximumRetryAttempts": 0})
    harnesses.append(harness)
    harness.queue.submit(_event())
    assert harness.done.wait(5)
    assert len(harness.runs) == 3 and harness.delivered[0][0] == "RetriesExhausted"


def test_an_event_of_a_deleted_function_is_dropped(harnesses):
    harness = Harness([Attempt(ok=False, gone=True)])
    harnesses.append(harness)
    harness.queue.submit(_event())
    wait_for(lambda: harness.runs, "the run")
    time.sleep(0.2)
    assert harness.delivered == [] and harness.queue.pending() == 0


def test_an_event_older_than_its_maximum_age_is_not_run(harnesses):
    harness = Harness([], settings={"MaximumEventAgeInSeconds": 60})
    harnesses.append(harness)
    event = _event()
    event.received -= 3600
    harness.queue.submit(event)
    assert harness.done.wait(5)
    assert harness.runs == [] and harness.delivered[0][0] == "EventAgeExceeded"


def test_the_queue_is_bounded(harnesses, monkeypatch):
    monkeypatch.setattr(events, "MAX_EVENTS", 2)
    monkeypatch.setattr(events, "MAX_BYTES", 100)
    harness = Harness([], scale=1000.0)  # nothing becomes due during the test
    harnesses.append(harness)
    harness.queue._later(_event(), 60)  # fills the queue with waiting events
    harness.queue._later(_event(), 60)
    with pytest.raises(QueueFull):
        harness.queue.submit(_event())
    harness.queue.stop()
    fresh = Harness([], scale=1000.0)
    harnesses.append(fresh)
    with pytest.raises(QueueFull):
        fresh.queue.submit(_event(b"x" * 101))


def test_the_invocation_record_sent_to_a_destination():
    event = _event(b'{"mysfit": 7}')
    event.attempts = 3
    attempt = Attempt(ok=False, payload=b'{"errorMessage": "no"}', function_error="Unhandled")
    sent = record(event, attempt, "RetriesExhausted", 1796153958.0)
    assert sent == {
        "version": "1.0",
        "timestamp": "2026-12-01T19:39:18.000Z",
        "requestContext": {
            "requestId": "req-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"mysfit": 7},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "no"},
    }


def test_records_go_to_the_destination_of_their_condition():
    calls: list[tuple[str, str, dict]] = []

    class Client:
        def __init__(self, service: str):
            self.service = service

        def __getattr__(self, operation: str):
            return lambda **kwargs: calls.append((self.service, operation, kwargs))

    event = _event()
    event.settings = {
        "DestinationConfig": {
            "OnSuccess": {"Destination": "arn:aws:sns:us-east-1:123456789012:done"},
            "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:123456789012:function:dlq"},
        }
    }
    deliver(lambda service, region: Client(service), event, Attempt(ok=True), "Success", 0.0)
    deliver(
        lambda service, region: Client(service), event, Attempt(ok=False), "RetriesExhausted", 0.0
    )
    (sns, published, message), (lam, invoked, invocation) = calls
    assert (sns, published, message["TopicArn"]) == (
        "sns",
        "publish",
        "arn:aws:sns:us-east-1:123456789012:done",
    )
    assert json.loads(message["Message"])["requestContext"]["condition"] == "Success"
    assert (lam, invoked, invocation["InvocationType"]) == ("lambda", "invoke", "Event")
