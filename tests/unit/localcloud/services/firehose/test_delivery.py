"""One sealed buffer delivered: raw or through the processor, failures to the error output."""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
from collections.abc import Iterator

import pytest

from mysfits_lab.localcloud.services.firehose.delivery import S3_ATTEMPTS, Delivery
from mysfits_lab.localcloud.services.firehose.models import Batch, Report
from mysfits_lab.localcloud.services.firehose.sinks import SinkError
from tests.unit.localcloud.services.firehose.fakes import (
    LAMBDA_ARN,
    FakeClock,
    FakeLambda,
    FakeS3,
    answer_with,
    destination,
    processor,
    records,
    stream,
)


@pytest.fixture
def far_east() -> Iterator[None]:
    """A local time zone far from UTC: keys must not follow it."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def _deliver(batch_records, s3: FakeS3, invoker=None, **changes) -> Report:
    dest = destination(**changes)
    batch = Batch(stream(dest, version="3"), "3", dest, batch_records, held=0)
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    return Delivery(batch, s3, invoker or FakeLambda(), FakeClock(), wait).run()


def test_records_are_concatenated_into_one_object_keyed_in_utc(far_east):
    s3 = FakeS3()
    report = _deliver(records(b"one\n", b"two", b"\n"), s3)
    [key] = s3.keys()
    # The records arrived at 2023-11-14 22:13:20 UTC (07:13 the next day in Tokyo).
    assert key.startswith("firehose/2023/11/14/22/clicks-3-2023-11-14-22-13-20-")
    assert s3.objects[key] == b"one\ntwo\n"  # no separator added
    assert report == Report(objects=1, records=3)


def test_gzip_objects_are_compressed_and_named_gz():
    s3 = FakeS3()
    _deliver(records(b"a", b"b"), s3, compression="GZIP")
    [key] = s3.keys()
    assert key.endswith(".gz")
    assert gzip.decompress(s3.objects[key]) == b"ab"


def test_objects_never_pass_the_size_hint():
    s3 = FakeS3()
    report = _deliver(records(b"x" * 40, b"y" * 40, b"z" * 40), s3, size_bytes=100)
    assert sorted(len(body) for body in s3.objects.values()) == [40, 80]
    assert report.objects == 2 and report.records == 3


def test_the_processor_transforms_drops_and_fails_records():
    s3, invoker = FakeS3(), FakeLambda()
    sent = records(b"a\n", b"drop me\n", b"fail me\n", b"b\n")
    report = _deliver(sent, s3, invoker, processor=processor())
    [event] = invoker.events
    assert event["deliveryStreamArn"].endswith(":deliverystream/clicks")
    assert [r["recordId"] for r in event["records"]] == ["id-0", "id-1", "id-2", "id-3"]
    [delivered] = s3.keys("firehose/2023/")
    assert s3.objects[delivered] == b"A\nB\n"
    [failure] = s3.lines("firehose/processing-failed/2023/11/14/22/clicks-3-")
    assert failure["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert failure["attemptsMade"] == 1
    assert base64.b64decode(failure["rawData"]) == b"fail me\n"
    assert failure["lambdaArn"] == LAMBDA_ARN
    assert failure["arrivalTimestamp"] == sent[2].arrival_ms
    assert report == Report(objects=1, records=2, dropped=1, failed=1)


def test_a_function_error_is_retried_then_every_record_fails():
    s3 = FakeS3()
    error = {"errorType": "KeyError", "errorMessage": "'mysfitId'"}
    invoker = FakeLambda(answer_with(error, function_error="Unhandled"))
    report = _deliver(records(b"a", b"b"), s3, invoker, processor=processor(retries=2))
    assert len(invoker.events) == 3  # the first invocation and 2 retries
    assert len({e["invocationId"] for e in invoker.events}) == 1  # the same invocation again
    lines = s3.lines("firehose/processing-failed/")
    assert [base64.b64decode(line["rawData"]) for line in lines] == [b"a", b"b"]
    assert {line["errorCode"] for line in lines} == {"Lambda.FunctionError"}
    assert {line["attemptsMade"] for line in lines} == {3}
    assert "KeyError: 'mysfitId'" in lines[0]["errorMessage"]
    assert not s3.keys("firehose/2023/")
    assert report.failed == 2 and report.objects == 0
    assert report.last_error and report.last_error.startswith("Lambda.FunctionError")


def test_aws_retries_three_times_by_default():
    invoker = FakeLambda(answer_with(b"{}", function_error="Handled"))
    _deliver(records(b"a"), FakeS3(), invoker, processor=processor())
    assert len(invoker.events) == 4


def test_a_malformed_answer_is_a_failed_invocation():
    s3 = FakeS3()
    invoker = FakeLambda(answer_with({"records": []}))
    report = _deliver(records(b"a", b"b"), s3, invoker, processor=processor(retries=0))
    lines = s3.lines("firehose/processing-failed/")
    assert {line["errorCode"] for line in lines} == {"Lambda.MissingRecordId"}
    assert report.failed == 2


def test_an_answer_that_succeeds_on_retry_is_delivered():
    s3 = FakeS3()
    answers = iter([answer_with(b"not json"), None])

    def flaky(event):
        answer = next(answers)
        return answer(event) if answer else FakeLambda().answer(event)

    report = _deliver(records(b"a"), s3, FakeLambda(flaky), processor=processor(retries=1))
    assert report == Report(objects=1, records=1)
    assert s3.objects[s3.keys()[0]] == b"A"


def test_an_invoke_api_error_fails_the_records_with_its_code():
    s3 = FakeS3()

    def missing(region: str, arn: str, payload: bytes):
        raise SinkError("Lambda.ResourceNotFound", "Function not found")

    report = _deliver(records(b"a"), s3, missing, processor=processor(retries=1))
    [line] = s3.lines("firehose/processing-failed/")
    assert (line["errorCode"], line["attemptsMade"]) == ("Lambda.ResourceNotFound", 2)
    assert report.failed == 1


def test_records_are_split_into_invocations_by_the_processor_buffer():
    s3, invoker = FakeS3(), FakeLambda()
    sent = records(*[bytes([97 + i]) * 400_000 for i in range(5)])
    _deliver(sent, s3, invoker, processor=processor(buffer_bytes=1_000_000))
    assert [len(e["records"]) for e in invoker.events] == [2, 2, 1]
    assert b"".join(s3.objects.values()) == b"".join(r.data.upper() for r in sent)


def test_a_failed_s3_write_is_retried_then_written_as_errors():
    s3 = FakeS3()
    s3.fail = ("firehose/2023",)
    report = _deliver(records(b"a", b"b"), s3)
    assert s3.calls.count(s3.calls[0]) == S3_ATTEMPTS
    lines = s3.lines("firehose/s3-failed/2023/11/14/22/clicks-3-")
    assert [line["errorCode"] for line in lines] == ["S3.NoSuchBucket"] * 2
    assert [base64.b64decode(line["rawData"]) for line in lines] == [b"a", b"b"]
    assert report.objects == 0 and report.failed == 2
    assert report.last_error == "S3.NoSuchBucket: The specified bucket does not exist"


def test_when_the_error_output_fails_too_the_report_says_so():
    s3 = FakeS3()
    s3.fail = ("firehose/",)
    report = _deliver(records(b"a"), s3)
    assert not s3.objects
    assert report.failed == 1
    assert report.last_error and "they are lost" in report.last_error


def test_a_stopping_provider_abandons_retries():
    s3 = FakeS3()
    s3.fail = ("firehose/",)
    dest = destination()
    batch = Batch(stream(dest), "1", dest, records(b"a"), held=0)
    Delivery(batch, s3, FakeLambda(), FakeClock(), lambda _seconds: True).run()
    assert len(s3.calls) == 2  # one attempt at the object, one at its error output


def test_error_lines_are_json_lines():
    s3 = FakeS3()
    _deliver(records(b"fail 1", b"fail 2"), s3, processor=processor())
    [key] = s3.keys("firehose/processing-failed/")
    text = s3.objects[key].decode()
    assert text.endswith("\n") and len(text.splitlines()) == 2
    assert all(json.loads(line)["errorCode"] for line in text.splitlines())
