"""X-Ray tracing of invocations without a cloud: the trace header, the sampling decision, the
two segments Lambda records (checked as X-Ray checks documents), and their sending."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import pytest

from mysfits_lab.localcloud.services.awslambda.tracing import (
    SegmentSender,
    TraceContext,
    TracedInvocation,
    TraceHeader,
    decide,
    fault_cause,
    new_trace_id,
    segment_documents,
)
from mysfits_lab.localcloud.services.xray.documents import parse_document
from mysfits_lab.localcloud.services.xray.traces import ServiceKey, Trace

ROOT = "1-67891233-abcdef012345678912345678"
CALLER = "53995c3f42cd8ad8"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:questions"
# What the bootstrap reports for a handler's exception (traceback.format_list entries).
ERROR = {
    "errorMessage": "FATAL: the question was not saved",
    "errorType": "ValueError",
    "requestId": "r-1",
    "stackTrace": [
        '  File "/code/app.py", line 12, in handler\n    save(event)\n',
        '  File "/code/store.py", line 3, in save\n    raise ValueError("FATAL")\n',
    ],
}


# -- the header ---------------------------------------------------------------------------
def test_a_header_is_read_in_any_order_and_case_without_what_it_does_not_know():
    parsed = TraceHeader.parse(f"Sampled=1;self=1-abc;parent={CALLER.upper()};ROOT={ROOT}")
    assert parsed == TraceHeader(ROOT, CALLER, True)
    assert parsed.format() == f"Root={ROOT};Parent={CALLER};Sampled=1"
    assert TraceHeader.parse(f"Root={ROOT};Lineage=a87bd80c:1|68fd508a:5") == TraceHeader(ROOT)
    assert TraceHeader.parse(f"Root={ROOT};Sampled=?").sampled is None
    assert TraceHeader.parse("Sampled=0") == TraceHeader(sampled=False)
    # A root or parent that is not X-Ray's is left out, not passed on.
    assert TraceHeader.parse("Root=1-bad;Parent=xyz;Sampled=1") == TraceHeader(sampled=True)
    assert TraceHeader.parse(None) is None and TraceHeader.parse("") is None
    assert TraceHeader.parse("garbage") == TraceHeader()


def test_a_new_trace_id_carries_its_epoch_second():
    trace_id = new_trace_id(0x67891233 + 0.9)
    assert re.fullmatch(r"1-67891233-[0-9a-f]{24}", trace_id)
    assert new_trace_id(1.0) != new_trace_id(1.0)


@pytest.mark.parametrize(
    ("mode", "upstream", "sampled"),
    [
        ("Active", None, True),
        ("Active", f"Root={ROOT};Sampled=?", True),
        ("Active", f"Root={ROOT};Parent={CALLER};Sampled=0", False),  # the caller decided
        ("PassThrough", None, False),
        ("PassThrough", f"Root={ROOT};Parent={CALLER}", False),
        ("PassThrough", f"Root={ROOT};Parent={CALLER};Sampled=1", True),
    ],
)
def test_who_decides_whether_an_invocation_is_traced(mode, upstream, sampled):
    decided = decide(mode, TraceHeader.parse(upstream), 0x67891233, enabled=True)
    assert decided.sampled is sampled
    if upstream:
        assert decided.root == ROOT  # the caller's trace is kept
    else:
        assert decided.root.startswith("1-67891233-") and decided.parent is None
    assert decide(mode, TraceHeader.parse(upstream), 0, enabled=False).sampled is False


def test_the_handler_s_header_names_the_function_segment_as_parent():
    decided = decide(
        "PassThrough", TraceHeader.parse(f"Root={ROOT};Parent={CALLER};Sampled=1"), 0, True
    )
    trace = TraceContext.begin(decided)
    assert trace.caller == CALLER and trace.service_id != trace.function_id
    assert trace.environment() == f"Root={ROOT};Parent={trace.function_id};Sampled=1"
    unsampled = TraceContext.begin(decide("PassThrough", None, 0, True))
    assert unsampled.environment().endswith(";Sampled=0")
    assert f"Parent={unsampled.function_id}" in unsampled.environment()


# -- the segments -------------------------------------------------------------------------
def _record(**changes: Any) -> TracedInvocation:
    trace = TraceContext(ROOT, True, CALLER, "1111111111111111", "2222222222222222")
    fields: dict[str, Any] = {
        "trace": trace,
        "region": "us-east-1",
        "name": "questions",
        "arn": ARN,
        "request_id": "r-1",
        "received": 100.0,
        "finished": 100.9,
        "started": 100.5,
        "ended": 100.8,
        "init_span": None,
        "working_directory": "/code",
    }
    return TracedInvocation(**(fields | changes))


def _checked(documents: list[dict]) -> list[dict]:
    """The documents as X-Ray's own checks accept them."""
    for document in documents:
        parse_document(json.dumps(document))
    return documents


