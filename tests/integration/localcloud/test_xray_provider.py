"""X-Ray on an in-process local cloud: the real aws-xray-sdk in child processes sends to the
daemon the cloud advertises, boto3 sends segments through the API, and the queries agree.

The Lambda-shaped trace is module 6's failing deployment: API Gateway → Lambda → the function
(segments put through the API, as those services record them), and from inside the function
the SDK with ``patch_all()`` streams a DynamoDB call and a ``hangingException`` subsegment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS
from tests.helpers import edge_client, wait_for

pytest.importorskip("aws_xray_sdk")

FUNCTION = "MythicalMysfitsPostQuestionFunction"
API = "MysfitsQuestionsApi/prod"

# Run in a child process: patch_all() patches this interpreter's libraries for good.
SDK_SCRIPT = r"""
import json, os, sys, time
import boto3
from aws_xray_sdk.core import patch_all, xray_recorder

mode = sys.argv[1]
if mode == "service":
    xray_recorder.configure(service="mysfits-service", sampling=False)
patch_all()
dynamodb = boto3.client("dynamodb")

@xray_recorder.capture("hangingException")
def hanging_exception(message):
    time.sleep(1.2)
    raise Exception(message)

if mode == "function":  # the handler's body, in a Lambda function's environment
    dynamodb.list_tables()
    try:
        hanging_exception("FATAL: This question did not get entered into the database.")
    except Exception:
        pass
else:  # a service that opens its own segments, and asks the daemon for sampling rules
    segment = xray_recorder.begin_segment("mysfits-service")
    segment.put_http_meta("method", "GET")
    segment.put_http_meta("url", "http://127.0.0.1/mysfits")
    dynamodb.list_tables()
    segment.put_http_meta("status", 200)
    xray_recorder.end_segment()
    from aws_xray_sdk.core.sampling.connector import ServiceConnector
    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].split(":")
    connector = ServiceConnector()
    connector.setup_xray_client(host, port, None)
    rules = connector.fetch_sampling_rules()
    targets, _ = connector.fetch_sampling_target(rules)
    print(json.dumps({"rules": [r.name for r in rules], "targets": targets}))
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    local = LocalCloud(0, tmp_path_factory.mktemp("xray-cloud"), providers=["xray"])
    server = threading.Thread(target=local.serve_forever, daemon=True)
    server.start()
    yield local
    local.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def xray(cloud: LocalCloud) -> Any:
    return edge_client(cloud.edge_url, "xray")


def control(cloud: LocalCloud) -> dict[str, Any]:
    answer = requests.get(f"{cloud.edge_url}/_localcloud/xray", timeout=5)
    assert answer.status_code == 200
    return answer.json()


