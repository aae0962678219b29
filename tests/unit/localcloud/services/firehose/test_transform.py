"""The transformation event, the function's answer read back, and the error record."""

from __future__ import annotations

import base64
import json

import pytest

from mysfits_lab.localcloud.services.firehose.models import MIB, Record
from mysfits_lab.localcloud.services.firehose.transform import (
    INVOKE_LIMIT,
    InvalidResponse,
    error_record,
    interpret,
    invocation_batches,
    transformation_event,
)
from tests.unit.localcloud.services.firehose.fakes import ARN, LAMBDA_ARN, records


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _answer(*items: dict) -> bytes:
    return json.dumps({"records": list(items)}).encode()


def test_the_event_has_the_shape_aws_sends():
    sent = records(b"one", b"\x00\xff")
    event = transformation_event("inv-1", ARN, "us-east-1", sent)
    assert event == {
        "invocationId": "inv-1",
        "deliveryStreamArn": ARN,
        "region": "us-east-1",
        "records": [
            {
                "recordId": "id-0",
                "approximateArrivalTimestamp": sent[0].arrival_ms,
                "data": _b64(b"one"),
            },
            {
                "recordId": "id-1",
                "approximateArrivalTimestamp": sent[1].arrival_ms,
                "data": _b64(b"\x00\xff"),
            },
        ],
    }
    assert isinstance(event["records"][0]["approximateArrivalTimestamp"], int)


def test_invocations_hold_at_most_the_processor_buffer():
    sent = [Record(f"r{i}", b"x" * 300_000, 0) for i in range(10)]
    batches = list(invocation_batches(sent, MIB))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [r for b in batches for r in b] == sent  # order kept, nothing lost


def test_invocations_stay_within_lambdas_request_limit():
    sent = [Record(f"r{i}", b"x" * 1_000_000, 0) for i in range(8)]
    for batch in invocation_batches(sent, 3 * MIB):
        payload = json.dumps(transformation_event("i", ARN, "us-east-1", batch)).encode()
        assert len(payload) <= INVOKE_LIMIT
    # A record larger than the buffer still goes, alone.
    assert [len(b) for b in invocation_batches(sent[:2], 100)] == [1, 1]


def test_results_ok_dropped_and_processing_failed():
    sent = records(b"a", b"drop", b"fail", b"b")
    outcome = interpret(
        _answer(
            {"recordId": "id-3", "result": "Ok", "data": _b64(b"B")},
            {"recordId": "id-2", "result": "ProcessingFailed"},
            {"recordId": "id-1", "result": "Dropped"},
            {"recordId": "id-0", "result": "Ok", "data": _b64(b"A")},
        ),
        sent,
    )
    assert [(r.record_id, data) for r, data in outcome.ok] == [("id-0", b"A"), ("id-3", b"B")]
    assert outcome.dropped == [sent[1]]
    assert outcome.failed == [sent[2]]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"not json", "Lambda.JsonProcessingException"),
        (b'"a string"', "Lambda.JsonProcessingException"),
        (b'{"recordz": []}', "Lambda.JsonProcessingException"),
        (
            _answer({"recordId": "id-0", "result": "Ok", "data": _b64(b"A")}),
            "Lambda.MissingRecordId",
        ),
        (
            _answer(
                {"recordId": "id-0", "result": "Dropped"},
                {"recordId": "id-0", "result": "Dropped"},
                {"recordId": "id-1", "result": "Dropped"},
            ),
            "Lambda.DuplicatedRecordId",
        ),
        (
            _answer(
                {"recordId": "id-0", "result": "Dropped"},
                {"recordId": "someone-else", "result": "Dropped"},
            ),
            "Lambda.JsonProcessingException",
        ),
        (
            _answer(
                {"recordId": "id-0", "result": "Ok", "data": "!!not base64!!"},
                {"recordId": "id-1", "result": "Dropped"},
            ),
            "Lambda.JsonProcessingException",
        ),
        (
            _answer(
                {"recordId": "id-0", "result": "Ok"}, {"recordId": "id-1", "result": "Dropped"}
            ),
            "Lambda.JsonProcessingException",
        ),
        (
            _answer(
                {"recordId": "id-0", "result": "Fine"}, {"recordId": "id-1", "result": "Dropped"}
            ),
            "Lambda.JsonProcessingException",
        ),
        (_answer("not an object", {"recordId": "id-1"}), "Lambda.JsonProcessingException"),
    ],
)
def test_malformed_answers_fail_the_invocation(payload, code):
    with pytest.raises(InvalidResponse) as error:
        interpret(payload, records(b"a", b"b"))
    assert error.value.code == code
    assert error.value.message


def test_the_error_record_has_aws_members():
    record = records(b"raw \x00 data")[0]
    line = error_record(record, 4, "Lambda.FunctionError", "boom", 1_700_000_001_000, LAMBDA_ARN)
    assert line == {
        "attemptsMade": 4,
        "arrivalTimestamp": record.arrival_ms,
        "errorCode": "Lambda.FunctionError",
        "errorMessage": "boom",
        "attemptEndingTimestamp": 1_700_000_001_000,
        "rawData": _b64(b"raw \x00 data"),
        "lambdaArn": LAMBDA_ARN,
    }
    assert "lambdaArn" not in error_record(record, 1, "S3.NoSuchBucket", "gone", 0, None)