def test_a_warm_invocation_gives_the_service_segment_and_the_function_segment():
    service, function = _checked(segment_documents(_record()))
    assert service == {
        "name": "questions",
        "id": "1111111111111111",
        "trace_id": ROOT,
        "parent_id": CALLER,
        "start_time": 100.0,
        "end_time": 100.9,
        "origin": "AWS::Lambda",
        "resource_arn": ARN,
        "http": {"response": {"status": 200}},
        "aws": {"request_id": "r-1"},
    }
    (invocation,) = function.pop("subsegments")
    assert function == {
        "name": "questions",
        "id": "2222222222222222",
        "trace_id": ROOT,
        "parent_id": "1111111111111111",
        "start_time": 100.5,
        "end_time": 100.8,
        "origin": "AWS::Lambda::Function",
        "resource_arn": ARN,
        "aws": {
            "account_id": "123456789012",
            "function_arn": ARN,
            "resource_names": ["questions"],
        },
    }
    assert invocation["name"] == "Invocation"
    assert (invocation["start_time"], invocation["end_time"]) == (100.5, 100.8)
    assert re.fullmatch(r"[0-9a-f]{16}", invocation["id"])
    assert "fault" not in function and "cause" not in function


def test_a_cold_start_begins_the_function_segment_with_its_initialization():
    _, function = _checked(segment_documents(_record(init_span=(100.1, 100.4))))
    names = [(s["name"], s["start_time"], s["end_time"]) for s in function["subsegments"]]
    assert names == [("Initialization", 100.1, 100.4), ("Invocation", 100.5, 100.8)]
    assert function["start_time"] == 100.1


def test_an_invocation_without_a_caller_s_segment_is_the_root_of_its_trace():
    trace = TraceContext(ROOT, True, None, "1111111111111111", "2222222222222222")
    service, _ = _checked(segment_documents(_record(trace=trace)))
    assert "parent_id" not in service


def test_a_handler_s_exception_is_the_function_segment_s_fault_and_cause():
    service, function = _checked(segment_documents(_record(error=json.dumps(ERROR).encode())))
    assert service["http"] == {"response": {"status": 200}} and "fault" not in service
    assert function["fault"] is True
    cause = function["cause"]
    assert cause["working_directory"] == "/code"
    assert cause["paths"] == ["/code/app.py", "/code/store.py"]
    (exception,) = cause["exceptions"]
    assert exception["type"] == "ValueError"
    assert exception["message"] == "FATAL: the question was not saved"
    assert exception["stack"] == [
        {"path": "/code/app.py", "line": 12, "label": "handler"},
        {"path": "/code/store.py", "line": 3, "label": "save"},
    ]
    assert re.fullmatch(r"[0-9a-f]{16}", exception["id"])


def test_a_timeout_and_a_crash_are_faults_without_a_stack():
    timeout = {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r-1 Error: Task timed out after 3.00 seconds",
    }
    _, function = _checked(segment_documents(_record(error=json.dumps(timeout).encode())))
    (exception,) = function["cause"]["exceptions"]
    assert function["fault"] is True
    assert exception["type"] == "Sandbox.Timedout" and "timed out" in exception["message"]
    assert exception["stack"] == [] and function["cause"]["paths"] == []
    # An unreadable error payload is still a fault.
    assert fault_cause(None, "/code")["exceptions"][0]["type"] == "Unhandled"


def test_an_initialization_error_has_no_invocation_subsegment():
    error = json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": "no"}).encode()
    record = _record(started=None, ended=None, init_span=(100.1, 100.3), error=error)
    _, function = _checked(segment_documents(record))
    assert [s["name"] for s in function["subsegments"]] == ["Initialization"]
    assert (function["start_time"], function["end_time"]) == (100.1, 100.9)
    assert function["cause"]["exceptions"][0]["type"] == "Runtime.ImportModuleError"


