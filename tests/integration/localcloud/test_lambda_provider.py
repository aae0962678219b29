"""Lambda on a fresh in-process local cloud, through boto3: Python functions that really run in
warm worker processes — environment, context, errors, timeouts, crashes, asynchronous retries,
concurrency, code updates under load, logs — as a user sees them on AWS.

The cloud's clock runs AWS's waits 100 times faster (the asynchronous retries), but a
function's own timeout in real time.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS
from mysfits_lab.localcloud.core.clock import Clock
from tests.helpers import edge_client, wait_for

REGION = "us-east-1"

APP = """
import importlib.util
import json
import logging
import os
import time

import boto3

VERSION = "{version}"
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("initialising", VERSION)


def report(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    second = context.get_remaining_time_in_millis()
    names = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    return {{
        "env": dict(os.environ),
        "context": {{
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        }},
        "remaining": [first, second],
        "client": getattr(context.client_context, "custom", None),
        "buckets": names,
        "numpy": importlib.util.find_spec("numpy") is not None,
        "cwd": os.getcwd(),
        "event": event,
    }}


def behave(event, context):
    action = event.get("action")
    if action == "raise":
        _fail(event["message"])
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(event.get("code", 1))
    if action == "segfault":
        import ctypes

        ctypes.string_at(0)
    if action == "large":
        return "x" * (7 * 1024 * 1024)
    if action == "print":
        print(event["text"])
        logger.info("logged %s", event["text"])
    return {{"pid": os.getpid(), "version": VERSION}}


def _fail(message):
    raise ValueError(message)


def flaky(event, context):
    with open(event["counter"], "a") as out:
        out.write(context.aws_request_id + "\\n")
    with open(event["counter"]) as counted:
        runs = len(counted.read().splitlines())
    if runs <= event.get("failures", 2):
        raise RuntimeError(f"run {{runs}} fails")
    return {{"runs": runs}}
"""


LIGHT = """
import os
import time


def nap(event, context):
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid()}
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _app(version: str = "v1") -> bytes:
    return _zip(
        {
            "app.py": APP.format(version=version),
            "pkg/__init__.py": "",
            "pkg/mod.py": "def fn(event, context):\n    return {'nested': True}\n",
            "light.py": LIGHT,
        }
    )


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Any]]:
    cloud = LocalCloud(
        0,
        tmp_path_factory.mktemp("lambda-cloud"),
        providers=["lambda"],
        clock=Clock(scale=0.01),
    )
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = edge_client(cloud.edge_url, service, REGION)
        return clients[service]

    client.edge_url = cloud.edge_url  # type: ignore[attr-defined]
    yield client
    cloud.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def role(aws) -> str:
    return aws("iam").create_role(RoleName="lambda-test", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]


def _create(aws, role: str, name: str, handler: str, code: bytes | None = None, **extra) -> dict:
    created = aws("lambda").create_function(
        FunctionName=name,
        Runtime=extra.pop("Runtime", "python3.12"),
        Role=role,
        Handler=handler,
        Code=extra.pop("Code", None) or {"ZipFile": code or _app()},
        **extra,
    )
    aws("lambda").get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    return created


def _invoke(aws, name: str, event: Any = None, **extra) -> tuple[dict, Any]:
    answer = aws("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event if event is not None else {}), **extra
    )
    return answer, json.loads(answer["Payload"].read() or b"null")


def _request_id(answer: dict) -> str:
    return answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


# -- running a function ---------------------------------------------------------------------
def test_a_function_sees_its_environment_context_and_the_local_cloud(aws, role):
    aws("s3").create_bucket(Bucket="seen-from-a-function")
    created = _create(
        aws,
        role,
        "reporter",
        "app.report",
        MemorySize=256,
        Timeout=7,
        Environment={"Variables": {"GREETING": "hello", "TABLE": "mysfits"}},
    )
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    configuration = aws("lambda").get_function(FunctionName="reporter")["Configuration"]
    assert (configuration["State"], configuration["LastUpdateStatus"]) == ("Active", "Successful")

    client_context = base64.b64encode(json.dumps({"custom": {"page": "home"}}).encode()).decode()
    answer, body = _invoke(aws, "reporter", {"question": 42}, ClientContext=client_context)

    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    env, context = body["env"], body["context"]
    assert (env["GREETING"], env["TABLE"]) == ("hello", "mysfits")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "reporter"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/reporter"
    assert re.fullmatch(
        r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"]
    )
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "app.report"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"], env["TZ"]) == (REGION, REGION, ":UTC")
    assert env["AWS_ENDPOINT_URL"] == aws.edge_url
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert Path(env["LAMBDA_TASK_ROOT"], "app.py").is_file()
    assert context == {
        "function_name": "reporter",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:reporter",
        "memory_limit_in_mb": "256",
        "aws_request_id": _request_id(answer),
        "log_group_name": "/aws/lambda/reporter",
        "log_stream_name": env["AWS_LAMBDA_LOG_STREAM_NAME"],
    }
    first, second = body["remaining"]
    assert 6000 < first <= 7000 and second < first
    assert "seen-from-a-function" in body["buckets"]  # boto3 inside reached the local cloud
    assert body["numpy"] is False  # only what an AWS Python runtime brings: the SDK
    assert body["event"] == {"question": 42}
    assert body["client"] == {"page": "home"}


