"""Lambda event source mappings for DynamoDB streams on an in-process local cloud, through boto3:
the mapping API as AWS answers it, writes that keep working while a mapping exists (moto never
holds one), and records delivered to a real Python function — in order, batched, retried,
skipped — as a user sees them on AWS.

The delivery tests need the cloud's Lambda provider (functions that run); without it they are
skipped, and the control-plane tests run on moto's record of a function.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS
from mysfits_lab.localcloud.registry import PROVIDERS
from tests.helpers import edge_client, wait_for

REGION = "us-east-1"
SINK = "esm-sink"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:123456789012"

HANDLER = """
import json
import uuid

import boto3

s3 = boto3.client("s3")


def handle(event, context):
    records = event["Records"]
    table = records[0]["eventSourceARN"].split("/")[1]
    first = records[0]["dynamodb"]["SequenceNumber"]
    body = json.dumps(event)
    s3.put_object(Bucket="esm-sink", Key=f"{table}/calls/{first}/{uuid.uuid4().hex}", Body=body)
    for record in records:
        if "fail" in record["dynamodb"].get("NewImage", {}):
            raise ValueError("cannot take " + record["dynamodb"]["Keys"]["id"]["S"])
    s3.put_object(Bucket="esm-sink", Key=f"{table}/done/{first}", Body=body)
    return {"records": len(records)}