def test_a_throttled_call_is_only_the_service_s_segment():
    record = _record(started=None, ended=None, status=429, throttled=True)
    (service,) = _checked(segment_documents(record))
    assert service["http"] == {"response": {"status": 429}}
    assert service["throttle"] is True and service["error"] is True


def test_the_segments_chain_caller_service_function_and_the_sdk_s_subsegments():
    """The documents and one subsegment the SDK streams (its parent: the header's Parent), as
    X-Ray puts a trace together: the caller's call → Lambda → the function → S3."""
    trace = TraceContext(ROOT, True, CALLER, "1111111111111111", "2222222222222222")
    caller = {
        "name": "api",
        "id": "0000000000000001",
        "trace_id": ROOT,
        "start_time": 99.0,
        "end_time": 101.0,
        "subsegments": [
            {"name": "Lambda", "id": CALLER, "start_time": 99.5, "end_time": 100.95},
        ],
    }
    parent = TraceHeader.parse(trace.environment()).parent
    streamed = {
        "type": "subsegment",
        "name": "S3",
        "namespace": "aws",
        "id": "3333333333333333",
        "trace_id": ROOT,
        "parent_id": parent,
        "start_time": 100.6,
        "end_time": 100.7,
    }
    documents = [caller, *segment_documents(_record(trace=trace)), streamed]
    built = Trace(ROOT, [parse_document(json.dumps(d)) for d in documents])
    calls = {
        (caller.name, callee.service.name, callee.service.type) for caller, callee in built.calls()
    }
    assert calls == {
        ("client", "api", None),
        ("api", "questions", "AWS::Lambda"),
        ("questions", "questions", "AWS::Lambda::Function"),
        ("questions", "S3", "AWS::S3::Bucket"),
    }
    s3_caller = next(c for c, callee in built.calls() if callee.name == "S3")
    assert s3_caller == ServiceKey("questions", "AWS::Lambda::Function")


# -- sending ------------------------------------------------------------------------------
class FakeXRay:
    def __init__(self, fail: bool = False, block: threading.Event | None = None):
        self.batches: list[tuple[str, list[dict]]] = []
        self.fail = fail
        self.block = block
        self.region = ""

    def client(self, service: str, region: str) -> FakeXRay:
        assert service == "xray"
        self.region = region
        return self

    def put_trace_segments(self, TraceSegmentDocuments: list[str]) -> dict:  # noqa: N803
        if self.block is not None:
            self.block.wait(5)
        if self.fail:
            raise ConnectionError("X-Ray is away")
        self.batches.append((self.region, [json.loads(d) for d in TraceSegmentDocuments]))
        return {"UnprocessedTraceSegments": []}


def test_segments_are_sent_through_put_trace_segments_in_the_function_s_region():
    xray = FakeXRay()
    sender = SegmentSender(xray.client, lambda: True)
    try:
        sender.submit(_record())
        sender.submit(_record(region="eu-west-1"))
        assert sender.flush()
    finally:
        sender.stop()
    origins = sorted((region, d["origin"]) for region, batch in xray.batches for d in batch)
    assert origins == [
        ("eu-west-1", "AWS::Lambda"),
        ("eu-west-1", "AWS::Lambda::Function"),
        ("us-east-1", "AWS::Lambda"),
        ("us-east-1", "AWS::Lambda::Function"),
    ]
    assert sender.status() == {"pending": 0, "sent": 4, "dropped": 0, "failed": 0}


def test_without_x_ray_nothing_is_sent_and_a_failure_is_counted():
    absent = FakeXRay()
    sender = SegmentSender(absent.client, lambda: False)
    sender.submit(_record())
    assert sender.flush()
    sender.stop()
    assert absent.batches == [] and sender.status()["dropped"] == 1

    away = FakeXRay(fail=True)
    sender = SegmentSender(away.client, lambda: True)
    sender.submit(_record())
    assert sender.flush()
    sender.stop()
    assert sender.status()["failed"] == 2


def test_an_invocation_never_waits_for_x_ray_and_a_full_queue_drops():
    release = threading.Event()
    slow = FakeXRay(block=release)
    sender = SegmentSender(slow.client, lambda: True, max_pending=3)
    try:
        started = time.perf_counter()
        for _ in range(20):
            sender.submit(_record())
        elapsed = time.perf_counter() - started
        assert elapsed < 0.05  # 20 submissions while X-Ray hangs
        assert sender.status()["dropped"] >= 20 - 3 - 1
    finally:
        release.set()
        sender.stop()