def test_a_warm_invocation_reuses_the_worker_process(aws, role):
    _create(aws, role, "warm", "app.behave")
    pids = {_invoke(aws, "warm")[1]["pid"] for _ in range(5)}
    assert len(pids) == 1
    status = requests.get(f"{aws.edge_url}/_localcloud/lambda", timeout=5).json()
    workers = status["functions"]["warm"]["workers"]
    assert len(workers["idle"]) == 1 and workers["idle"][0]["invocations"] == 5


def test_handlers_resolve_as_aws_resolves_them(aws, role):
    for name, handler in (("slashed", "pkg/mod.fn"), ("dotted", "pkg.mod.fn")):
        _create(aws, role, name, handler)
        assert _invoke(aws, name)[1] == {"nested": True}

    _create(aws, role, "no-module", "missing.handler")
    answer, body = _invoke(aws, "no-module")
    assert answer["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Unable to import module 'missing': No module named 'missing'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    _create(aws, role, "no-handler", "app.nothing")
    answer, body = _invoke(aws, "no-handler")
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "Handler 'nothing' missing on module 'app'"


def test_a_layer_s_modules_are_importable(aws, role):
    layer = aws("lambda").publish_layer_version(
        LayerName="helpers",
        Content={"ZipFile": _zip({"python/helpers.py": "GREETING = 'from a layer'\n"})},
        CompatibleRuntimes=["python3.12"],
    )
    code = _zip({"uses.py": "import helpers\n\ndef handler(e, c):\n    return helpers.GREETING\n"})
    _create(aws, role, "layered", "uses.handler", code, Layers=[layer["LayerVersionArn"]])
    assert _invoke(aws, "layered")[1] == "from a layer"


def test_an_exception_is_reported_as_the_python_runtime_reports_it(aws, role):
    _create(aws, role, "raiser", "app.behave")
    answer, body = _invoke(aws, "raiser", {"action": "raise", "message": "no mysfit here"})

    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "no mysfit here"
    assert body["requestId"] == _request_id(answer)
    trace = body["stackTrace"]
    assert len(trace) == 2 and all(entry.startswith('  File "') for entry in trace)
    assert "in behave" in trace[0] and "raise ValueError(message)" in trace[1]
    assert "bootstrap" not in "".join(trace)


def test_a_function_past_its_timeout_is_stopped_and_the_next_invocation_works(aws, role):
    _create(aws, role, "sleepy", "app.behave", Timeout=1)
    pid = _invoke(aws, "sleepy")[1]["pid"]

    started = time.monotonic()
    answer, body = _invoke(aws, "sleepy", {"action": "sleep", "seconds": 5})
    elapsed = time.monotonic() - started

    assert elapsed < 2.5
    assert answer["FunctionError"] == "Unhandled"
    request_id = _request_id(answer)
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    answer, body = _invoke(aws, "sleepy")
    assert "FunctionError" not in answer
    assert body["pid"] != pid  # a fresh execution environment


def test_a_crashing_handler_is_an_exit_error_and_a_fresh_worker_follows(aws, role):
    _create(aws, role, "crasher", "app.behave")
    pid = _invoke(aws, "crasher")[1]["pid"]

    answer, body = _invoke(aws, "crasher", {"action": "exit", "code": 1})
    assert answer["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {_request_id(answer)} Error: Runtime exited with error: "
        "exit status 1",
    }
    answer, body = _invoke(aws, "crasher")
    assert "FunctionError" not in answer and body["pid"] != pid

    answer, body = _invoke(aws, "crasher", {"action": "segfault"})
    assert body["errorMessage"].endswith("Runtime exited with error: signal: segmentation fault")
    assert "FunctionError" not in _invoke(aws, "crasher")[0]


# -- asynchronous invocations, concurrency, updates -----------------------------------------
def test_an_event_that_fails_twice_is_retried_and_succeeds_the_third_time(aws, role, tmp_path):
    _create(aws, role, "flaky", "app.flaky")
    counter = tmp_path / "runs.txt"

    answer = aws("lambda").invoke(
        FunctionName="flaky",
        InvocationType="Event",
        Payload=json.dumps({"counter": str(counter), "failures": 2}),
    )

    assert answer["StatusCode"] == 202
    assert answer["Payload"].read() == b""
    wait_for(
        lambda: counter.exists() and len(counter.read_text().splitlines()) >= 3,
        "three runs",
        timeout=15,
    )
    time.sleep(2.0)  # past another retry delay: there is no fourth run
    runs = counter.read_text().splitlines()
    assert len(runs) == 3
    assert runs == [_request_id(answer)] * 3  # every attempt carries the same request id


def test_an_event_given_up_goes_to_its_on_failure_destination(aws, role, tmp_path):
    _create(aws, role, "doomed", "app.flaky")
    queue = aws("sqs").create_queue(QueueName="doomed-failures")["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws("lambda").put_function_event_invoke_config(
        FunctionName="doomed",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    counter = tmp_path / "doomed.txt"
    event = {"counter": str(counter), "failures": 99}
    aws("lambda").invoke(FunctionName="doomed", InvocationType="Event", Payload=json.dumps(event))

    def message() -> dict | None:
        got = aws("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)
        return json.loads(got["Messages"][0]["Body"]) if got.get("Messages") else None

    record = wait_for(message, "the failure record", timeout=15)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "run 2 fails"
    assert len(counter.read_text().splitlines()) == 2


def test_concurrent_invocations_run_on_several_workers(aws, role):
    _create(aws, role, "parallel", "light.nap")

    def burst() -> tuple[float, list[tuple[dict, Any]]]:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _invoke(aws, "parallel", {"seconds": 0.5}), range(8)))
        return time.monotonic() - started, answers

    _, cold = burst()  # starts 8 workers (how fast depends on the machine)
    elapsed, warm = burst()

    assert all("FunctionError" not in answer for answer, _ in cold + warm)
    assert len({body["pid"] for _, body in cold}) == 8
    assert {body["pid"] for _, body in warm} == {body["pid"] for _, body in cold}
    assert elapsed < 2.0  # not 8 x 0.5 s one after the other


def test_reserved_concurrency_zero_throttles(aws, role):
    _create(aws, role, "throttled", "app.behave")
    aws("lambda").put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=0)
    no_retries = boto3.client(
        "lambda",
        endpoint_url=aws.edge_url,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )
    with pytest.raises(ClientError) as raised:
        no_retries.invoke(FunctionName="throttled", Payload=b"{}")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    aws("lambda").delete_function_concurrency(FunctionName="throttled")
    assert "FunctionError" not in _invoke(aws, "throttled")[0]


