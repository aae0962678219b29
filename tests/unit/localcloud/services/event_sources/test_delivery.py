"""A batch's way through retries, bisection, record age and partial batch responses, with a
fake invoker and times given by hand."""

from __future__ import annotations

import json

import pytest

from mysfits_lab.localcloud.services.event_sources.delivery import (
    AGE_EXCEEDED,
    RETRY_EXHAUSTED,
    BatchRun,
    InvokeResult,
    first_failed,
)
from mysfits_lab.localcloud.services.event_sources.models import Settings
from mysfits_lab.localcloud.services.event_sources.records import lambda_record

from .helpers import FUNCTION, STREAM, FakeLambda, raw, records

EPOCH = 1.8e9 + 10  # "now" for records created at 1.8e9


def _settings(**changes) -> Settings:
    return Settings(function_arn=FUNCTION, **changes)


def _batch(*numbers: int, fail: tuple[int, ...] = ()):
    return [lambda_record(raw(n, fail=n in fail), STREAM, "us-east-1") for n in numbers]


def _key(record) -> str:
    return record.record["dynamodb"]["Keys"]["id"]["S"]


def _drive(run: BatchRun, invoke, start: float = 0.0, limit: int = 50):
    """Step the run whenever it is due, until done; every outcome, in order."""
    outcomes, now = [], start
    for _ in range(limit):
        if run.done:
            return outcomes
        now = max(now, run.due)
        outcomes += run.step(invoke, EPOCH, now)
    raise AssertionError("the batch never finished")


def test_a_successful_batch_is_delivered_in_one_call():
    function = FakeLambda()
    run = BatchRun(_batch(0, 1, 2), _settings())
    outcomes = run.step(function, EPOCH, 0.0)
    assert run.done
    assert [(o.delivered, len(o.records), o.invoke_count) for o in outcomes] == [(True, 3, 1)]
    assert function.batches() == [["k0", "k1", "k2"]]


def test_a_failing_batch_is_retried_after_a_backoff_then_discarded():
    function = FakeLambda()
    run = BatchRun(_batch(0, 1, fail=(1,)), _settings(max_retries=1))
    assert run.step(function, EPOCH, 0.0) == []
    assert run.failing and not run.done
    assert run.due == pytest.approx(0.25)
    outcomes = run.step(function, EPOCH, run.due)
    assert run.done
    [outcome] = outcomes
    assert (outcome.delivered, outcome.condition, outcome.invoke_count) == (
        False,
        RETRY_EXHAUSTED,
        2,
    )
    assert outcome.last is not None and outcome.last.function_error == "Unhandled"
    assert "ValueError: bad record" in outcome.last.describe()
    assert function.batches() == [["k0", "k1"], ["k0", "k1"]]


def test_zero_retries_discards_after_the_first_failure():
    run = BatchRun(_batch(0, fail=(0,)), _settings(max_retries=0))
    [outcome] = run.step(FakeLambda(), EPOCH, 0.0)
    assert (outcome.condition, outcome.invoke_count) == (RETRY_EXHAUSTED, 1)


def test_infinite_retries_keep_trying_with_a_growing_but_bounded_backoff():
    function = FakeLambda()
    run = BatchRun(_batch(0, fail=(0,)), _settings(max_retries=-1))
    waits, now = [], 0.0
    for _ in range(8):
        assert run.step(function, EPOCH, now) == []
        waits.append(run.due - now)
        now = run.due
    assert not run.done
    assert waits[:4] == [0.25, 0.5, 1.0, 2.0]
    assert max(waits) == 4.0


def test_bisecting_isolates_the_bad_record_and_delivers_the_others_in_order():
    function = FakeLambda()
    run = BatchRun(_batch(0, 1, 2, 3, fail=(2,)), _settings(bisect=True, max_retries=1))
    outcomes = _drive(run, function)
    summary = [
        (o.delivered, [r.record["dynamodb"]["Keys"]["id"]["S"] for r in o.records])
        for o in outcomes
    ]
    assert summary == [(True, ["k0", "k1"]), (False, ["k2"]), (True, ["k3"])]
    # [0-3] fails, is split; [0,1] works; [2,3] fails, is split; [2] fails twice (1 retry).
    assert function.batches() == [
        ["k0", "k1", "k2", "k3"],
        ["k0", "k1"],
        ["k2", "k3"],
        ["k2"],
        ["k2"],
        ["k3"],
    ]
    assert outcomes[1].condition == RETRY_EXHAUSTED and outcomes[1].invoke_count == 2


