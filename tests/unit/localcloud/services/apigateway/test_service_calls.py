"""The cloud's AWS API as the service integrations call it, against a loopback server standing
in for the edge: signed raw calls, Lambda's Invoke with the trace header, and timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mysfits_lab.localcloud.services.apigateway.integrations.service_calls import (
    AwsServices,
    Timeout,
)


class Edge(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        Edge.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if "slow" in self.path:
            time.sleep(1.0)
        data = b'{"errorMessage":"boom"}' if "failing" in self.path else b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if "failing" in self.path:
            self.send_header("X-Amz-Function-Error", "Unhandled")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the caller that timed out went away


@pytest.fixture(scope="module")
def services() -> Iterator[AwsServices]:
    server = QuietServer(("127.0.0.1", 0), Edge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    aws = AwsServices(f"http://127.0.0.1:{server.server_port}")
    yield aws
    aws.close()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _clear() -> None:
    Edge.seen.clear()


def test_a_raw_call_is_signed_for_the_service_and_sent_as_rendered(services):
    body = b'{"DeliveryStreamName":"clicks","Record":{"Data":"e30="}}'
    answer = services.call(
        "firehose",
        "eu-west-1",
        "POST",
        "/",
        [
            ("X-Amz-Target", "Firehose_20150804.PutRecord"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        body,
        5.0,
    )
    assert (answer.status, json.loads(answer.body)) == (200, {"ok": True})
    (seen,) = Edge.seen
    assert seen["body"] == body
    assert seen["headers"]["X-Amz-Target"] == "Firehose_20150804.PutRecord"
    authorization = seen["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/eu-west-1/firehose/aws4_request" in authorization


def test_invoke_passes_the_trace_header_and_reads_the_function_error(services):
    ok = services.invoke(
        "us-east-1", "fine", b"{}", 5.0, "Root=1-655400a0-0123456789abcdef01234567"
    )
    assert (json.loads(ok.payload), ok.function_error) == ({"ok": True}, None)
    assert Edge.seen[0]["path"] == "/2015-03-31/functions/fine/invocations"
    assert Edge.seen[0]["headers"]["X-Amzn-Trace-Id"] == "Root=1-655400a0-0123456789abcdef01234567"

    failed = services.invoke("us-east-1", "failing", b"{}", 5.0)
    assert failed.function_error == "Unhandled"
    assert "X-Amzn-Trace-Id" not in Edge.seen[1]["headers"]


def test_past_the_timeout_a_call_gives_up_once(services):
    with pytest.raises(Timeout):
        services.invoke("us-east-1", "slow", b"{}", 0.3)
    with pytest.raises(Timeout):
        services.call("firehose", "us-east-1", "POST", "/slow", [], b"{}", 0.3)
    time.sleep(0.8)  # let the server finish the abandoned requests
    assert len(Edge.seen) == 2  # not retried
