"""API Gateway's tags and X-Ray tracing on an in-process local cloud with Lambda and X-Ray,
through boto3.

Tags: TagResource, UntagResource and GetTags on an imported REST API, a VPC link and a stage,
shown by GetRestApi(s), GetVpcLink(s) and GetStage, with AWS's limits and errors.

Tracing: a stage with ``tracingEnabled`` in front of a Lambda proxy integration (a function
traced ``Active``, with the real aws-xray-sdk, that writes to DynamoDB and raises on demand)
and an HTTP_PROXY backend: each request is a trace holding the stage's segment, its
integration call, and for Lambda the Lambda segments under that call; the service graph runs
client → stage → Lambda → function → DynamoDB. A stage without tracing records nothing.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab.functions_package import package
from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.registry import PROVIDERS
from tests.helpers import EdgeSession, wait_for

REGION = "us-east-1"
TABLE = "TracedQuestions"
FUNCTION = "AnswerQuestion"
API_NAME = "QuestionsApi"
CALLER_ROOT = "1-67891233-0123456789abcdef01234567"
NLB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/mysfits/0123"

HANDLER = """
import json
import os

import boto3
from aws_xray_sdk.core import patch_all

patch_all()
table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    table.put_item(Item={"id": context.aws_request_id})
    if (event.get("queryStringParameters") or {}).get("mode") == "raise":
        raise RuntimeError("the question was lost")
    return {"statusCode": 200, "body": json.dumps({"trace": os.environ["_X_AMZN_TRACE_ID"]})}