def test_calls_that_never_reach_the_function_do_not_use_the_retry_quota():
    function = FakeLambda()
    throttled = InvokeResult(status=429, error="TooManyRequestsException", reached_function=False)
    function.script = [throttled] * 5
    run = BatchRun(_batch(0), _settings(max_retries=0))
    outcomes = _drive(run, function)
    assert [(o.delivered, o.invoke_count) for o in outcomes] == [(True, 6)]


def test_a_call_error_the_function_saw_counts_like_a_function_error():
    function = FakeLambda()
    too_large = InvokeResult(status=413, error="RequestTooLargeException", reached_function=True)
    function.script = [too_large, too_large]
    run = BatchRun(_batch(0), _settings(max_retries=1))
    [outcome] = _drive(run, function)
    assert (outcome.delivered, outcome.condition) == (False, RETRY_EXHAUSTED)
    assert "RequestTooLargeException" in outcome.last.describe()


def test_records_older_than_the_maximum_age_are_discarded_without_a_call():
    function = FakeLambda()
    old = records(0, 1, created=1.8e9 - 120)
    fresh = records(2, created=1.8e9)
    run = BatchRun(old + fresh, _settings(max_age=60))
    outcomes = run.step(function, EPOCH, 0.0)
    assert [(o.delivered, len(o.records), o.condition) for o in outcomes] == [
        (False, 2, AGE_EXCEEDED),
        (True, 1, None),
    ]
    assert function.batches() == [["k2"]]


def test_without_a_maximum_age_records_expire_with_the_stream_after_a_day():
    run = BatchRun(records(0, created=1.8e9 - 90000), _settings())
    [outcome] = run.step(FakeLambda(), EPOCH, 0.0)
    assert outcome.condition == AGE_EXCEEDED


def test_a_partial_batch_response_retries_from_the_first_failed_record():
    batch = _batch(0, 1, 2, 3)
    function = FakeLambda()
    failed = {"batchItemFailures": [{"itemIdentifier": batch[2].sequence}]}
    function.script = [InvokeResult(payload=json.dumps(failed).encode())]
    run = BatchRun(batch, _settings(response_types=("ReportBatchItemFailures",)))
    first = run.step(function, EPOCH, 0.0)
    assert [(o.delivered, len(o.records)) for o in first] == [(True, 2)]
    assert run.failing and not run.done
    rest = _drive(run, function)
    assert [(o.delivered, len(o.records)) for o in rest] == [(True, 2)]
    assert function.batches()[1] == ["k2", "k3"]


def test_partial_responses_are_ignored_unless_the_mapping_asks_for_them():
    batch = _batch(0, 1)
    function = FakeLambda()
    function.script = [InvokeResult(payload=b'{"batchItemFailures": [{"itemIdentifier": "x"}]}')]
    [outcome] = BatchRun(batch, _settings()).step(function, EPOCH, 0.0)
    assert outcome.delivered


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", None),
        (b"null", None),
        (b"{}", None),
        (b'"Successfully processed 2 records."', None),
        (b'{"batchItemFailures": []}', None),
        (b'{"batchItemFailures": null}', None),
        (b"not json", 0),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', 0),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', 0),
        (b'{"batchItemFailures": [{"foo": "bar"}]}', 0),
        (b'{"batchItemFailures": [{"itemIdentifier": "123"}]}', 0),
        (b'{"batchItemFailures": "all"}', 0),
    ],
)
def test_what_a_partial_batch_response_means(payload, expected):
    assert first_failed(payload, records(0, 1)) == expected


def test_the_lowest_reported_failure_is_where_the_retry_starts():
    batch = records(0, 1, 2)
    payload = json.dumps(
        {
            "batchItemFailures": [
                {"itemIdentifier": batch[2].sequence},
                {"itemIdentifier": batch[1].sequence},
            ]
        }
    ).encode()
    assert first_failed(payload, batch) == 1
