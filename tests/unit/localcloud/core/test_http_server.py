"""The HTTP server behind every port of the local cloud: connections are kept alive when the
application read the body to its end, closed otherwise; chunked bodies both ways; HTTP/1.0
clients; a failing application is a 500; a closed server ends its connections; the number of
kept-alive connections is bounded."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mysfits_lab.localcloud.core import http_server
from mysfits_lab.localcloud.core.http_server import LoopbackServer, serve_in_background


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Echoes the body unless the path says not to read it; streams when asked."""
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("a bug in the application")
    if path == "/headers":
        names = sorted(k for k in environ if k.startswith("HTTP_X"))
        start_response("200 OK", [("Content-Length", str(len(str(names))))])
        return [str(names).encode()]
    body = b"" if path == "/unread" else environ["wsgi.input"].read()
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"one,", b"two"]
    reply = b"%s %s %s" % (environ["REQUEST_METHOD"].encode(), environ["RAW_URI"].encode(), body)
    if path.startswith("//"):  # a target in origin form is never read as an authority
        reply = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Length", str(len(reply)))])
    return [reply]


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = LoopbackServer(app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def own_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer(app, raw_target=True)
    serve_in_background(server, "test-server", poll_interval=0.05)
    yield server
    server.shutdown()
    server.server_close()


def raw(port: int, request: bytes) -> bytes:
    """Everything the server sends back until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


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


def test_a_failing_application_is_a_500_and_the_connection_closes(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/fail")
    response = connection.getresponse()
    assert response.status == 500
    assert response.read() == b"Internal Server Error\n"
    assert response.will_close


def test_a_content_length_that_is_not_a_number_closes_the_connection(port):
    received = raw(
        port, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4x\r\n\r\nabcd"
    )
    head = received.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 200")
    assert b"connection: close" in head  # the closed connection ended the raw() read


def test_a_declared_body_never_sent_is_answered_without_waiting_for_it(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /unread HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000000\r\n\r\n"
        )
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        assert response.status == 200
        assert response.will_close


def test_header_names_with_underscores_do_not_reach_the_application(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/headers", headers={"X-Kept": "1", "X_Dropped": "1"})
    assert connection.getresponse().read() == b"['HTTP_X_KEPT']"


def test_an_http_1_0_client_asking_for_keep_alive_gets_it(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        request = b"GET /a HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method="GET")
        response.begin()
        assert response.getheader("Connection") == "keep-alive"
        assert response.read() == b"GET /a "
        sock.sendall(request)  # the same connection serves the next request
        again = http.client.HTTPResponse(sock, method="GET")
        again.begin()
        assert again.read() == b"GET /a "


def test_a_raw_target_keeps_a_leading_double_slash_as_path(own_server):
    connection = http.client.HTTPConnection("127.0.0.1", own_server.server_port, timeout=5)
    connection.request("GET", "//not-a-host/key?x=1")
    assert connection.getresponse().read() == b"//not-a-host/key"


def test_a_closed_server_ends_its_kept_alive_connections(own_server):
    connection = http.client.HTTPConnection("127.0.0.1", own_server.server_port, timeout=5)
    connection.request("GET", "/first")
    assert connection.getresponse().read() == b"GET /first "
    own_server.shutdown()
    own_server.server_close()
    assert connection.sock.recv(1) == b""  # the server's end of the idle connection closed


def test_connections_past_the_bound_are_closed_after_their_answer(own_server, monkeypatch):
    monkeypatch.setattr(http_server, "MAX_KEPT_ALIVE", 2)
    port = own_server.server_port
    held = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(3)]
    answers = []
    for connection in held:
        connection.request("GET", "/x")
        response = connection.getresponse()
        response.read()
        answers.append(response.will_close)
    assert answers == [False, False, True]