"""


class Backend(BaseHTTPRequestHandler):
    """An HTTP backend: 502 on /broken, else 200; remembers the trace headers it got."""

    protocol_version = "HTTP/1.1"
    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Backend.seen.append(self.headers.get("X-Amzn-Trace-Id"))
        status = 502 if self.path.startswith("/broken") else 200
        data = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeSession]:
    if not {"lambda", "xray"} <= set(PROVIDERS):
        pytest.skip("the Lambda or X-Ray provider is not registered on this cloud")
    local = LocalCloud(
        0, tmp_path_factory.mktemp("apigateway-tracing"), providers=["xray", "lambda", "apigateway"]
    )
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    yield EdgeSession(local.port)
    local.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def _imported(cloud: EdgeSession, paths: dict[str, Any], title: str = API_NAME) -> str:
    document = {"openapi": "3.0.1", "info": {"title": title, "version": "1"}, "paths": paths}
    gateway = cloud.client("apigateway")
    return gateway.import_rest_api(body=json.dumps(document).encode(), failOnWarnings=True)["id"]


def _http_proxy(url: str) -> dict[str, Any]:
    integration = {"type": "http_proxy", "httpMethod": "GET", "uri": url}
    return {
        "responses": {"200": {"description": "ok"}},
        "x-amazon-apigateway-integration": integration,
    }


# -- tags ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tagged(cloud: EdgeSession, backend: int) -> dict[str, str]:
    """An imported API deployed to ``prod``, and a VPC link: their ARNs."""
    api_id = _imported(cloud, {"/items": {"get": _http_proxy(f"http://127.0.0.1:{backend}/i")}})
    gateway = cloud.client("apigateway")
    gateway.create_deployment(restApiId=api_id, stageName="prod")
    link = gateway.create_vpc_link(name="mysfits", targetArns=[NLB_ARN], tags={"made": "here"})
    assert link["tags"] == {"made": "here"}
    return {
        "api_id": api_id,
        "api": f"arn:aws:apigateway:{REGION}::/restapis/{api_id}",
        "stage": f"arn:aws:apigateway:{REGION}::/restapis/{api_id}/stages/prod",
        "link_id": link["id"],
        "link": f"arn:aws:apigateway:{REGION}::/vpclinks/{link['id']}",
    }


def test_a_rest_api_is_tagged_untagged_and_shows_its_tags(cloud, tagged):
    gateway = cloud.client("apigateway")
    assert "tags" not in gateway.get_rest_api(restApiId=tagged["api_id"])
    assert gateway.get_tags(resourceArn=tagged["api"])["tags"] == {}
    gateway.tag_resource(resourceArn=tagged["api"], tags={"team": "mysfits", "env": "lab"})
    gateway.tag_resource(resourceArn=tagged["api"], tags={"env": "test"})  # replaced
    assert gateway.get_tags(resourceArn=tagged["api"])["tags"] == {"team": "mysfits", "env": "test"}
    assert gateway.get_rest_api(restApiId=tagged["api_id"])["tags"] == {
        "team": "mysfits",
        "env": "test",
    }
    (listed,) = [a for a in gateway.get_rest_apis()["items"] if a["id"] == tagged["api_id"]]
    assert listed["tags"] == {"team": "mysfits", "env": "test"}
    gateway.untag_resource(resourceArn=tagged["api"], tagKeys=["env", "never-there"])
    assert gateway.get_tags(resourceArn=tagged["api"])["tags"] == {"team": "mysfits"}
    # The stage's tags are its own.
    assert gateway.get_tags(resourceArn=tagged["stage"])["tags"] == {}


def test_a_stage_is_tagged_through_moto_and_get_stage_shows_it(cloud, tagged):
    gateway = cloud.client("apigateway")
    gateway.tag_resource(resourceArn=tagged["stage"], tags={"tier": "web", "cost": "1"})
    gateway.untag_resource(resourceArn=tagged["stage"], tagKeys=["cost"])
    assert gateway.get_tags(resourceArn=tagged["stage"])["tags"] == {"tier": "web"}
    stage = gateway.get_stage(restApiId=tagged["api_id"], stageName="prod")
    assert stage["tags"] == {"tier": "web"}


def test_a_vpc_link_is_tagged_and_get_vpc_links_shows_it(cloud, tagged):
    gateway = cloud.client("apigateway")
    assert gateway.get_tags(resourceArn=tagged["link"])["tags"] == {"made": "here"}
    gateway.tag_resource(resourceArn=tagged["link"], tags={"nlb": "mysfits"})
    gateway.untag_resource(resourceArn=tagged["link"], tagKeys=["made"])
    assert gateway.get_vpc_link(vpcLinkId=tagged["link_id"])["tags"] == {"nlb": "mysfits"}
    (listed,) = [v for v in gateway.get_vpc_links()["items"] if v["id"] == tagged["link_id"]]
    assert listed["tags"] == {"nlb": "mysfits"}


def test_create_rest_api_keeps_its_tags_and_delete_drops_them(cloud):
    gateway = cloud.client("apigateway")
    api = gateway.create_rest_api(name="Tagged", tags={"owner": "ana"})
    assert api["tags"] == {"owner": "ana"}
    arn = f"arn:aws:apigateway:{REGION}::/restapis/{api['id']}"
    assert gateway.get_tags(resourceArn=arn)["tags"] == {"owner": "ana"}
    gateway.delete_rest_api(restApiId=api["id"])
    with pytest.raises(ClientError) as gone:
        gateway.get_tags(resourceArn=arn)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    with pytest.raises(ClientError) as reserved:
        gateway.create_rest_api(name="Reserved", tags={"aws:owner": "ana"})
    assert reserved.value.response["Error"]["Code"] == "BadRequestException"


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:apigateway:{REGION}::/restapis/nothere0",
        f"arn:aws:apigateway:{REGION}::/restapis/nothere0/stages/prod",
        f"arn:aws:apigateway:{REGION}::/vpclinks/nothere0",
        f"arn:aws:apigateway:{REGION}::/nothings/nothere0",
    ],
)
def test_what_does_not_exist_is_not_found(cloud, arn):
    gateway = cloud.client("apigateway")
    calls = [
        lambda: gateway.tag_resource(resourceArn=arn, tags={"a": "b"}),
        lambda: gateway.untag_resource(resourceArn=arn, tagKeys=["a"]),
        lambda: gateway.get_tags(resourceArn=arn),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response
        assert error["Error"]["Code"] == "NotFoundException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_missing_stage_of_an_existing_api_is_not_found(cloud, tagged):
    with pytest.raises(ClientError) as caught:
        cloud.client("apigateway").get_tags(resourceArn=tagged["api"] + "/stages/nothere")
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


@pytest.mark.parametrize(
    "tags",
    [
        {"aws:team": "x"},
        {"AWS:team": "x"},
        {"k" * 129: "x"},
        {"key": "v" * 257},
        {"bad\nkey": "x"},
        {f"k{i}": "v" for i in range(51)},
    ],
)
def test_tags_aws_refuses_are_bad_requests(cloud, tagged, tags):
    gateway = cloud.client("apigateway")
    for arn in (tagged["api"], tagged["stage"], tagged["link"]):
        with pytest.raises(ClientError) as caught:
            gateway.tag_resource(resourceArn=arn, tags=tags)
        assert caught.value.response["Error"]["Code"] == "BadRequestException", arn
    assert "aws:team" not in gateway.get_tags(resourceArn=tagged["stage"])["tags"]


def test_fifty_tags_in_all_at_most(cloud, tagged):
    gateway = cloud.client("apigateway")
    current = gateway.get_tags(resourceArn=tagged["api"])["tags"]
    room = {f"n{i}": "v" for i in range(50 - len(current))}
    gateway.tag_resource(resourceArn=tagged["api"], tags=room)
    with pytest.raises(ClientError) as caught:
        gateway.tag_resource(resourceArn=tagged["api"], tags={"one-more": "v"})
    assert caught.value.response["Error"]["Code"] == "BadRequestException"
    gateway.untag_resource(resourceArn=tagged["api"], tagKeys=list(room))


def test_an_arn_of_another_service_is_a_bad_request(cloud):
    with pytest.raises(ClientError) as caught:
        cloud.client("apigateway").get_tags(resourceArn="arn:aws:sqs:us-east-1:123456789012:q")
    assert caught.value.response["Error"]["Code"] == "BadRequestException"


# -- tracing ------------------------------------------------------------------------------------
def _function_code(folder: Path) -> bytes:
    """The handler with the SDK and its one dependency beside it (copied from this
    interpreter, as ``pip install -t`` would put them)."""
    (folder / "app.py").write_text(HANDLER)
    for name in ("aws_xray_sdk", "wrapt"):
        spec = find_spec(name)
        assert spec is not None and spec.submodule_search_locations
        shutil.copytree(
            spec.submodule_search_locations[0],
            folder / name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return package(folder)


@pytest.fixture(scope="module")
def traced(cloud: EdgeSession, backend: int, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The API on ``prod`` (tracing on) and ``quiet`` (off), and what each request answered."""
    pytest.importorskip("aws_xray_sdk")
    started = time.time()
    cloud.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    functions = cloud.client("lambda")
    role = cloud.client("iam").create_role(RoleName="traced-api", AssumeRolePolicyDocument="{}")
    arn = functions.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _function_code(tmp_path_factory.mktemp("function"))},
        Environment={"Variables": {"TABLE": TABLE}},
        TracingConfig={"Mode": "Active"},
        Timeout=10,
    )["FunctionArn"]
    functions.get_waiter("function_active_v2").wait(
        FunctionName=FUNCTION, WaiterConfig={"Delay": 0.1, "MaxAttempts": 150}
    )
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
    proxy = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}
    api_id = _imported(
        cloud,
        {
            "/questions": {
                "get": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": proxy,
                }
            },
            "/items": {"get": _http_proxy(f"http://127.0.0.1:{backend}/items")},
            "/broken": {"get": _http_proxy(f"http://127.0.0.1:{backend}/broken")},
        },
    )
    gateway = cloud.client("apigateway")
    for stage in ("prod", "quiet"):
        gateway.create_deployment(restApiId=api_id, stageName=stage)
    gateway.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/tracingEnabled", "value": "true"}],
    )
    prod = cloud.control(f"apigateway/{api_id}/prod")["url"]
    quiet = cloud.control(f"apigateway/{api_id}/quiet")["url"]
    Backend.seen.clear()
    caller = f"Root={CALLER_ROOT};Sampled=1"
    answers = {
        "ok": requests.get(f"{prod}/questions", headers={"X-Amzn-Trace-Id": caller}, timeout=20),
        "raised": requests.get(f"{prod}/questions?mode=raise", timeout=20),
        "items": requests.get(f"{prod}/items", timeout=5),
        "broken": requests.get(f"{prod}/broken", timeout=5),
        "unsampled": requests.get(
            f"{prod}/items", headers={"X-Amzn-Trace-Id": "Sampled=0"}, timeout=5
        ),
        "quiet": requests.get(f"{quiet}/questions", timeout=20),
        "quiet-items": requests.get(f"{quiet}/items", timeout=5),
    }
    return {
        "api_id": api_id,
        "answers": answers,
        "backend": f"127.0.0.1:{backend}",
        "window": (started - 60, time.time() + 60),
    }


