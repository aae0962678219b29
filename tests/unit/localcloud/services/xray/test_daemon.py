"""The daemon on real loopback sockets: datagrams in over UDP, X-Ray calls proxied over TCP on
the same port number, signed as the X-Ray daemon signs them."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from mysfits_lab.localcloud.services.xray.daemon import Daemon
from tests.helpers import wait_for

HEADER = b'{"format":"json","version":1}\n'


class FakeEdge:
    """An HTTP server that records what reaches it and answers a canned JSON body."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        edge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                edge.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
                answer = json.dumps({"SamplingRuleRecords": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-RequestId", "req-1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        serve = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        serve.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def edge() -> Iterator[FakeEdge]:
    fake = FakeEdge()
    yield fake
    fake.close()


@pytest.fixture
def daemon(edge: FakeEdge) -> Iterator[tuple[Daemon, list[str]]]:
    delivered: list[str] = []

    def deliver(text: str) -> bool:
        delivered.append(text)
        return '"ok"' in text

    running = Daemon(deliver, edge.url, "eu-west-1")
    running.start()
    yield running, delivered
    running.stop()


def send(address: str, payload: bytes) -> None:
    host, port = address.split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, (host, int(port)))


def test_datagrams_are_delivered_and_bad_ones_counted(daemon):
    running, delivered = daemon
    assert running.address is not None and running.address.startswith("127.0.0.1:")
    send(running.address, HEADER + b'{"ok": 1}')
    send(running.address, b"garbage without a header")
    send(running.address, b'{"format":"json","version":2}\n{"ok": 2}')
    send(running.address, HEADER + b'{"refused": 3}')  # framed, but deliver refuses it
    wait_for(lambda: running.received == 4, "four datagrams")
    assert delivered == ['{"ok": 1}', '{"refused": 3}']
    assert running.rejected == 3


def test_the_tcp_port_proxies_signed_calls_to_x_ray(daemon, edge):
    running, _ = daemon
    # What the SDK's sampling poller sends: unsigned, to the daemon's TCP address.
    answer = requests.post(f"http://{running.address}/GetSamplingRules", data=b"{}", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"SamplingRuleRecords": []}
    assert answer.headers["x-amzn-RequestId"] == "req-1"
    (seen,) = edge.seen
    assert seen["path"] == "/GetSamplingRules" and seen["body"] == b"{}"
    authorization = seen["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/eu-west-1/xray/aws4_request" in authorization


def test_a_body_too_large_is_refused_and_an_edge_that_is_gone_is_a_502(daemon, edge):
    running, _ = daemon
    big = requests.post(f"http://{running.address}/TraceSegments", data=b"x" * (1 << 21))
    assert big.status_code == 413
    edge.close()
    gone = requests.post(f"http://{running.address}/GetSamplingRules", data=b"{}", timeout=40)
    assert gone.status_code == 502


def test_stop_frees_the_port(edge):
    running = Daemon(lambda _text: True, edge.url, "us-east-1")
    running.start()
    port = running.port
    running.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("127.0.0.1", port))
        tcp.bind(("127.0.0.1", port))