def test_an_update_during_a_burst_answers_every_invocation(aws, role):
    _create(aws, role, "updated", "app.behave")
    aws("lambda").publish_version(FunctionName="updated")  # version 1 keeps v1
    results: list[list[str]] = [[] for _ in range(4)]
    stop = threading.Event()

    def burst(seen: list[str]) -> None:
        while not stop.is_set():
            answer, body = _invoke(aws, "updated", {"action": "sleep", "seconds": 0.02})
            seen.append(body.get("version") if "FunctionError" not in answer else "error")

    threads = [threading.Thread(target=burst, args=(seen,)) for seen in results]
    for thread in threads:
        thread.start()
    wait_for(lambda: all(len(seen) > 3 for seen in results), "a burst on the old code")
    updated = aws("lambda").update_function_code(FunctionName="updated", ZipFile=_app("v2"))
    assert updated["LastUpdateStatus"] == "InProgress"
    aws("lambda").get_waiter("function_updated_v2").wait(
        FunctionName="updated", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    try:
        wait_for(lambda: all(seen[-3:] == ["v2"] * 3 for seen in results), "the new code")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    for seen in results:
        assert set(seen) <= {"v1", "v2"}, seen  # none failed
        assert "v2" in seen
        assert seen == sorted(seen)  # once the new code answers, the old one never does again
    assert all(_invoke(aws, "updated")[1]["version"] == "v2" for _ in range(5))
    answer, body = _invoke(aws, "updated", Qualifier="1")
    assert (answer["ExecutedVersion"], body["version"]) == ("1", "v1")
    aws("lambda").create_alias(FunctionName="updated", Name="stable", FunctionVersion="1")
    answer, body = _invoke(aws, "updated", Qualifier="stable")
    assert (answer["ExecutedVersion"], body["version"]) == ("1", "v1")


def test_a_configuration_update_recycles_the_workers(aws, role):
    _create(aws, role, "configured", "app.report", Environment={"Variables": {"STAGE": "one"}})
    assert _invoke(aws, "configured")[1]["env"]["STAGE"] == "one"
    answer = aws("lambda").update_function_configuration(
        FunctionName="configured", Environment={"Variables": {"STAGE": "two"}}
    )
    assert answer["LastUpdateStatus"] == "InProgress"
    aws("lambda").get_waiter("function_updated_v2").wait(
        FunctionName="configured", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    assert (
        aws("lambda").get_function_configuration(FunctionName="configured")["LastUpdateStatus"]
        == "Successful"
    )
    assert _invoke(aws, "configured")[1]["env"]["STAGE"] == "two"


# -- logs, payloads, code sources, errors ---------------------------------------------------
def test_the_log_tail_and_the_log_group_hold_the_invocation(aws, role):
    _create(aws, role, "logger", "app.behave")
    answer, _ = _invoke(aws, "logger", {"action": "print", "text": "mysfit-7"}, LogType="Tail")
    request_id = _request_id(answer)
    tail = base64.b64decode(answer["LogResult"]).decode()
    lines = tail.splitlines()

    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    assert "mysfit-7" in lines
    assert any(re.fullmatch(rf"\[INFO\]\t\S+Z\t{request_id}\tlogged mysfit-7", x) for x in lines)
    assert f"END RequestId: {request_id}" in lines
    report = next(line for line in lines if line.startswith("REPORT"))
    assert re.match(
        rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t",
        report,
    )
    assert (
        lines.index(f"START RequestId: {request_id} Version: $LATEST")
        < lines.index("mysfit-7")
        < lines.index(f"END RequestId: {request_id}")
    )

    def logged() -> list[str]:
        events = aws("logs").filter_log_events(logGroupName="/aws/lambda/logger")["events"]
        return [e["message"] for e in events if request_id in e["message"]]

    messages = wait_for(lambda: len(logged()) >= 4 and logged(), "the logged lines", timeout=10)
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert messages[-2] == f"END RequestId: {request_id}"
    assert messages[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    streams = aws("logs").describe_log_streams(logGroupName="/aws/lambda/logger")["logStreams"]
    assert all(
        re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", s["logStreamName"])
        for s in streams
    )


def test_payload_checks_dry_runs_and_large_responses(aws, role):
    _create(aws, role, "payloads", "app.behave")
    lam = aws("lambda")
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName="payloads", Payload=b"not json")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    assert lam.invoke(FunctionName="payloads", InvocationType="DryRun")["StatusCode"] == 204

    answer, body = _invoke(aws, "payloads", {"action": "large"})
    assert answer["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName="nobody-home", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_function_created_from_s3(aws, role):
    code = _app("from-s3")
    aws("s3").create_bucket(Bucket="function-code")
    aws("s3").put_object(Bucket="function-code", Key="app.zip", Body=code)
    created = _create(
        aws, role, "from-s3", "app.behave", Code={"S3Bucket": "function-code", "S3Key": "app.zip"}
    )
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert _invoke(aws, "from-s3")[1]["version"] == "from-s3"

    with pytest.raises(ClientError) as raised:
        _create(
            aws, role, "no-code", "app.behave", Code={"S3Bucket": "function-code", "S3Key": "x"}
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "NoSuchKey" in raised.value.response["Error"]["Message"]


def test_an_unsupported_runtime_is_refused_clearly(aws, role):
    with pytest.raises(ClientError) as raised:
        aws("lambda").create_function(
            FunctionName="node",
            Runtime="nodejs20.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _zip({"index.js": "exports.handler = async () => 1;"})},
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "nodejs20.x" in error["Message"] and "python3.12" in error["Message"]
    with pytest.raises(ClientError) as raised:
        aws("lambda").get_function(FunctionName="node")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