def _header(answer: requests.Response) -> dict[str, str]:
    return dict(part.split("=", 1) for part in answer.headers["X-Amzn-Trace-Id"].split(";"))


def _trace(cloud: EdgeSession, trace_id: str, origins: set[str]) -> dict[str, dict]:
    """The trace's segments by origin, once those of ``origins`` are all in."""

    def found() -> dict[str, dict] | None:
        traces = cloud.client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
        if not traces:
            return None
        documents = [json.loads(s["Document"]) for s in traces[0]["Segments"]]
        by_origin = {d.get("origin", d["name"]): d for d in documents}
        return by_origin if origins <= set(by_origin) else None

    return wait_for(found, f"the segments {sorted(origins)} of {trace_id}", timeout=15)


LAMBDA_TRACE = {"AWS::ApiGateway::Stage", "AWS::Lambda", "AWS::Lambda::Function"}


def test_the_answers_carry_the_trace_header(traced):
    answers = traced["answers"]
    assert [answers[k].status_code for k in ("ok", "raised", "items", "broken")] == [
        200,
        502,
        200,
        502,
    ]
    ok = _header(answers["ok"])
    assert ok["Root"] == CALLER_ROOT and ok["Sampled"] == "1" and len(ok["Parent"]) == 16
    assert json.loads(answers["ok"].content)["trace"].startswith(f"Root={CALLER_ROOT};")
    # HTTP_PROXY answers are the backend's; the backend got API Gateway's header, a sampled
    # request's naming the call as its parent, an unsampled one passing Sampled=0 on.
    assert "X-Amzn-Trace-Id" not in answers["items"].headers
    assert len(Backend.seen) == 4
    assert all(seen and seen.startswith("Root=1-") for seen in Backend.seen)
    assert sum(1 for seen in Backend.seen if seen and seen.endswith(";Sampled=0")) == 1
    assert sum(1 for seen in Backend.seen if seen and seen.endswith(";Sampled=1")) == 2


