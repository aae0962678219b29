"""The stage's HTTP server: connections are kept alive when the application read the body to its
end, closed otherwise; chunked bodies both ways; HTTP/1.0 clients."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mysfits_lab.localcloud.services.apigateway.server import StageServer


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Echoes the body unless the path says not to read it; streams when asked."""
    path = environ["PATH_INFO"]
    body = b"" if path == "/unread" else environ["wsgi.input"].read()
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"one,", b"two"]
    reply = b"%s %s %s" % (environ["REQUEST_METHOD"].encode(), environ["RAW_URI"].encode(), body)
    start_response("200 OK", [("Content-Length", str(len(reply)))])
    return [reply]


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = StageServer("127.0.0.1", app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_requests_share_a_kept_alive_connection(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/a%20b?x=1", body=b"first")
    first = connection.getresponse().read()
    local = connection.sock.getsockname()
    connection.request("GET", "/second")
    second = connection.getresponse().read()

    assert (first, second) == (b"POST /a%20b?x=1 first", b"GET /second ")
    assert connection.sock.getsockname() == local  # the same connection


def test_a_small_unread_body_is_read_away_and_the_connection_kept(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/unread", body=b"x" * 1000)
    response = connection.getresponse()
    response.read()
    assert not response.will_close
    connection.request("GET", "/next")
    assert connection.getresponse().read() == b"GET /next "


def test_a_large_unread_body_closes_the_connection(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/unread", body=b"x" * 1_000_000)
    response = connection.getresponse()
    response.read()
    assert response.will_close
    assert response.getheader("Connection") == "close"


def test_chunked_bodies_both_ways(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/echo", body=iter([b"ab", b"cd"]), encode_chunked=True)
    assert connection.getresponse().read() == b"POST /echo abcd"
    connection.request("GET", "/stream")
    response = connection.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read() == b"one,two"


def test_an_http_1_0_client_gets_the_end_of_the_body_as_the_end_of_the_connection(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"chunked" not in head.lower()
    assert body == b"one,two"


def test_a_malformed_request_line_is_a_400(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/x.y\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")