"""


def _lambda_runs() -> str | None:
    """Why functions cannot run on this cloud, or None when the Lambda provider is there."""
    if "lambda" not in PROVIDERS:
        return 'the local cloud has no Lambda provider (no "lambda" entry in registry.py)'
    module, _, _ = PROVIDERS["lambda"].partition(":")
    try:
        importlib.import_module(module, "mysfits_lab.localcloud")
    except ImportError as exc:
        return f"the Lambda provider does not import yet: {exc}"
    return None


NO_LAMBDA = _lambda_runs()
needs_lambda = pytest.mark.skipif(
    NO_LAMBDA is not None, reason=f"no running functions: {NO_LAMBDA}"
)


class Aws:
    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self.edge = cloud.edge_url
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = edge_client(self.edge, service, REGION)
        return self._clients[service]

    def table(self, name: str, view: str | None = "NEW_IMAGE") -> str:
        """A table (with a stream of ``view``): its stream ARN, or "" without one."""
        extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}}
        created = self("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **(extra if view else {}),
        )
        return created["TableDescription"].get("LatestStreamArn", "")

    def put(self, table: str, key: str, **attributes: Any) -> None:
        item = {"id": {"S": key}, **attributes}
        self("dynamodb").put_item(TableName=table, Item=item)

    def mapping(self, uuid: str) -> dict[str, Any]:
        return self("lambda").get_event_source_mapping(UUID=uuid)

    def wait_state(self, uuid: str, state: str) -> dict[str, Any]:
        return wait_for(lambda: self.mapping(uuid)["State"] == state and self.mapping(uuid), state)

    def control(self) -> dict[str, dict[str, Any]]:
        mappings = requests.get(f"{self.edge}/_localcloud/eventsources", timeout=5).json()
        return {m["uuid"]: m for m in mappings["mappings"]}

    def _objects(self, prefix: str) -> list[str]:
        found = self("s3").list_objects_v2(Bucket=SINK, Prefix=prefix).get("Contents", [])
        return sorted(o["Key"] for o in found)  # sequence numbers have one width: this is order

    def delivered(self, table: str) -> list[dict[str, Any]]:
        """The events the function processed successfully, in stream order."""
        return [
            json.loads(self("s3").get_object(Bucket=SINK, Key=key)["Body"].read())
            for key in self._objects(f"{table}/done/")
        ]

    def calls(self, table: str) -> list[str]:
        """The first sequence number of every invocation, successful or not."""
        return [key.split("/")[2] for key in self._objects(f"{table}/calls/")]


def _keys(events: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]] for e in events]


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aws]:
    providers = ["eventsources"] if NO_LAMBDA else ["eventsources", "lambda"]
    cloud = LocalCloud(0, tmp_path_factory.mktemp("eventsources-cloud"), providers=providers)
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    aws = Aws(cloud)
    aws("s3").create_bucket(Bucket=SINK)
    yield aws
    cloud.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def function(aws: Aws) -> str:
    """A Python function that writes each event it gets to S3 (and fails on ``fail`` items)."""
    role = aws("iam").create_role(RoleName="esm-sink", AssumeRolePolicyDocument="{}")["Role"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("sink.py", HANDLER)
    aws("lambda").create_function(
        FunctionName="sink",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="sink.handle",
        Code={"ZipFile": code.getvalue()},
        Timeout=10,
    )
    aws("lambda").get_waiter("function_active_v2").wait(
        FunctionName="sink", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    return "sink"


def _error(call, **params) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    response = raised.value.response
    return {
        "code": response["Error"]["Code"],
        "message": response["Error"]["Message"],
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


# -- the mapping API --------------------------------------------------------------------------
def test_a_mapping_is_answered_as_aws_answers_it(aws, function):
    stream = aws.table("answered")
    created = aws("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream, StartingPosition="TRIM_HORIZON"
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    uuid = created["UUID"]
    answer = {k: v for k, v in created.items() if k not in ("ResponseMetadata", "LastModified")}
    assert answer == {
        "BatchSize": 100,
        "BisectBatchOnFunctionError": False,
        "DestinationConfig": {"OnFailure": {}},
        "EventSourceArn": stream,
        "EventSourceMappingArn": f"{LAMBDA_ARN}:event-source-mapping:{uuid}",
        "FunctionArn": f"{LAMBDA_ARN}:function:sink",
        "FunctionResponseTypes": [],
        "LastProcessingResult": "No records processed",
        "MaximumBatchingWindowInSeconds": 0,
        "MaximumRecordAgeInSeconds": -1,
        "MaximumRetryAttempts": -1,
        "ParallelizationFactor": 1,
        "StartingPosition": "TRIM_HORIZON",
        "State": "Creating",
        "StateTransitionReason": "User action",
        "TumblingWindowInSeconds": 0,
        "UUID": uuid,
    }
    assert created["LastModified"].year >= 2024
    assert aws.wait_state(uuid, "Enabled")["LastProcessingResult"] == "No records processed"
    listed = aws("lambda").list_event_source_mappings(EventSourceArn=stream)["EventSourceMappings"]
    assert [(m["UUID"], m["State"]) for m in listed] == [(uuid, "Enabled")]
    assert aws.control()[uuid]["state"] == "Enabled"

    duplicate = _error(
        aws("lambda").create_event_source_mapping,
        FunctionName=function,
        EventSourceArn=stream,
        StartingPosition="LATEST",
    )
    assert (duplicate["code"], duplicate["status"]) == ("ResourceConflictException", 409)
    assert duplicate["message"].endswith(f"the existing mapping with UUID {uuid}")


def test_writes_keep_working_while_a_mapping_exists_and_moto_never_holds_one(aws, function):
    stream = aws.table("written")
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
    )["UUID"]
    aws.wait_state(uuid, "Enabled")
    ddb = aws("dynamodb")
    for n in range(5):
        aws.put("written", f"w{n}", n={"N": str(n)})
    ddb.update_item(
        TableName="written",
        Key={"id": {"S": "w1"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    ddb.delete_item(TableName="written", Key={"id": {"S": "w2"}})
    ddb.batch_write_item(
        RequestItems={
            "written": [{"PutRequest": {"Item": {"id": {"S": f"b{n}"}}}} for n in range(3)]
        }
    )
    assert ddb.scan(TableName="written")["Count"] == 7
    moto_view = aws.cloud.ctx.moto("lambda", "ListEventSourceMappings", REGION)
    assert moto_view["EventSourceMappings"] == []


def test_what_lambda_refuses_it_refuses_in_its_words(aws, function):
    stream = aws.table("refusing")
    aws.table("streamless", view=None)
    lam = aws("lambda")
    create = lam.create_event_source_mapping
    base = {"FunctionName": function, "EventSourceArn": stream, "StartingPosition": "LATEST"}
    user_error = "InvalidParameterValueException"
    cases = [
        ({"FunctionName": function}, "Unrecognized event source."),
        ({**base, "FunctionName": "nobody"}, "Function does not exist"),
        ({**base, "FunctionName": f"{function}:nosuchalias"}, "Function does not exist"),
        (
            {**base, "EventSourceArn": stream.replace("refusing", "nosuchtable")},
            f"Stream not found: {stream.replace('refusing', 'nosuchtable')}",
        ),
        (
            {**base, "EventSourceArn": stream.replace("refusing", "streamless")},
            f"Stream not found: {stream.replace('refusing', 'streamless')}",
        ),
        (
            {**base, "EventSourceArn": stream[:-3] + "999"},
            f"Stream not found: {stream[:-3]}999",
        ),
        (
            {"FunctionName": function, "EventSourceArn": stream},
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null.",
        ),
        (
            {**base, "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1},
            f"Unsupported starting position for arn type: {stream}",
        ),
        (
            {**base, "StartingPositionTimestamp": 1700000000},
            "Timestamp only valid with StartingPosition AT_TIMESTAMP",
        ),
        (
            {**base, "DestinationConfig": {"OnSuccess": {"Destination": stream}}},
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        ),
        (
            {**base, "MaximumRecordAgeInSeconds": 30},
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 "
            "(inclusive)",
        ),
        (
            {**base, "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"=1}'}]}},
            "Invalid filter pattern definition.",
        ),
    ]
    for params, message in cases:
        assert _error(create, **params) == {"code": user_error, "message": message, "status": 400}

    queue = "arn:aws:sqs:us-east-1:123456789012:clicks"
    refused = _error(create, FunctionName=function, EventSourceArn=queue)
    assert refused["code"] == user_error and "DynamoDB streams only" in refused["message"]
    assert "SQS" in refused["message"]
    assert _error(create, **base, BatchSize=10001)["status"] == 400

    unknown = "00000000-0000-0000-0000-000000000000"
    for call, params in [
        (lam.get_event_source_mapping, {}),
        (lam.update_event_source_mapping, {"Enabled": False}),
        (lam.delete_event_source_mapping, {}),
    ]:
        assert _error(call, UUID=unknown, **params) == {
            "code": "ResourceNotFoundException",
            "message": "The resource you requested does not exist.",
            "status": 404,
        }
    assert lam.list_event_source_mappings(EventSourceArn=stream)["EventSourceMappings"] == []


def test_malformed_requests_are_4xx_in_lambdas_protocol(aws):
    lam = edge_client(aws.edge, "lambda", REGION)
    bodies = [
        b"{not json",
        b'{"FunctionName": 5, "EventSourceArn": []}',
        b"[1, 2]",
        b'{"FunctionName": "sink", "EventSourceArn": "arn:aws:dynamodb:us-east-1:1:table/t/s/s",'
        b' "StartingPosition": "LATEST", "FilterCriteria": {"Filters": "all"}}',
        b'{"FunctionName": "sink", "FilterCriteria": {"Filters": [{"Pattern": 7}]}}',
        b'{"FunctionName": "sink", "DestinationConfig": {"OnFailure": []}}',
    ]

    def swap(request: Any, **_: Any) -> None:
        request.data = bodies[0]

    lam.meta.events.register("before-sign.lambda.CreateEventSourceMapping", swap)
    for _ in list(bodies):
        with pytest.raises(ClientError) as raised:
            lam.create_event_source_mapping(FunctionName="f", EventSourceArn="x")
        status = raised.value.response["ResponseMetadata"]["HTTPStatusCode"]
        headers = raised.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert 400 <= status < 500, raised.value.response
        assert headers.get("x-amzn-errortype"), headers
        bodies.pop(0)
    unchecked = boto3.client(
        "lambda",
        endpoint_url=aws.edge,
        region_name=REGION,
        config=Config(parameter_validation=False),
        **DUMMY_CREDENTIALS,
    )
    for params in [
        {"UUID": "short"},
        {"UUID": "x" * 36, "BatchSize": 0},
        {"UUID": "x" * 36, "BatchSize": "many"},
        {"UUID": "x" * 36, "Enabled": "yes"},
    ]:
        with pytest.raises(ClientError) as raised:
            unchecked.update_event_source_mapping(**params)
        assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    with pytest.raises(ClientError) as raised:
        unchecked.create_event_source_mapping(
            FunctionName="sink", EventSourceArn="arn:aws:dynamodb:x", MaximumRetryAttempts=-5
        )
    assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    with pytest.raises(ClientError) as raised:
        aws("lambda").list_event_source_mappings(Marker="not-a-marker")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_listing_filters_by_source_and_function_and_pages(aws, function):
    streams = [aws.table(f"listed{n}") for n in range(3)]
    uuids = [
        aws("lambda").create_event_source_mapping(
            FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
        )["UUID"]
        for stream in streams
    ]
    lam = aws("lambda")
    by_source = lam.list_event_source_mappings(EventSourceArn=streams[1])["EventSourceMappings"]
    assert [m["UUID"] for m in by_source] == [uuids[1]]
    assert lam.list_event_source_mappings(FunctionName="nobody")["EventSourceMappings"] == []
    everything = [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]]
    assert everything[-3:] == uuids
    paged, marker = [], None
    while True:
        extra = {"Marker": marker} if marker else {}
        page = lam.list_event_source_mappings(FunctionName=function, MaxItems=2, **extra)
        assert len(page["EventSourceMappings"]) <= 2
        paged += [m["UUID"] for m in page["EventSourceMappings"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert paged == everything
    full_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function}"
    by_arn = lam.list_event_source_mappings(FunctionName=full_arn)["EventSourceMappings"]
    assert [m["UUID"] for m in by_arn] == everything


def test_updates_and_deletion_go_through_their_states(aws, function):
    stream = aws.table("updated")
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
    )["UUID"]
    aws.wait_state(uuid, "Enabled")
    lam = aws("lambda")
    updated = lam.update_event_source_mapping(UUID=uuid, BatchSize=5, MaximumRetryAttempts=2)
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert (updated["State"], updated["BatchSize"], updated["MaximumRetryAttempts"]) == (
        "Updating",
        5,
        2,
    )
    aws.wait_state(uuid, "Enabled")
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    assert aws.wait_state(uuid, "Disabled")["BatchSize"] == 5
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    aws.wait_state(uuid, "Enabled")
    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert (deleted["ResponseMetadata"]["HTTPStatusCode"], deleted["State"]) == (202, "Deleting")
    assert _error(lam.get_event_source_mapping, UUID=uuid)["status"] == 404
    assert uuid not in aws.control()


def test_a_stacks_mapping_is_made_here_not_in_moto(aws, function):
    template = {
        "Resources": {
            "Questions": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "stacked",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                },
            },
            "Trigger": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": function,
                    "EventSourceArn": {"Fn::GetAtt": ["Questions", "StreamArn"]},
                    "StartingPosition": "TRIM_HORIZON",
                    "BatchSize": "1",
                },
            },
        },
        "Outputs": {
            "MappingId": {"Value": {"Ref": "Trigger"}},
            "MappingArn": {"Value": {"Fn::GetAtt": ["Trigger", "EventSourceMappingArn"]}},
        },
    }
    cloudformation = aws("cloudformation")
    cloudformation.create_stack(StackName="esm-stack", TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName="esm-stack")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    uuid = outputs["MappingId"]
    assert outputs["MappingArn"] == f"{LAMBDA_ARN}:event-source-mapping:{uuid}"
    assert aws.mapping(uuid)["BatchSize"] == 1
    aws.put("stacked", "from-a-stack")
    assert (
        aws.cloud.ctx.moto("lambda", "ListEventSourceMappings", REGION)["EventSourceMappings"] == []
    )
    if NO_LAMBDA is None:
        assert _keys(wait_for(lambda: aws.delivered("stacked"), "delivery")) == [["from-a-stack"]]

    broken = json.loads(json.dumps(template))
    broken["Resources"]["Questions"]["Properties"]["TableName"] = "stacked-broken"
    broken["Resources"]["Trigger"]["Properties"]["FunctionName"] = "nobody"
    refused = _error(
        cloudformation.create_stack, StackName="esm-broken", TemplateBody=json.dumps(broken)
    )
    assert (refused["code"], refused["status"]) == ("ValidationError", 400)
    assert "Function does not exist" in refused["message"]

    cloudformation.delete_stack(StackName="esm-stack")
    assert _error(aws("lambda").get_event_source_mapping, UUID=uuid)["status"] == 404


# -- delivery ---------------------------------------------------------------------------------
@needs_lambda
def test_records_arrive_in_order_in_the_shape_lambda_delivers(aws, function):
    stream = aws.table("shaped", view="NEW_AND_OLD_IMAGES")
    ddb = aws("dynamodb")
    aws.put("shaped", "a", text={"S": "first"}, blob={"B": b"\x00\x01"})
    aws.put("shaped", "b", text={"S": "second"})
    aws.put("shaped", "a", text={"S": "changed"})
    ddb.delete_item(TableName="shaped", Key={"id": {"S": "b"}})
    aws.put("shaped", "c", text={"S": "third"})
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=2
    )["UUID"]
    events = wait_for(lambda: len(aws.delivered("shaped")) == 3 and aws.delivered("shaped"), "3")
    assert _keys(events) == [["a", "b"], ["a", "b"], ["c"]]
    records = [r for e in events for r in e["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "MODIFY", "REMOVE", "INSERT"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences) and len(set(sequences)) == 5
    first, modify, remove = records[0], records[2], records[3]
    assert list(first) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert (first["eventVersion"], first["eventSource"], first["awsRegion"]) == (
        "1.1",
        "aws:dynamodb",
        REGION,
    )
    assert first["eventSourceARN"] == stream
    assert first["dynamodb"]["Keys"] == {"id": {"S": "a"}}
    assert first["dynamodb"]["NewImage"] == {
        "id": {"S": "a"},
        "text": {"S": "first"},
        "blob": {"B": "AAE="},
    }
    assert "OldImage" not in first["dynamodb"]
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert modify["dynamodb"]["OldImage"]["text"] == {"S": "first"}
    assert modify["dynamodb"]["NewImage"]["text"] == {"S": "changed"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["id"]
    shown = wait_for(lambda: aws.control()[uuid]["delivered_records"] == 5 and aws.control(), "5")
    assert shown[uuid]["delivered_batches"] == 3
    assert aws.mapping(uuid)["LastProcessingResult"] == "OK"


@needs_lambda
def test_a_disabled_mapping_waits_and_an_enabled_one_delivers(aws, function):
    stream = aws.table("paused")
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=stream,
        StartingPosition="TRIM_HORIZON",
        Enabled=False,
    )["UUID"]
    aws.wait_state(uuid, "Disabled")
    aws.put("paused", "p1")
    aws.put("paused", "p2")
    with pytest.raises(AssertionError):
        wait_for(lambda: aws.calls("paused"), "no delivery while disabled", timeout=1.5)
    aws("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    events = wait_for(lambda: aws.delivered("paused"), "delivery once enabled")
    assert _keys(events) == [["p1", "p2"]]
    # The mapping outlives an update of its function.
    aws("lambda").update_function_configuration(FunctionName=function, Timeout=12)
    aws.put("paused", "p3")
    events = wait_for(lambda: len(aws.delivered("paused")) == 2 and aws.delivered("paused"), "p3")
    assert _keys(events) == [["p1", "p2"], ["p3"]]


@needs_lambda
def test_latest_skips_what_was_written_before_the_mapping_was_enabled(aws, function):
    stream = aws.table("latest")
    aws.put("latest", "old")
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
    )["UUID"]
    aws.wait_state(uuid, "Enabled")
    aws.put("latest", "new")
    events = wait_for(lambda: aws.delivered("latest"), "the new record")
    assert _keys(events) == [["new"]]
    aws("lambda").delete_event_source_mapping(UUID=uuid)
    aws.put("latest", "after-delete")
    with pytest.raises(AssertionError):
        wait_for(lambda: len(aws.calls("latest")) > 1, "no delivery once deleted", timeout=1.5)


@needs_lambda
def test_a_failing_record_is_retried_then_skipped_logged_and_reported(aws, function):
    stream = aws.table("failing")
    queue_url = aws("sqs").create_queue(QueueName="esm-failures")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:123456789012:esm-failures"
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=stream,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )["UUID"]
    aws.put("failing", "good-1")
    aws.put("failing", "bad", fail={"BOOL": True})
    aws.put("failing", "good-2")

    events = wait_for(lambda: len(aws.delivered("failing")) == 2 and aws.delivered("failing"), "2")
    assert _keys(events) == [["good-1"], ["good-2"]]
    calls = aws.calls("failing")
    assert len(calls) == 4 and calls[1] == calls[2]  # the bad record: first try and one retry
    shown = aws.control()[uuid]
    assert (shown["failed_batches"], shown["delivered_batches"]) == (1, 2)

    messages = wait_for(
        lambda: aws("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages"),
        "the failure record",
    )
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(":function:sink")
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, stream)
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == calls[1]

    logs = aws("logs")

    def skip_lines() -> list[str]:
        streams = logs.describe_log_streams(logGroupName="/aws/lambda/sink")["logStreams"]
        names = [s["logStreamName"] for s in streams if s["logStreamName"].endswith(uuid)]
        return [
            e["message"]
            for name in names
            for e in logs.get_log_events(logGroupName="/aws/lambda/sink", logStreamName=name)[
                "events"
            ]
        ]

    [line] = wait_for(skip_lines, "the skip in the function's log group")
    assert "skipped a batch of 1 record(s)" in line
    assert calls[1] in line and "ValueError: cannot take bad" in line
