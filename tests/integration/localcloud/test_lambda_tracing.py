"""Lambda tracing on an in-process local cloud with Lambda and X-Ray, through boto3: a function
packaged with the real aws-xray-sdk (``patch_all()``) writes to S3 and raises on demand. With
``TracingConfig: Active`` each invocation is a trace — the Lambda service's segment, the
function's segment, the SDK's S3 subsegment under it — that the X-Ray API finds, faults
included; with ``PassThrough`` only a caller's sampled trace header makes one."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import requests

from mysfits_lab.functions_package import package
from mysfits_lab.localcloud.cloud import LocalCloud
from tests.helpers import edge_client, wait_for

pytest.importorskip("aws_xray_sdk")

REGION = "us-east-1"
BUCKET = "traced-questions"
ACTIVE = "TracedQuestions"
PASSIVE = "UntracedQuestions"
CALLER_ROOT = "1-67891233-abcdef012345678912345678"
CALLER_PARENT = "53995c3f42cd8ad8"

APP = """
import os

import boto3
from aws_xray_sdk.core import patch_all

patch_all()
s3 = boto3.client("s3")


def handler(event, context):
    # The object keeps the trace header the invocation saw, for the test to find its trace.
    trace = os.environ.get("_X_AMZN_TRACE_ID", "")
    s3.put_object(Bucket=event["bucket"], Key=context.aws_request_id, Body=trace.encode())
    if event.get("fail"):
        raise RuntimeError("FATAL: the question was not saved")
    return {"trace": trace}
"""


def _code(folder: Path) -> bytes:
    """The function with the SDK and its one dependency beside it, as ``pip install -t``
    would put them (copied from this interpreter: no package index needed)."""
    (folder / "app.py").write_text(APP)
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
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    local = LocalCloud(0, tmp_path_factory.mktemp("tracing-cloud"), providers=["xray", "lambda"])
    server = threading.Thread(target=local.serve_forever, daemon=True)
    server.start()
    yield local
    local.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> Any:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = edge_client(cloud.edge_url, service, REGION)
        return clients[service]

    return client


def _wait(aws: Any, name: str, waiter: str = "function_active_v2") -> None:
    aws("lambda").get_waiter(waiter).wait(
        FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )


@pytest.fixture(scope="module")
def functions(aws: Any, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both functions, Active and PassThrough; their code and role, and the time before."""
    started = time.time()
    code = _code(tmp_path_factory.mktemp("function"))
    aws("s3").create_bucket(Bucket=BUCKET)
    role = aws("iam").create_role(RoleName="traced", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    made = {"started": started, "code": code, "role": role}
    for name, mode in ((ACTIVE, "Active"), (PASSIVE, "PassThrough")):
        _create(aws, made, name, mode)
    for name in (ACTIVE, PASSIVE):
        _wait(aws, name)
    return made


def _create(aws: Any, made: dict, name: str, mode: str) -> None:
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=made["role"],
        Handler="app.handler",
        Code={"ZipFile": made["code"]},
        TracingConfig={"Mode": mode},
        Timeout=10,
    )


def _invoke(
    aws: Any, name: str, fail: bool = False, header: str | None = None, **extra: Any
) -> dict:
    """Invoke; the trace header the invocation saw (from the object it wrote) and the answer."""
    client = aws("lambda")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = header

    if header:  # as a traced caller (API Gateway) sends it; botocore does not by itself
        client.meta.events.register_first("before-sign.lambda.Invoke", add_header)
    try:
        answer = client.invoke(
            FunctionName=name, Payload=json.dumps({"bucket": BUCKET, "fail": fail}), **extra
        )
    finally:
        client.meta.events.unregister("before-sign.lambda.Invoke", add_header)
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    def written() -> bytes | None:
        try:
            return aws("s3").get_object(Bucket=BUCKET, Key=request_id)["Body"].read()
        except aws("s3").exceptions.NoSuchKey:
            return None  # an event not run yet

    seen = wait_for(written, f"the object of {request_id}").decode()
    fields = dict(part.split("=", 1) for part in seen.split(";"))
    return {"answer": answer, "header": fields, "request_id": request_id}


