"""GetRecords records reshaped into what a Lambda function receives, batches cut by count and
payload size, and the record an on-failure destination gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mysfits_lab.localcloud.services.event_sources.records import (
    event_payload,
    failure_record,
    lambda_record,
    take_batch,
)

from .helpers import STREAM, raw, records


def test_a_stream_record_becomes_the_record_lambda_delivers():
    source = raw(0)
    source["awsRegion"] = "us-east-1"  # moto stamps every record with us-east-1
    source["dynamodb"]["ApproximateCreationDateTime"] = datetime(
        2026, 3, 1, 12, 0, 5, 678000, tzinfo=UTC
    )
    source["dynamodb"]["NewImage"]["blob"] = {"B": b"\x00\xff"}
    source["dynamodb"]["NewImage"]["blobs"] = {"BS": [b"ab", b"c"]}
    source["dynamodb"]["NewImage"]["nested"] = {
        "M": {"inner": {"L": [{"B": b"z"}, {"N": "1"}]}, "flag": {"BOOL": True}}
    }

    converted = lambda_record(source, STREAM, "eu-west-1")

    record = converted.record
    assert list(record) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert record["eventVersion"] == "1.1"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventSourceARN"] == STREAM
    body = record["dynamodb"]
    assert list(body) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]
    assert body["ApproximateCreationDateTime"] == 1772366405.0  # epoch seconds, whole
    assert body["NewImage"]["blob"] == {"B": "AP8="}
    assert body["NewImage"]["blobs"] == {"BS": ["YWI=", "Yw=="]}
    assert body["NewImage"]["nested"] == {
        "M": {"inner": {"L": [{"B": "eg=="}, {"N": "1"}]}, "flag": {"BOOL": True}}
    }
    assert converted.sequence == body["SequenceNumber"]
    assert converted.arrival == 1772366405.678
    json.dumps(record)  # all of it is JSON


def test_old_images_and_removals_keep_their_images():
    source = raw(1)
    source["eventName"] = "REMOVE"
    source["dynamodb"]["OldImage"] = source["dynamodb"].pop("NewImage")
    source["dynamodb"]["StreamViewType"] = "NEW_AND_OLD_IMAGES"
    body = lambda_record(source, STREAM, "us-east-1").record["dynamodb"]
    assert "NewImage" not in body
    assert body["OldImage"] == {"id": {"S": "k1"}}
    assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_the_event_is_the_records_in_order():
    event = json.loads(event_payload(records(0, 1, 2)))
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]] == ["k0", "k1", "k2"]


def test_a_batch_takes_at_most_batch_size_records_and_stays_within_the_payload_limit():
    buffered = records(*range(10))
    assert len(take_batch(buffered, 4)) == 4
    assert len(take_batch(buffered, 100)) == 10
    size = buffered[0].size
    assert len(take_batch(buffered, 100, max_payload=size * 3 + 20)) == 3
    # A record larger than the limit still goes, alone.
    assert len(take_batch(buffered, 100, max_payload=10)) == 1


def test_a_failure_record_describes_the_discarded_batch():
    batch = records(3, 4, created=1.8e9)
    record = failure_record(
        request_id="req-1",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        condition="RetryAttemptsExhausted",
        invoke_count=2,
        response={"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        now=1.8e9 + 1.5,
        shard_id="shard-1",
        records=batch,
        stream_arn=STREAM,
    )
    assert record == {
        "requestContext": {
            "requestId": "req-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 2,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": "2027-01-15T08:00:01.500Z",
        "DDBStreamBatchInfo": {
            "shardId": "shard-1",
            "startSequenceNumber": batch[0].sequence,
            "endSequenceNumber": batch[1].sequence,
            "approximateArrivalOfFirstRecord": "2027-01-15T08:00:00Z",
            "approximateArrivalOfLastRecord": "2027-01-15T08:00:00Z",
            "batchSize": 2,
            "streamArn": STREAM,
        },
    }
