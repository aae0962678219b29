"""X-Ray tracing of a stage without a cloud: the trace header, the segment documents (checked
by the X-Ray provider's own reader), the sender, and a traced stage in front of an HTTP backend
and a Lambda proxy integration."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.test import Client

from mysfits_lab.localcloud.services.apigateway import tracing
from mysfits_lab.localcloud.services.apigateway.authorizer import CognitoAuthorizer
from mysfits_lab.localcloud.services.apigateway.gateway import StageGateway
from mysfits_lab.localcloud.services.apigateway.integrations.base import Backends
from mysfits_lab.localcloud.services.apigateway.integrations.endpoints import Endpoints
from mysfits_lab.localcloud.services.apigateway.integrations.service_calls import Invoked
from mysfits_lab.localcloud.services.apigateway.integrations.transport import HttpClient
from mysfits_lab.localcloud.services.apigateway.models import (
    ApiSnapshot,
    Integration,
    MappedResponse,
    Method,
    Resource,
)
from mysfits_lab.localcloud.services.apigateway.tracing import (
    RequestTrace,
    SegmentSender,
    StageSegment,
    TraceHeader,
    downstream,
    segment_document,
)
from mysfits_lab.localcloud.services.xray.documents import parse_document

from .builders import LAMBDA_URI, FakeServices

ROOT = "1-67891233-0123456789abcdef01234567"
PARENT = "53995c3f42cd8ad8"


# -- the trace header -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Root={ROOT};Parent={PARENT};Sampled=1", TraceHeader(ROOT, PARENT, True)),
        (f"sampled=0; parent={PARENT} ;ROOT={ROOT.upper()}", TraceHeader(ROOT, PARENT, False)),
        (f"Root={ROOT};Self=1-67891233-abc;Lineage=a:1", TraceHeader(ROOT, None, None)),
        (f"Root={ROOT};Sampled=?", TraceHeader(ROOT, None, None)),
        ("Root=1-xyz;Parent=nothex;Sampled=1", TraceHeader(None, None, True)),
        ("Sampled=0", TraceHeader(None, None, False)),
        ("", TraceHeader()),
        (None, TraceHeader()),
        (f"Root={ROOT};" + "x" * 300, TraceHeader()),  # too long to be read
    ],
)
def test_trace_headers_are_read_as_x_ray_reads_them(text, expected):
    assert TraceHeader.parse(text) == expected


def test_a_header_is_written_with_what_it_has():
    assert TraceHeader(ROOT, PARENT, True).format() == f"Root={ROOT};Parent={PARENT};Sampled=1"
    assert TraceHeader(ROOT, None, False).format() == f"Root={ROOT};Sampled=0"
    assert TraceHeader(None, None, None).format() == ""


def test_new_ids_look_like_x_ray_s():
    assert tracing.new_trace_id(0x67891233).startswith("1-67891233-")
    assert len(tracing.new_trace_id()) == 35 and len(tracing.new_id()) == 16


# -- one request --------------------------------------------------------------------------------
def test_a_request_without_a_decision_is_sampled_in_a_new_trace():
    trace = RequestTrace.begin(None, 0x67891233)
    assert trace.sampled and trace.caller is None
    assert trace.root.startswith("1-67891233-")
    assert trace.header == f"Root={trace.root};Parent={trace.segment_id};Sampled=1"


def test_the_caller_s_trace_and_decision_stand():
    trace = RequestTrace.begin(f"Root={ROOT};Parent={PARENT}", time.time())
    assert (trace.root, trace.caller, trace.sampled) == (ROOT, PARENT, True)
    unsampled = RequestTrace.begin(f"Root={ROOT};Parent={PARENT};Sampled=0", time.time())
    assert not unsampled.sampled
    assert unsampled.header == f"Root={ROOT};Parent={PARENT};Sampled=0"  # passed on as it came


def test_an_integration_call_is_a_subsegment_that_its_header_names():
    trace = RequestTrace.begin(f"Root={ROOT}", time.time())
    with trace.call("Lambda", "aws", {"url": "https://x", "method": "POST"}) as call:
        assert call.header == f"Root={ROOT};Parent={call.id};Sampled=1"
        call.answered(200, 12)
    (made,) = trace.calls
    body = made.document()
    assert body["name"] == "Lambda" and body["namespace"] == "aws"
    assert body["http"] == {
        "request": {"url": "https://x", "method": "POST"},
        "response": {"status": 200, "content_length": 12},
    }
    assert body["start_time"] <= body["end_time"]
    assert not {"fault", "error", "throttle"} & set(body)


def test_a_call_that_raises_is_a_fault_and_the_error_passes_on():
    trace = RequestTrace.begin(None, time.time())
    with pytest.raises(TimeoutError), trace.call("backend:80", "remote"):
        raise TimeoutError("read timed out")
    (made,) = trace.calls
    assert made.document()["fault"] is True


def test_unsampled_and_untraced_calls_carry_a_header_and_record_nothing():
    unsampled = RequestTrace.begin(f"Root={ROOT};Sampled=0", time.time())
    with unsampled.call("Lambda", "aws") as call:
        assert call.header == f"Root={ROOT};Sampled=0"
    assert unsampled.calls == []
    with downstream(None, f"Root={ROOT}", "Lambda", "aws") as call:
        assert call.header == f"Root={ROOT}" and not call.recorded


# -- the segment --------------------------------------------------------------------------------
def _record(trace: RequestTrace, status: int = 200, **fields: Any) -> StageSegment:
    values: dict[str, Any] = {
        "trace": trace,
        "api_id": "a1b2c3",
        "api_name": "Mysfits API",
        "stage": "prod",
        "region": "us-east-1",
        "request_id": "req-1",
        "extended_request_id": "ext-1=",
        "method": "GET",
        "url": "http://127.0.0.1:5000/prod/mysfits?x=1",
        "client_ip": "127.0.0.1",
        "user_agent": "curl/8.0",
        "forwarded": False,
        "status": status,
        "content_length": 42,
        "end": trace.start + 0.25,
    }
    return StageSegment(**(values | fields))


def test_the_segment_is_the_stage_s_as_api_gateway_writes_it():
    trace = RequestTrace.begin(f"Root={ROOT};Parent={PARENT};Sampled=1", 1_700_000_000.0)
    with trace.call("127.0.0.1:8080", "remote", {"url": "http://127.0.0.1:8080/x"}) as call:
        call.answered(200)
    document = segment_document(_record(trace, forwarded=True, client_ip="10.0.0.1"))
    assert document == {
        "name": "Mysfits API/prod",
        "id": trace.segment_id,
        "trace_id": ROOT,
        "parent_id": PARENT,
        "start_time": 1_700_000_000.0,
        "end_time": 1_700_000_000.25,
        "origin": "AWS::ApiGateway::Stage",
        "resource_arn": "arn:aws:apigateway:us-east-1::/restapis/a1b2c3/stages/prod",
        "http": {
            "request": {
                "method": "GET",
                "url": "http://127.0.0.1:5000/prod/mysfits?x=1",
                "client_ip": "10.0.0.1",
                "user_agent": "curl/8.0",
                "x_forwarded_for": True,
            },
            "response": {"status": 200, "content_length": 42},
        },
        "aws": {
            "xray": {"sampling_rule_name": "Default"},
            "api_gateway": {
                "account_id": "123456789012",
                "rest_api_id": "a1b2c3",
                "stage": "prod",
                "request_id": "req-1",
            },
        },
        "annotations": {"aws:api_id": "a1b2c3", "aws:api_stage": "prod"},
        "metadata": {"default": {"extended_request_id": "ext-1=", "request_id": "req-1"}},
        "subsegments": [call.document()],
    }
    accepted = parse_document(json.dumps(document))  # as X-Ray checks what it is sent
    assert (accepted.id, accepted.trace_id, accepted.parent_id) == (
        trace.segment_id,
        ROOT,
        PARENT,
    )


@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (200, {}),
        (302, {}),
        (403, {"error": True}),
        (429, {"error": True, "throttle": True}),
        (502, {"fault": True}),
        (504, {"fault": True}),
    ],
)
def test_the_answer_s_status_sets_x_ray_s_flags(status, flags):
    document = segment_document(_record(RequestTrace.begin(None, time.time()), status))
    assert {k: document[k] for k in ("error", "throttle", "fault") if k in document} == flags
    assert "parent_id" not in document and "subsegments" not in document


def test_names_x_ray_refuses_are_cleaned_and_long_text_cut():
    record = _record(
        RequestTrace.begin(None, time.time()),
        api_name="Mysfits (beta) <api>",
        url="http://h/" + "a" * 5000,
        user_agent="b" * 5000,
    )
    document = segment_document(record)
    assert document["name"] == "Mysfits beta api/prod"
    assert len(document["http"]["request"]["url"]) == tracing.MAX_TEXT
    parse_document(json.dumps(document))


# -- sending ------------------------------------------------------------------------------------
class FakeXRay:
    def __init__(self, refuse: int = 0, fail: bool = False):
        self.calls: list[tuple[str, list[dict]]] = []
        self.refuse, self.fail = refuse, fail

    def client(self, service: str, region: str) -> FakeXRay:
        assert service == "xray"
        self._region = region
        return self

    def put_trace_segments(self, TraceSegmentDocuments: list[str]) -> dict:  # noqa: N803
        if self.fail:
            raise ConnectionError("X-Ray is gone")
        self.calls.append((self._region, [json.loads(d) for d in TraceSegmentDocuments]))
        refused = [{"Id": "x", "ErrorCode": "InvalidId"}] * self.refuse
        return {"UnprocessedTraceSegments": refused}


def test_segments_are_put_from_the_sender_s_thread_by_region():
    xray = FakeXRay()
    sender = SegmentSender(xray.client, lambda: True)
    for region in ("us-east-1", "eu-west-1", "us-east-1"):
        sender.submit(_record(RequestTrace.begin(None, time.time()), region=region))
    assert sender.flush()
    regions = sorted(region for region, _ in xray.calls)
    assert regions in (["eu-west-1", "us-east-1"], ["eu-west-1", "us-east-1", "us-east-1"])
    assert sum(len(documents) for _, documents in xray.calls) == 3
    assert sender.status() == {"pending": 0, "sent": 3, "dropped": 0, "failed": 0}
    sender.stop()


def test_what_x_ray_refuses_or_cannot_take_is_counted_and_nothing_blocks():
    refusing = SegmentSender(FakeXRay(refuse=1).client, lambda: True)
    refusing.submit(_record(RequestTrace.begin(None, time.time())))
    assert refusing.flush() and refusing.status()["failed"] == 1
    gone = SegmentSender(FakeXRay(fail=True).client, lambda: True)
    gone.submit(_record(RequestTrace.begin(None, time.time())))
    assert gone.flush() and gone.status()["failed"] == 1
    without = SegmentSender(FakeXRay().client, lambda: False)
    without.submit(_record(RequestTrace.begin(None, time.time())))
    assert without.flush() and without.status()["dropped"] == 1
    for sender in (refusing, gone, without):
        sender.stop()


def test_a_full_queue_drops_instead_of_waiting():
    release = threading.Event()

    class Slow(FakeXRay):
        def put_trace_segments(self, TraceSegmentDocuments: list[str]) -> dict:  # noqa: N803
            release.wait(5)
            return {}

    sender = SegmentSender(Slow().client, lambda: True, max_pending=2)
    started = time.perf_counter()
    for _ in range(20):
        sender.submit(_record(RequestTrace.begin(None, time.time())))
    assert time.perf_counter() - started < 0.5
    assert sender.status()["dropped"] >= 16  # two queued, two in the thread's batch at most
    release.set()
    assert sender.flush()
    sender.stop()


# -- a traced stage -----------------------------------------------------------------------------
class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Backend.seen.append(self.headers.get("X-Amzn-Trace-Id"))
        status = 502 if self.path == "/broken" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


class Recorder:
    """A SegmentSender's place: keeps what is submitted."""

    def __init__(self, enabled: bool = True):
        self.records: list[StageSegment] = []
        self._enabled = enabled

    def enabled(self) -> bool:
        return self._enabled

    def submit(self, record: StageSegment) -> None:
        self.records.append(record)