def test_a_lambda_request_is_one_trace_the_stage_the_call_and_lambda(cloud, traced):
    documents = _trace(cloud, CALLER_ROOT, LAMBDA_TRACE)
    stage = documents["AWS::ApiGateway::Stage"]
    service, function = documents["AWS::Lambda"], documents["AWS::Lambda::Function"]
    assert stage["name"] == f"{API_NAME}/prod"
    assert stage["resource_arn"] == (
        f"arn:aws:apigateway:{REGION}::/restapis/{traced['api_id']}/stages/prod"
    )
    request = stage["http"]["request"]
    assert request["method"] == "GET" and request["url"].endswith("/prod/questions")
    assert request["client_ip"] == "127.0.0.1"
    response = stage["http"]["response"]
    assert response["status"] == 200
    assert response["content_length"] == len(traced["answers"]["ok"].content)
    assert stage["aws"]["api_gateway"]["rest_api_id"] == traced["api_id"]
    assert stage["aws"]["api_gateway"]["stage"] == "prod"
    assert "parent_id" not in stage  # the caller named no parent
    assert not {"fault", "error"} & set(stage)
    (call,) = stage["subsegments"]
    assert (call["name"], call["namespace"]) == ("Lambda", "aws")
    assert call["aws"]["function_name"] == FUNCTION and call["aws"]["operation"] == "Invoke"
    assert call["http"]["response"]["status"] == 200
    # Lambda's segments hang under the call that made them.
    assert service["parent_id"] == call["id"]
    assert function["parent_id"] == service["id"]
    assert _header(traced["answers"]["ok"])["Parent"] == stage["id"]
    assert stage["start_time"] <= call["start_time"] <= call["end_time"] <= stage["end_time"]


def _summaries(cloud: EdgeSession, traced: dict, expression: str, count: int) -> list[dict]:
    start, end = traced["window"]

    def found() -> list[dict] | None:
        answer = cloud.client("xray").get_trace_summaries(
            StartTime=start, EndTime=end, FilterExpression=expression
        )
        return answer["TraceSummaries"] if len(answer["TraceSummaries"]) >= count else None

    return wait_for(found, f"{count} trace(s) for {expression}", timeout=15)


def test_every_sampled_request_is_a_trace_of_the_stage(cloud, traced):
    summaries = _summaries(cloud, traced, f'service("{API_NAME}/prod")', 4)
    assert len(summaries) == 4  # the unsampled request made none
    assert sum(1 for s in summaries if s["HasFault"]) == 2
    assert CALLER_ROOT in {s["Id"] for s in summaries}


def test_a_failed_function_is_a_fault_of_the_stage_and_of_its_call(cloud, traced):
    expression = f'service("{API_NAME}/prod") AND http.url CONTAINS "mode=raise"'
    (summary,) = _summaries(cloud, traced, expression, 1)
    assert summary["HasFault"]
    documents = _trace(cloud, summary["Id"], LAMBDA_TRACE)
    stage = documents["AWS::ApiGateway::Stage"]
    assert stage["fault"] is True and stage["http"]["response"]["status"] == 502
    (call,) = stage["subsegments"]
    assert call["fault"] is True
    assert documents["AWS::Lambda::Function"]["fault"] is True
    assert documents["AWS::Lambda"]["parent_id"] == call["id"]