def run_sdk(cloud: LocalCloud, mode: str, tmp_path: Any, extra: dict[str, str]) -> str:
    """The SDK script in the environment the cloud gives processes that run AWS code."""
    script = tmp_path / "traced.py"
    script.write_text(SDK_SCRIPT)
    env = cloud.ctx.child_environment(cloud.region, extra=extra)
    done = subprocess.run(
        [sys.executable, str(script), mode],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_id(n: int) -> str:
    return f"{os.getpid() & 0xFFFF:04x}{n:012x}"


@pytest.fixture(scope="module")
def traces(cloud: LocalCloud, xray: Any, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two traces: the function's (API + SDK) and the service's (SDK only)."""
    started = time.time()
    trace_id = f"1-{int(started):08x}-{os.urandom(12).hex()}"
    api_id, call_id, lambda_id, function_id = (new_id(n) for n in range(4))
    tmp = tmp_path_factory.mktemp("sdk")
    # What the Lambda service hands a traced invocation: the trace, its own segment, sampled.
    lambda_env = {
        "LAMBDA_TASK_ROOT": str(tmp),
        "_X_AMZN_TRACE_ID": f"Root={trace_id};Parent={function_id};Sampled=1",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
    }
    run_sdk(cloud, "function", tmp, lambda_env)
    sampling = json.loads(run_sdk(cloud, "service", tmp, {}))
    end = time.time()
    upstream = [
        {
            "name": API,
            "id": api_id,
            "trace_id": trace_id,
            "origin": "AWS::ApiGateway::Stage",
            "start_time": started - 0.1,
            "end_time": end,
            "fault": True,
            "http": {
                "request": {"method": "POST", "url": "https://api.local/prod/questions"},
                "response": {"status": 502},
            },
            "subsegments": [
                {
                    "name": "Lambda",
                    "id": call_id,
                    "namespace": "aws",
                    "start_time": started - 0.09,
                    "end_time": end - 0.01,
                    "fault": True,
                }
            ],
        },
        {
            "name": FUNCTION,
            "id": lambda_id,
            "trace_id": trace_id,
            "parent_id": call_id,
            "origin": "AWS::Lambda",
            "start_time": started - 0.08,
            "end_time": end - 0.02,
            "fault": True,
        },
        {
            "name": FUNCTION,
            "id": function_id,
            "trace_id": trace_id,
            "parent_id": lambda_id,
            "origin": "AWS::Lambda::Function",
            "start_time": started - 0.07,
            "end_time": end - 0.03,
            "fault": True,
        },
    ]
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in upstream])
    assert answer["UnprocessedTraceSegments"] == []
    # The SDK's datagrams: two streamed subsegments from the function, one service segment.
    wait_for(lambda: control(cloud)["datagrams"]["received"] >= 3, "the SDK's datagrams")
    wait_for(lambda: control(cloud)["traces"] == 2, "two traces")
    summaries = xray.get_trace_summaries(StartTime=started - 60, EndTime=end + 60)
    service_trace = next(s["Id"] for s in summaries["TraceSummaries"] if s["Id"] != trace_id)
    return {
        "function": trace_id,
        "service": service_trace,
        "window": (started - 60, end + 60),
        "sampling": sampling,
        "function_id": function_id,
    }


def summary_ids(xray: Any, traces: dict, expression: str | None = None) -> set[str]:
    start, end = traces["window"]
    extra = {"FilterExpression": expression} if expression is not None else {}
    answer = xray.get_trace_summaries(StartTime=start, EndTime=end, **extra)
    return {s["Id"] for s in answer["TraceSummaries"]}


def test_children_are_given_the_daemon_address(cloud):
    described = control(cloud)
    address = described["daemon_address"]
    assert address.startswith("127.0.0.1:")
    assert cloud.ctx.child_environment(cloud.region)["AWS_XRAY_DAEMON_ADDRESS"] == address
    assert cloud.status()["xray"]["daemon_address"] == address


def test_sdk_segments_arrive_and_sampling_answers_through_the_daemon(cloud, traces):
    described = control(cloud)
    assert described["datagrams"] == {"received": 3, "rejected": 0}
    assert described["segments"] == 3 + 3 and described["traces"] == 2
    sampling = traces["sampling"]
    assert sampling["rules"] == ["Default"]
    assert sampling["targets"]["Default"]["rate"] == 1.0


def test_summaries_are_filtered(xray, traces):
    both = {traces["function"], traces["service"]}
    assert summary_ids(xray, traces) == both
    assert summary_ids(xray, traces, "fault") == {traces["function"]}
    assert summary_ids(xray, traces, "ok") == {traces["service"]}
    assert summary_ids(xray, traces, "responsetime > 1") == {traces["function"]}
    assert summary_ids(xray, traces, 'service("mysfits-service")') == {traces["service"]}
    assert summary_ids(xray, traces, 'service("DynamoDB")') == both
    assert summary_ids(xray, traces, f'service("{FUNCTION}") {{ fault }}') == {traces["function"]}
    assert summary_ids(xray, traces, 'http.url CONTAINS "questions" AND http.status = 502') == {
        traces["function"]
    }
    start, end = traces["window"]
    (failed,) = xray.get_trace_summaries(StartTime=start, EndTime=end, FilterExpression="fault")[
        "TraceSummaries"
    ]
    assert failed["HasFault"] and failed["ResponseTime"] > 1.2
    assert failed["EntryPoint"]["Name"] == API
    (cause,) = failed["FaultRootCauses"]
    path = cause["Services"][0]["EntityPath"]
    assert [p["Name"] for p in path] == [FUNCTION, "hangingException"]
    assert "did not get entered" in path[-1]["Exceptions"][0]["Message"]


def test_batch_get_traces_puts_streamed_subsegments_back(xray, traces):
    unknown = "1-00000000-000000000000000000000000"
    answer = xray.batch_get_traces(TraceIds=[traces["function"], unknown])
    assert answer["UnprocessedTraceIds"] == [unknown]
    (found,) = answer["Traces"]
    assert found["Id"] == traces["function"] and found["Duration"] > 1.2
    documents = {s["Id"]: json.loads(s["Document"]) for s in found["Segments"]}
    assert len(documents) == 3
    function = documents[traces["function_id"]]
    names = [s["name"] for s in function["subsegments"]]
    assert names == ["dynamodb", "hangingException"]
    dynamodb = function["subsegments"][0]
    assert dynamodb["namespace"] == "aws" and dynamodb["aws"]["operation"] == "ListTables"


def test_the_service_graph_has_the_nodes_and_edges_with_their_counts(xray, traces):
    start, end = traces["window"]
    services = xray.get_service_graph(StartTime=start, EndTime=end)["Services"]
    nodes = {(s["Name"], s.get("Type")): s for s in services}
    assert set(nodes) == {
        ("client", "client"),
        (API, "AWS::ApiGateway::Stage"),
        (FUNCTION, "AWS::Lambda"),
        (FUNCTION, "AWS::Lambda::Function"),
        ("DynamoDB", "AWS::DynamoDB::Table"),
        ("mysfits-service", None),
    }
    by_ref = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}

    def edge(caller: tuple, callee: tuple) -> dict:
        found = [e for e in nodes[caller]["Edges"] if by_ref[e["ReferenceId"]] == callee]
        assert len(found) == 1, (caller, callee)
        return found[0]["SummaryStatistics"]

    client = ("client", "client")
    assert edge(client, (API, "AWS::ApiGateway::Stage"))["FaultStatistics"]["TotalCount"] == 1
    assert edge(client, ("mysfits-service", None))["OkCount"] == 1
    assert edge((API, "AWS::ApiGateway::Stage"), (FUNCTION, "AWS::Lambda"))["TotalCount"] == 1
    function = edge((FUNCTION, "AWS::Lambda"), (FUNCTION, "AWS::Lambda::Function"))
    assert function["FaultStatistics"]["TotalCount"] == 1
    ddb = ("DynamoDB", "AWS::DynamoDB::Table")
    assert edge((FUNCTION, "AWS::Lambda::Function"), ddb)["OkCount"] == 1
    assert edge(("mysfits-service", None), ddb)["OkCount"] == 1
    assert nodes[ddb]["SummaryStatistics"]["TotalCount"] == 2
    assert nodes[(API, "AWS::ApiGateway::Stage")]["Root"] is True
    assert all(s["State"] == "active" for k, s in nodes.items() if k != client)
    # The same from GetTraceGraph, for one trace.
    one = xray.get_trace_graph(TraceIds=[traces["service"]])["Services"]
    assert {s["Name"] for s in one} == {"client", "mysfits-service", "DynamoDB"}


def test_sampling_rules_through_the_api(xray):
    (record,) = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert record["SamplingRule"]["RuleName"] == "Default"
    targets = xray.get_sampling_targets(
        SamplingStatisticsDocuments=[
            {
                "RuleName": "Default",
                "ClientID": "0" * 24,
                "Timestamp": time.time(),
                "RequestCount": 1,
                "SampledCount": 1,
                "BorrowCount": 0,
            }
        ]
    )
    assert targets["SamplingTargetDocuments"][0]["FixedRate"] == 1.0


def test_malformed_segments_are_unprocessed_never_a_500(cloud, xray):
    good = {
        "name": "ok",
        "id": new_id(50),
        "trace_id": f"1-{int(time.time()):08x}-{os.urandom(12).hex()}",
        "start_time": time.time(),
        "end_time": time.time() + 0.1,
    }
    documents = [
        "not json at all",
        "[]",
        json.dumps({**good, "id": "zz"}),
        json.dumps({k: v for k, v in good.items() if k != "trace_id"}),
        json.dumps({**good, "trace_id": "1-bad"}),
        json.dumps({**good, "name": "what?"}),
        json.dumps({k: v for k, v in good.items() if k != "end_time"}),
        json.dumps({**good, "type": "subsegment"}),
        json.dumps({**good, "metadata": {"default": {"x": "y" * 70_000}}}),
        json.dumps(good),
    ]
    answer = xray.put_trace_segments(TraceSegmentDocuments=documents)
    codes = [u["ErrorCode"] for u in answer["UnprocessedTraceSegments"]]
    assert codes == [
        "InvalidJson",
        "MissingId",
        "InvalidId",
        "MissingTraceId",
        "InvalidTraceId",
        "InvalidName",
        "MissingEndTime",
        "MissingParentId",
        "SegmentTooLarge",
    ]
    assert answer["UnprocessedTraceSegments"][3]["Id"] == good["id"]
    # Datagrams the daemon cannot read are dropped and counted.
    before = control(cloud)["datagrams"]
    host, port = control(cloud)["daemon_address"].split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in (b"\x00\xff", b'{"format":"json","version":1}\n[]', b"{}\n{}"):
            sock.sendto(payload, (host, int(port)))
    wait_for(
        lambda: control(cloud)["datagrams"]["rejected"] == before["rejected"] + 3, "3 rejected"
    )


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        ("put_trace_segments", {"TraceSegmentDocuments": [7]}, "InvalidRequestException"),
        ("get_trace_summaries", {"StartTime": 10, "EndTime": 5}, "InvalidRequestException"),
        (
            "get_trace_summaries",
            {"StartTime": 0, "EndTime": 5, "FilterExpression": "fault AND"},
            "InvalidRequestException",
        ),
        (
            "get_trace_summaries",
            {"StartTime": 0, "EndTime": 5, "NextToken": "made-up"},
            "InvalidRequestException",
        ),
        ("get_service_graph", {"StartTime": 0}, "InvalidRequestException"),
    ],
)
def test_malformed_requests_are_4xx(cloud, operation, params, code):
    unchecked = boto3.client(  # sends what it is given
        "xray",
        endpoint_url=cloud.edge_url,
        region_name=cloud.region,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )
    with pytest.raises(ClientError) as error:
        getattr(unchecked, operation)(**params)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.value.response["Error"]["Code"] == code


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/TraceSegments", b'{"TraceSegmentDocuments": "not a list"}'),
        ("/TraceSegments", b'{"TraceSegmentDocuments": [{"id": 1}]}'),
        ("/TraceSegments", b"{not json"),
        ("/Traces", b'{"TraceIds": {"a": 1}}'),
        ("/TraceSummaries", b'{"StartTime": "soon", "EndTime": []}'),
        ("/ServiceGraph", b'{"StartTime": true, "EndTime": {}}'),
    ],
)
def test_malformed_bodies_are_4xx(cloud, path, body):
    request = AWSRequest(
        "POST", f"{cloud.edge_url}{path}", data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(**_keys()), "xray", cloud.region).add_auth(request)
    answer = requests.post(request.url, data=body, headers=dict(request.headers), timeout=10)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["x-amzn-ErrorType"]


def _keys() -> dict[str, str]:
    return {
        "access_key": DUMMY_CREDENTIALS["aws_access_key_id"],
        "secret_key": DUMMY_CREDENTIALS["aws_secret_access_key"],
    }