def _gateway(port: int, sender: Recorder | SegmentSender, services: FakeServices) -> StageGateway:
    base = f"http://127.0.0.1:{port}"

    def proxy(path: str) -> Method:
        return Method("GET", integration=Integration("HTTP_PROXY", "GET", f"{base}{path}"))

    mock = Integration(
        "MOCK",
        request_templates={"application/json": '{"statusCode": 200}'},
        responses=(MappedResponse("200", None, {}, {"application/json": "{}"}),),
    )
    resources = (
        Resource("r1", "/items", {"GET": proxy("/items")}),
        Resource("r2", "/broken", {"GET": proxy("/broken")}),
        Resource("r3", "/mock", {"GET": Method("GET", integration=mock)}),
        Resource(
            "r4",
            "/questions",
            {"GET": Method("GET", integration=Integration("AWS_PROXY", "POST", LAMBDA_URI))},
        ),
    )
    snapshot = ApiSnapshot("a1b2c3", "us-east-1", "d1", resources, {})
    backends = Backends(
        HttpClient(),
        Endpoints(lambda r, i: {}, lambda: {}),
        aws=services,  # type: ignore[arg-type]
    )
    gateway = StageGateway(
        "prod",
        snapshot,
        CognitoAuthorizer.__new__(CognitoAuthorizer),
        backends,
        lambda origin: False,
        sender,  # type: ignore[arg-type]
    )
    gateway.configure({}, tracing=True, api_name="Mysfits")
    return gateway