def test_the_backend_call_is_a_remote_subsegment(cloud, traced):
    expression = f'service("{API_NAME}/prod") AND http.url CONTAINS "/broken"'
    (summary,) = _summaries(cloud, traced, expression, 1)
    stage = _trace(cloud, summary["Id"], {"AWS::ApiGateway::Stage"})["AWS::ApiGateway::Stage"]
    assert stage["fault"] is True and stage["http"]["response"]["status"] == 502
    (call,) = stage["subsegments"]
    assert (call["name"], call["namespace"]) == (traced["backend"], "remote")
    assert call["http"]["response"]["status"] == 502 and call["fault"] is True
    assert call["http"]["request"]["url"].endswith("/broken")


def test_the_service_graph_runs_from_the_client_through_the_stage_to_dynamodb(cloud, traced):
    _trace(cloud, CALLER_ROOT, LAMBDA_TRACE)
    start, end = traced["window"]
    stage_node = (f"{API_NAME}/prod", "AWS::ApiGateway::Stage")
    lambda_node, function_node = (FUNCTION, "AWS::Lambda"), (FUNCTION, "AWS::Lambda::Function")
    dynamodb_node = ("DynamoDB", "AWS::DynamoDB::Table")
    backend_node = (traced["backend"], "remote")

    def graph() -> list[dict] | None:
        """The graph once every request's segments are in (they arrive from two senders)."""
        services = cloud.client("xray").get_service_graph(StartTime=start, EndTime=end)["Services"]
        totals = {(s["Name"], s.get("Type")): s.get("SummaryStatistics") for s in services}
        wanted = {stage_node: 4, function_node: 3, dynamodb_node: 3, backend_node: 2}
        done = all((totals.get(node) or {}).get("TotalCount") == n for node, n in wanted.items())
        return services if done else None

    services = wait_for(graph, "the service graph")
    nodes = {(s["Name"], s.get("Type")): s for s in services}
    by_ref = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}

    def edge(caller: tuple, callee: tuple) -> dict:
        (found,) = [e for e in nodes[caller]["Edges"] if by_ref[e["ReferenceId"]] == callee]
        return found["SummaryStatistics"]

    into_stage = edge(("client", "client"), stage_node)
    assert into_stage["TotalCount"] == 4 and into_stage["FaultStatistics"]["TotalCount"] == 2
    assert nodes[stage_node]["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 2
    assert nodes[stage_node].get("Root") is True
    # Both Lambda requests of the traced stage; the quiet stage's is the client's own call.
    assert edge(stage_node, lambda_node)["TotalCount"] == 2
    assert edge(("client", "client"), lambda_node)["TotalCount"] == 1
    # The function's error is the function's fault: Lambda's Invoke itself answered 200.
    to_function = edge(lambda_node, function_node)
    assert (to_function["OkCount"], to_function["FaultStatistics"]["TotalCount"]) == (2, 1)
    assert edge(function_node, dynamodb_node)["OkCount"] == 3
    to_backend = edge(stage_node, backend_node)
    assert (to_backend["OkCount"], to_backend["FaultStatistics"]["TotalCount"]) == (1, 1)


def test_a_stage_without_tracing_records_no_segment(cloud, traced):
    _trace(cloud, CALLER_ROOT, LAMBDA_TRACE)  # the traced stage's segments are in
    start, end = traced["window"]
    quiet = cloud.client("xray").get_trace_summaries(
        StartTime=start, EndTime=end, FilterExpression=f'service("{API_NAME}/quiet")'
    )["TraceSummaries"]
    assert quiet == []
    # Its Lambda call still carried a header (no parent: nothing traced made it); the
    # function, traced Active, made a trace of its own without any stage in it.
    header = _header(traced["answers"]["quiet"])
    assert "Parent" not in header and header["Root"].startswith("1-")
    documents = _trace(cloud, header["Root"], {"AWS::Lambda", "AWS::Lambda::Function"})
    assert set(documents) == {"AWS::Lambda", "AWS::Lambda::Function"}
    assert "parent_id" not in documents["AWS::Lambda"]
    status = wait_for(
        lambda: (found := cloud.control("apigateway/tracing"))["sent"] == 4 and found,
        "the stage's four segments to be sent",
    )
    assert status == {"pending": 0, "sent": 4, "dropped": 0, "failed": 0}
