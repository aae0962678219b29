"""Firehose on an in-process local cloud, through boto3: streams that buffer by time and size,
deliver to S3 as AWS names objects, refuse what AWS refuses, and transform through a Lambda
processor that really runs (when the cloud has the Lambda provider)."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.registry import PROVIDERS
from tests.helpers import EdgeSession, wait_for

SCALE = 0.05  # AWS seconds → local: the workshop's 60 s buffer interval lasts 3 s
INTERVAL = 60
HAS_LAMBDA = "lambda" in PROVIDERS
ROLE = "arn:aws:iam::123456789012:role/firehose"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeSession]:
    providers: list[str | Any] = ["firehose", *(["lambda"] if HAS_LAMBDA else [])]
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("firehose-cloud"), providers=providers, clock=Clock(SCALE)
    )
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    yield EdgeSession(cloud.port)
    cloud.shutdown()
    server.join(timeout=10)


def _config(bucket: str, **changes: Any) -> dict[str, Any]:
    config = {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "Prefix": "firehose/",
        "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": INTERVAL},
        "CompressionFormat": "UNCOMPRESSED",
    }
    config.update(changes)
    return config


def _create(
    aws: EdgeSession, name: str, wait: bool = True, kind: str = "ExtendedS3", **changes: Any
) -> None:
    aws.client("s3").create_bucket(Bucket=name)
    aws.client("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        **{f"{kind}DestinationConfiguration": _config(name, **changes)},
    )
    if wait:
        wait_for(lambda: _status(aws, name) == "ACTIVE", f"{name} to be ACTIVE", timeout=5)


def _status(aws: EdgeSession, name: str) -> str:
    described = aws.client("firehose").describe_delivery_stream(DeliveryStreamName=name)
    return described["DeliveryStreamDescription"]["DeliveryStreamStatus"]


def _objects(aws: EdgeSession, bucket: str, prefix: str = "") -> dict[str, bytes]:
    s3 = aws.client("s3")
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def _stream(aws: EdgeSession, name: str) -> dict[str, Any]:
    return aws.control(f"firehose/{name}")


def _error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call(**params)
    status = error.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500, error.value.response
    return error.value.response["Error"]


def test_a_new_stream_is_creating_and_refuses_records_until_active(aws):
    firehose = aws.client("firehose")
    _create(aws, "fresh", wait=False)
    assert _status(aws, "fresh") == "CREATING"
    put = _error(firehose.put_record, DeliveryStreamName="fresh", Record={"Data": b"x"})
    assert put["Code"] == "ResourceNotFoundException"
    delete = _error(firehose.delete_delivery_stream, DeliveryStreamName="fresh")
    assert delete["Code"] == "ResourceInUseException"
    wait_for(lambda: _status(aws, "fresh") == "ACTIVE", "the stream to be ACTIVE", timeout=5)
    answer = firehose.put_record(DeliveryStreamName="fresh", Record={"Data": b"x"})
    assert answer["RecordId"] and answer["Encrypted"] is False
    description = firehose.describe_delivery_stream(DeliveryStreamName="fresh")
    destination = description["DeliveryStreamDescription"]["Destinations"][0]
    assert destination["ExtendedS3DestinationDescription"]["BufferingHints"]["SizeInMBs"] == 5
    firehose.delete_delivery_stream(DeliveryStreamName="fresh")


def test_records_wait_for_the_interval_then_land_in_one_object(aws):
    _create(aws, "clicks")
    records = [json.dumps({"userId": "guest", "click": i}).encode() + b"\n" for i in range(25)]
    before = datetime.now(UTC)
    started = time.monotonic()
    answer = aws.client("firehose").put_record_batch(
        DeliveryStreamName="clicks", Records=[{"Data": r} for r in records]
    )
    assert answer["FailedPutCount"] == 0 and answer["Encrypted"] is False
    assert len({r["RecordId"] for r in answer["RequestResponses"]}) == 25
    time.sleep(1.0)
    assert _objects(aws, "clicks") == {}
    assert _stream(aws, "clicks")["buffered_records"] == 25
    objects = wait_for(lambda: _objects(aws, "clicks"), "the delivery", timeout=10)
    assert time.monotonic() - started >= INTERVAL * SCALE - 0.5
    [(key, body)] = objects.items()
    assert body == b"".join(records)
    hours = {f"{t:%Y/%m/%d/%H}" for t in (before, datetime.now(UTC))}  # UTC, not local time
    match = re.fullmatch(
        r"firehose/(\d{4}/\d\d/\d\d/\d\d)/clicks-1-\d{4}(-\d\d){5}-[0-9a-f-]{36}", key
    )
    assert match and match.group(1) in hours, key
    stats = _stream(aws, "clicks")
    assert (stats["delivered_objects"], stats["delivered_records"]) == (1, 25)
    assert (stats["buffered_records"], stats["failed_records"], stats["last_error"]) == (0, 0, None)


def test_a_full_buffer_is_delivered_before_its_interval(aws):
    _create(aws, "sized", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    aws.client("firehose").put_record_batch(
        DeliveryStreamName="sized", Records=[{"Data": bytes([65 + i]) * 300_000} for i in range(6)]
    )
    objects = wait_for(lambda: _objects(aws, "sized"), "the size-triggered delivery", timeout=5)
    assert [len(body) for body in objects.values()] == [900_000]  # never past 1 MiB
    assert _stream(aws, "sized")["buffered_records"] == 3  # the rest waits for 900 s (45 s)
    aws.client("firehose").delete_delivery_stream(DeliveryStreamName="sized")
    assert aws.control("firehose")["streams"] == [
        s for s in aws.control("firehose")["streams"] if s["name"] != "sized"
    ]


def test_deleting_a_stream_discards_what_it_buffered(aws):
    _create(aws, "dropped")
    aws.client("firehose").put_record(DeliveryStreamName="dropped", Record={"Data": b"lost"})
    aws.client("firehose").delete_delivery_stream(DeliveryStreamName="dropped")
    assert "dropped" not in [s["name"] for s in aws.control("firehose")["streams"]]
    time.sleep(INTERVAL * SCALE + 1)
    assert _objects(aws, "dropped") == {}


def test_an_update_applies_to_new_data_and_bumps_the_version(aws):
    firehose = aws.client("firehose")
    _create(aws, "updated", kind="S3", Prefix="v1/")  # updated below as ExtendedS3: merged
    firehose.put_record(DeliveryStreamName="updated", Record={"Data": b"old"})
    refused = _error(
        firehose.update_destination,
        DeliveryStreamName="updated",
        CurrentDeliveryStreamVersionId="1",
        DestinationId="destinationId-000000000001",
        ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 2}},
    )
    assert refused["Code"] == "InvalidArgumentException"
    firehose.update_destination(
        DeliveryStreamName="updated",
        CurrentDeliveryStreamVersionId="1",
        DestinationId="destinationId-000000000001",
        ExtendedS3DestinationUpdate={"Prefix": "v2/"},
    )
    description = firehose.describe_delivery_stream(DeliveryStreamName="updated")
    assert description["DeliveryStreamDescription"]["VersionId"] == "2"
    [old] = wait_for(lambda: _objects(aws, "updated", "v1/"), "the old buffer", timeout=3)
    assert "/updated-1-" in old
    firehose.put_record(DeliveryStreamName="updated", Record={"Data": b"new"})
    objects = wait_for(lambda: _objects(aws, "updated", "v2/"), "the new delivery", timeout=10)
    [(key, body)] = objects.items()
    assert "/updated-2-" in key and body == b"new"
    other = _error(
        firehose.update_destination,
        DeliveryStreamName="updated",
        CurrentDeliveryStreamVersionId="2",
        DestinationId="destinationId-000000000001",
        HttpEndpointDestinationUpdate={"EndpointConfiguration": {"Url": "https://example.com"}},
    )
    assert other["Code"] == "InvalidArgumentException" and "local cloud" in other["Message"]


def test_limits_are_aws_limits(aws):
    firehose = aws.client("firehose")
    _create(aws, "limits")
    batch = firehose.put_record_batch
    error = _error(batch, DeliveryStreamName="limits", Records=[{"Data": b"x"}] * 501)
    assert error["Code"] == "InvalidArgumentException"
    too_big = [{"Data": b"ok"}, {"Data": b"x" * 1_024_001}]
    error = _error(batch, DeliveryStreamName="limits", Records=too_big)
    assert error["Code"] == "InvalidArgumentException" and "1024000" in error["Message"]
    error = _error(batch, DeliveryStreamName="limits", Records=[{"Data": b"x" * 1_000_000}] * 5)
    assert error["Code"] == "InvalidArgumentException" and "4 MiB" in error["Message"]
    assert _stream(aws, "limits")["buffered_records"] == 0  # refused calls buffer nothing
    single = {"Data": b"x" * 1_024_001}
    error = _error(firehose.put_record, DeliveryStreamName="limits", Record=single)
    assert error["Code"] == "InvalidArgumentException"
    error = _error(firehose.put_record, DeliveryStreamName="nowhere", Record={"Data": b"x"})
    assert error["Code"] == "ResourceNotFoundException"
    assert "nowhere" in error["Message"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 60}}, "SizeInMBs"),
        ({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 901}}, "IntervalInSeconds"),
        ({"BufferingHints": {"SizeInMBs": 1}}, "you must also provide a value for the other"),
        ({"CompressionFormat": "Snappy"}, "not supported by the local cloud's Firehose"),
        ({"Prefix": "clicks/!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null or empty"),
        (
            {"Prefix": "!{partitionKeyFromQuery:user}/", "ErrorOutputPrefix": "e/"},
            "dynamic partitioning",
        ),
    ],
)
def test_settings_aws_or_the_local_cloud_refuses_are_never_recorded(aws, changes, message):
    firehose = aws.client("firehose")
    error = _error(
        firehose.create_delivery_stream,
        DeliveryStreamName="refused",
        ExtendedS3DestinationConfiguration=_config("refused", **changes),
    )
    assert error["Code"] == "InvalidArgumentException"
    assert message in error["Message"]
    assert "refused" not in firehose.list_delivery_streams()["DeliveryStreamNames"]


def test_sources_and_destinations_the_local_cloud_does_not_deliver_are_refused(aws):
    firehose = aws.client("firehose")
    http = _error(
        firehose.create_delivery_stream,
        DeliveryStreamName="http",
        HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": "https://example.com/records"},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::http"},
        },
    )
    assert http["Code"] == "InvalidArgumentException"
    assert "HttpEndpoint destination is not supported" in http["Message"]
    kinesis = _error(
        firehose.create_delivery_stream,
        DeliveryStreamName="kinesis",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
            "RoleARN": ROLE,
        },
        ExtendedS3DestinationConfiguration=_config("kinesis"),
    )
    assert "KinesisStreamAsSource is not supported" in kinesis["Message"]
    names = firehose.list_delivery_streams()["DeliveryStreamNames"]
    assert "http" not in names and "kinesis" not in names


@pytest.mark.parametrize(
    "body",
    [
        b'{"DeliveryStreamName": "limits", "Record": {"Data": "%%% not base64"}}',
        b'{"DeliveryStreamName": "limits", "Record": {"Data": 12}}',
        b'{"DeliveryStreamName": "limits", "Record": ',
        b"[]",
    ],
)
def test_malformed_requests_are_4xx_json_errors(aws, body):
    firehose = aws.client("firehose")

    def break_body(request: Any, **_: Any) -> None:
        request.data = body

    firehose.meta.events.register("before-sign.firehose.PutRecord", break_body)
    try:
        error = _error(firehose.put_record, DeliveryStreamName="limits", Record={"Data": b"x"})
    finally:
        firehose.meta.events.unregister("before-sign.firehose.PutRecord", break_body)
    assert error["Code"] and error["Message"]


# -- a Lambda processor that really runs ---------------------------------------------------------
PROCESSOR = """
import base64