@pytest.fixture
def stage(backend: int) -> tuple[Client, Recorder, FakeServices]:
    Backend.seen.clear()
    sender = Recorder()
    answer = json.dumps({"statusCode": 201, "body": "made"}).encode()
    services = FakeServices(invoked=Invoked(answer))
    return Client(_gateway(backend, sender, services)), sender, services


def _get(client: Client, path: str, **headers: str) -> Any:
    return client.get(path, headers={"Host": "127.0.0.1:5000", **headers}, buffered=True)


def test_a_traced_request_is_one_segment_once_its_answer_is_sent(stage):
    client, sender, _ = stage
    response = _get(client, "/prod/items?x=1", **{"X-Amzn-Trace-Id": f"Root={ROOT}"})
    assert response.status_code == 200
    (record,) = sender.records
    document = segment_document(record)
    assert document["trace_id"] == ROOT and document["name"] == "Mysfits/prod"
    assert document["http"]["request"]["url"] == "http://127.0.0.1:5000/prod/items?x=1"
    assert document["http"]["response"] == {"status": 200, "content_length": 2}
    (call,) = document["subsegments"]
    assert call["namespace"] == "remote" and call["name"].startswith("127.0.0.1:")
    # The backend got API Gateway's header, naming the call as its parent.
    assert Backend.seen == [f"Root={ROOT};Parent={call['id']};Sampled=1"]
    parse_document(json.dumps(document))