def _documents(aws: Any, trace_id: str, count: int) -> list[dict]:
    """The trace's segments once ``count`` of them (with the SDK's subsegment merged into the
    function's) have arrived."""

    def merged() -> list[dict] | None:
        traces = aws("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
        if not traces:
            return None
        documents = [json.loads(s["Document"]) for s in traces[0]["Segments"]]
        function = [d for d in documents if d.get("origin") == "AWS::Lambda::Function"]
        names = [s["name"] for s in (function[0].get("subsegments") or [])] if function else []
        return documents if len(documents) == count and "s3" in names else None

    return wait_for(merged, f"the segments of {trace_id}", timeout=10)


@pytest.fixture(scope="module")
def traced(aws: Any, functions: dict) -> dict:
    """The Active function invoked twice: cold and fine, then warm and raising."""
    ok = _invoke(aws, ACTIVE)
    failed = _invoke(aws, ACTIVE, fail=True)
    assert "FunctionError" not in ok["answer"]
    assert failed["answer"]["FunctionError"] == "Unhandled"
    return {"ok": ok, "failed": failed, "window": (functions["started"] - 60, time.time() + 60)}


def _by_origin(documents: list[dict]) -> dict[str, dict]:
    return {d.get("origin", d["name"]): d for d in documents}


def test_an_active_function_s_invocations_are_traces_one_with_a_fault(aws, traced):
    ok, failed = traced["ok"]["header"], traced["failed"]["header"]
    for seen in (ok, failed):
        assert seen["Sampled"] == "1" and seen["Root"].startswith("1-")
    assert ok["Root"] != failed["Root"]
    start, end = traced["window"]

    def summaries() -> list[dict] | None:
        found = aws("xray").get_trace_summaries(
            StartTime=start, EndTime=end, FilterExpression=f'service("{ACTIVE}")'
        )["TraceSummaries"]
        return found if len(found) == 2 else None

    by_id = {s["Id"]: s for s in wait_for(summaries, "two traces of the Active function")}
    assert set(by_id) == {ok["Root"], failed["Root"]}
    assert by_id[failed["Root"]]["HasFault"] and not by_id[ok["Root"]]["HasFault"]
    assert by_id[ok["Root"]]["EntryPoint"] == {
        "Name": ACTIVE,
        "Names": [ACTIVE],
        "AccountId": "123456789012",
        "Type": "AWS::Lambda",
    }
    (cause,) = by_id[failed["Root"]]["FaultRootCauses"]
    (service,) = cause["Services"]
    assert (service["Name"], service["Type"]) == (ACTIVE, "AWS::Lambda::Function")
    (exception,) = service["EntityPath"][-1]["Exceptions"]
    assert exception == {"Name": "RuntimeError", "Message": "FATAL: the question was not saved"}


def test_a_trace_holds_the_service_segment_the_function_segment_and_the_s3_call(aws, traced):
    ok = traced["ok"]
    documents = _by_origin(_documents(aws, ok["header"]["Root"], 2))
    service, function = documents["AWS::Lambda"], documents["AWS::Lambda::Function"]
    assert service["name"] == function["name"] == ACTIVE
    assert "parent_id" not in service  # nobody traced called it
    assert service["http"] == {"response": {"status": 200}}
    assert service["aws"] == {"request_id": ok["request_id"]}
    assert service["resource_arn"].endswith(f":function:{ACTIVE}")
    assert function["parent_id"] == service["id"]
    # The SDK's subsegments hang under the segment the handler's header named.
    assert ok["header"]["Parent"] == function["id"]
    subsegments = {s["name"]: s for s in function["subsegments"]}
    assert {"Initialization", "Invocation", "s3"} <= set(subsegments)  # a cold start
    s3 = subsegments["s3"]
    assert s3["namespace"] == "aws" and s3["aws"]["operation"] == "PutObject"
    invocation = subsegments["Invocation"]
    assert invocation["start_time"] <= s3["start_time"] <= s3["end_time"] <= invocation["end_time"]
    assert service["start_time"] <= function["start_time"] <= function["end_time"]
    assert function["end_time"] <= service["end_time"]
    assert "fault" not in function


def test_the_raising_invocation_s_function_segment_carries_the_fault(aws, traced):
    failed = traced["failed"]
    documents = _by_origin(_documents(aws, failed["header"]["Root"], 2))
    function = documents["AWS::Lambda::Function"]
    assert function["fault"] is True
    (exception,) = function["cause"]["exceptions"]
    assert exception["type"] == "RuntimeError"
    assert exception["stack"][-1]["label"] == "handler"
    assert exception["stack"][-1]["path"].endswith("/app.py")
    names = [s["name"] for s in function["subsegments"]]
    assert "Initialization" not in names  # a warm start
    assert documents["AWS::Lambda"]["http"] == {"response": {"status": 200}}


def test_the_service_graph_shows_lambda_the_function_and_s3(aws, traced):
    start, end = traced["window"]
    trace_ids = [traced["ok"]["header"]["Root"], traced["failed"]["header"]["Root"]]
    for trace_id in trace_ids:
        _documents(aws, trace_id, 2)
    services = aws("xray").get_trace_graph(TraceIds=trace_ids)["Services"]
    nodes = {(s["Name"], s.get("Type")): s for s in services}
    lambda_node, function_node = (ACTIVE, "AWS::Lambda"), (ACTIVE, "AWS::Lambda::Function")
    s3_node = ("S3", "AWS::S3::Bucket")
    assert set(nodes) == {("client", "client"), lambda_node, function_node, s3_node}
    by_ref = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}

    def edge(caller: tuple, callee: tuple) -> dict:
        (found,) = [e for e in nodes[caller]["Edges"] if by_ref[e["ReferenceId"]] == callee]
        return found["SummaryStatistics"]

    assert edge(("client", "client"), lambda_node)["OkCount"] == 2
    to_function = edge(lambda_node, function_node)
    assert (to_function["OkCount"], to_function["FaultStatistics"]["TotalCount"]) == (1, 1)
    assert edge(function_node, s3_node)["OkCount"] == 2
    # GetServiceGraph over the time window has the same nodes and edges.
    graph = aws("xray").get_service_graph(StartTime=start, EndTime=end)["Services"]
    assert {lambda_node, function_node, s3_node} <= {(s["Name"], s.get("Type")) for s in graph}