def handler(event, context):
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if b"drop" in data:
            out.append({"recordId": record["recordId"], "result": "Dropped"})
        elif b"fail" in data:
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed"})
        else:
            upper = base64.b64encode(data.upper()).decode()
            out.append({"recordId": record["recordId"], "result": "Ok", "data": upper})
    return {"records": out}


def broken(event, context):
    raise RuntimeError("the mysfits API is down")
"""
needs_lambda = pytest.mark.skipif(
    not HAS_LAMBDA, reason="no provider runs Lambda functions on this cloud (registry.py)"
)


def _function(aws: EdgeSession, name: str, handler: str) -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws.client("iam").create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(policy)
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("processor.py", PROCESSOR)
    lam = aws.client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler=handler,
        Code={"ZipFile": code.getvalue()},
        Timeout=30,
    )["FunctionArn"]
    wait_for(
        lambda: lam.get_function(FunctionName=name)["Configuration"]["State"] == "Active",
        f"function {name} to be Active",
        timeout=15,
    )
    return arn


def _processing(arn: str, retries: str = "3") -> dict[str, Any]:
    parameters = {"LambdaArn": arn, "NumberOfRetries": retries}
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [
                    {"ParameterName": k, "ParameterValue": v} for k, v in parameters.items()
                ],
            }
        ],
    }


@needs_lambda
def test_the_processor_transforms_drops_and_fails_records(aws):
    arn = _function(aws, "uppercase", "processor.handler")
    _create(aws, "transformed", ProcessingConfiguration=_processing(arn))
    data = [b"a\n", b"please drop\n", b"fail this\n", b"b\n"]
    aws.client("firehose").put_record_batch(
        DeliveryStreamName="transformed", Records=[{"Data": d} for d in data]
    )
    delivered = wait_for(
        lambda: _objects(aws, "transformed", "firehose/2"), "the transformed records", timeout=15
    )
    assert list(delivered.values()) == [b"A\nB\n"]
    failed = _objects(aws, "transformed", "firehose/processing-failed/")
    [line] = [json.loads(text) for body in failed.values() for text in body.splitlines()]
    assert line["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert base64.b64decode(line["rawData"]) == b"fail this\n"
    assert line["lambdaArn"] == arn and line["attemptsMade"] == 1
    stats = _stream(aws, "transformed")
    assert (stats["delivered_records"], stats["dropped_records"], stats["failed_records"]) == (
        2,
        1,
        1,
    )


@needs_lambda
def test_a_failing_processor_sends_every_record_to_processing_failed(aws):
    arn = _function(aws, "broken", "processor.broken")
    _create(aws, "failing", ProcessingConfiguration=_processing(arn, retries="1"))
    aws.client("firehose").put_record_batch(
        DeliveryStreamName="failing", Records=[{"Data": b"one"}, {"Data": b"two"}]
    )
    failed = wait_for(
        lambda: _objects(aws, "failing", "firehose/processing-failed/"),
        "the failed records",
        timeout=15,
    )
    lines = [json.loads(text) for body in failed.values() for text in body.splitlines()]
    assert sorted(base64.b64decode(line["rawData"]) for line in lines) == [b"one", b"two"]
    assert {(line["errorCode"], line["attemptsMade"]) for line in lines} == {
        ("Lambda.FunctionError", 2)
    }
    assert "the mysfits API is down" in lines[0]["errorMessage"]
    assert _objects(aws, "failing", "firehose/2") == {}
    assert _stream(aws, "failing")["last_error"].startswith("Lambda.FunctionError")