def test_a_backend_s_502_is_a_fault_of_the_call_and_of_the_stage(stage):
    client, sender, _ = stage
    assert _get(client, "/prod/broken").status_code == 502
    document = segment_document(sender.records[0])
    assert document["fault"] is True and document["subsegments"][0]["fault"] is True


def test_api_gateway_s_own_answers_are_segments_without_calls(stage):
    client, sender, _ = stage
    assert _get(client, "/prod/nowhere").status_code == 403
    assert _get(client, "/prod/mock", **{"Content-Type": "application/json"}).status_code == 200
    missing, mock = (segment_document(r) for r in sender.records)
    assert missing["error"] is True and "subsegments" not in missing
    assert "subsegments" not in mock and "error" not in mock


def test_a_lambda_proxy_call_names_its_subsegment_and_the_answer_carries_the_header(stage):
    client, sender, services = stage
    response = _get(client, "/prod/questions")
    assert response.status_code == 201
    document = segment_document(sender.records[0])
    (call,) = document["subsegments"]
    assert (call["name"], call["namespace"]) == ("Lambda", "aws")
    assert call["aws"]["function_name"] == "PostQuestion"
    root = document["trace_id"]
    assert services.calls[0]["trace_id"] == f"Root={root};Parent={call['id']};Sampled=1"
    # The answer carries the request's header; the event's is the same.
    header = f"Root={root};Parent={document['id']};Sampled=1"
    assert response.headers["X-Amzn-Trace-Id"] == header
    assert services.event()["headers"]["X-Amzn-Trace-Id"] == header


def test_a_caller_that_does_not_sample_gets_no_segment(stage):
    client, sender, _ = stage
    _get(client, "/prod/items", **{"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=0"})
    assert sender.records == []
    assert Backend.seen == [f"Root={ROOT};Sampled=0"]


@pytest.mark.parametrize("switch", ["off", "no x-ray"])
def test_no_segment_without_tracing_or_x_ray_but_a_header_still(backend, switch):
    Backend.seen.clear()
    sender = Recorder(enabled=switch != "no x-ray")
    services = FakeServices(invoked=Invoked(b'{"statusCode": 200, "body": ""}'))
    gateway = _gateway(backend, sender, services)
    if switch == "off":
        gateway.configure({}, tracing=False)
    client = Client(gateway)
    _get(client, "/prod/items")
    response = _get(client, "/prod/questions")
    assert sender.records == []
    (seen,) = Backend.seen
    assert seen is not None and seen.startswith("Root=1-") and "Parent" not in seen
    assert response.headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_tracing_adds_well_under_a_millisecond_to_a_request(backend):
    """A MOCK answer, traced and not (the real sender, X-Ray faked): the difference is what
    tracing costs a request."""
    services = FakeServices()
    timings = {}
    sender = SegmentSender(FakeXRay().client, lambda: True)
    for traced in (False, True):
        gateway = _gateway(backend, sender, services)
        gateway.configure({}, tracing=traced)
        client = Client(gateway)
        for _ in range(50):  # warm up
            _get(client, "/prod/mock", **{"Content-Type": "application/json"})
        started = time.perf_counter()
        for _ in range(300):
            _get(client, "/prod/mock", **{"Content-Type": "application/json"})
        timings[traced] = (time.perf_counter() - started) / 300
    assert timings[True] - timings[False] < 0.001, timings
    assert sender.flush() and sender.status()["sent"] >= 300
    sender.stop()