def test_pass_through_traces_only_what_a_sampled_caller_traced(cloud, aws, traced):
    untraced = _invoke(aws, PASSIVE)
    assert untraced["header"]["Sampled"] == "0"  # a header still, so the SDK sends nothing
    caller = f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=1"
    sampled = _invoke(aws, PASSIVE, header=caller)
    assert sampled["header"]["Root"] == CALLER_ROOT and sampled["header"]["Sampled"] == "1"

    documents = _by_origin(_documents(aws, CALLER_ROOT, 2))
    service, function = documents["AWS::Lambda"], documents["AWS::Lambda::Function"]
    assert service["parent_id"] == CALLER_PARENT  # under the caller's segment
    assert function["parent_id"] == service["id"]
    assert sampled["header"]["Parent"] == function["id"]
    # Segments leave in order: once the sampled call's are in, the untraced call's would be.
    answer = aws("xray").batch_get_traces(TraceIds=[untraced["header"]["Root"]])
    assert answer["Traces"] == [] and answer["UnprocessedTraceIds"]
    status = requests.get(f"{cloud.edge_url}/_localcloud/lambda", timeout=5).json()
    assert status["tracing"]["dropped"] == status["tracing"]["failed"] == 0
    assert status["tracing"]["sent"] >= 6


def test_an_event_invocation_is_traced_in_the_caller_s_trace(aws, functions):
    root = "1-67891233-00000000000000000000e7e7"
    header = f"Root={root};Parent={CALLER_PARENT};Sampled=1"
    event = _invoke(aws, PASSIVE, header=header, InvocationType="Event")
    assert event["answer"]["StatusCode"] == 202
    assert event["header"]["Root"] == root and event["header"]["Sampled"] == "1"
    documents = _by_origin(_documents(aws, root, 2))
    assert documents["AWS::Lambda"]["parent_id"] == CALLER_PARENT
    assert documents["AWS::Lambda::Function"]["id"] == event["header"]["Parent"]


def test_tracing_switched_on_and_off_by_update_function_configuration(aws, functions):
    name = "RetracedQuestions"
    _create(aws, functions, name, "PassThrough")
    _wait(aws, name)
    assert _invoke(aws, name)["header"]["Sampled"] == "0"
    updated = aws("lambda").update_function_configuration(
        FunctionName=name, TracingConfig={"Mode": "Active"}
    )
    assert updated["TracingConfig"] == {"Mode": "Active"}
    _wait(aws, name, "function_updated_v2")
    configuration = aws("lambda").get_function_configuration(FunctionName=name)
    assert configuration["TracingConfig"] == {"Mode": "Active"}
    traced = _invoke(aws, name)
    assert traced["header"]["Sampled"] == "1"
    _documents(aws, traced["header"]["Root"], 2)
    # Other settings changed later keep it.
    aws("lambda").update_function_configuration(FunctionName=name, Timeout=9)
    _wait(aws, name, "function_updated_v2")
    function = aws("lambda").get_function(FunctionName=name)["Configuration"]
    assert function["TracingConfig"] == {"Mode": "Active"} and function["Timeout"] == 9
    assert _invoke(aws, name)["header"]["Sampled"] == "1"
    aws("lambda").update_function_configuration(
        FunctionName=name, TracingConfig={"Mode": "PassThrough"}
    )
    _wait(aws, name, "function_updated_v2")
    assert _invoke(aws, name)["header"]["Sampled"] == "0"
