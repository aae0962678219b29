"""The NLB listener's TCP proxy against echo servers on loopback."""

from __future__ import annotations

import gc
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from mysfits_lab.localcloud.core.tcp_proxy import TcpProxy
from tests.helpers import wait_for


class _Echo(socketserver.BaseRequestHandler):
    """Answers ``<name>:<data>`` per chunk; on EOF from the client writes ``bye`` (after the
    server's ``bye_delay``) and closes."""

    def handle(self) -> None:
        name = self.server.name  # type: ignore[attr-defined]
        while data := self.request.recv(4096):
            self.request.sendall(f"{name}:".encode() + data)
        time.sleep(self.server.bye_delay)  # type: ignore[attr-defined]
        self.request.sendall(b"bye")


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str):
        super().__init__(("127.0.0.1", 0), _Echo)
        self.name = name
        self.bye_delay = 0.0
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def target(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def echoes() -> Iterator[list[_EchoServer]]:
    servers = [_EchoServer("a"), _EchoServer("b")]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy()
    yield proxy
    proxy.shutdown()


def _exchange(port: int, payload: bytes) -> bytes:
    """Send, half-close, and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    return received


class RoundRobin:
    def __init__(self, targets: list[tuple[str, int]]):
        self.targets = targets
        self.turn = 0

    def __call__(self) -> list[tuple[str, int]]:
        if not self.targets:
            return []
        start = self.turn % len(self.targets)
        self.turn += 1
        return self.targets[start:] + self.targets[:start]


def test_connections_alternate_between_targets_and_half_close_passes_through(echoes, proxy):
    port = proxy.open("lb", RoundRobin([e.target for e in echoes]))
    answers = [_exchange(port, b"ping") for _ in range(4)]
    assert answers == [b"a:pingbye", b"b:pingbye", b"a:pingbye", b"b:pingbye"]
    assert proxy.port("lb") == port
    assert proxy.open("lb", RoundRobin([])) == port  # idempotent: the port is stable


def test_large_payload_is_forwarded_intact(echoes, proxy):
    port = proxy.open("lb", RoundRobin([echoes[0].target]))
    payload = bytes(range(256)) * 4096  # 1 MiB
    received = _exchange(port, payload)
    assert received.endswith(b"bye")
    assert received.replace(b"a:", b"")[:-3] == payload


def test_no_target_resets_the_connection(proxy):
    port = proxy.open("lb", RoundRobin([]))
    # The reset may reach the client during the handshake or at its first read.
    with (
        pytest.raises(ConnectionResetError),
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        sock.sendall(b"x")
        sock.recv(10)


def test_a_dead_target_is_skipped_before_any_byte_is_sent(echoes, proxy):
    dead = echoes[1].target
    echoes[1].stop()
    port = proxy.open("lb", RoundRobin([dead, echoes[0].target]))
    assert [_exchange(port, b"x") for _ in range(3)] == [b"a:xbye"] * 3


def test_open_connections_are_counted_per_target(echoes, proxy):
    target = echoes[0].target
    port = proxy.open("lb", RoundRobin([target]))
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"hi")
    assert sock.recv(100) == b"a:hi"
    assert proxy.active_connections(target) == 1
    sock.close()
    wait_for(lambda: proxy.active_connections(target) == 0, "the connection to be released")


def test_close_returns_with_the_port_closed_and_open_connections_still_served(echoes, proxy):
    port = proxy.open("lb", RoundRobin([echoes[0].target]))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as open_before:
        open_before.sendall(b"hi")
        assert open_before.recv(100) == b"a:hi"
        proxy.close("lb")
        # No pause: the very next connect is refused.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        assert proxy.port("lb") is None
        open_before.sendall(b"again")
        assert open_before.recv(100) == b"a:again"


def test_a_connection_the_client_half_closed_survives_garbage_collection(echoes, proxy):
    # Between the client's FIN and the target's, nothing but the proxy holds the connection:
    # a garbage collection then must neither drop the answer nor leave the connection counted.
    echoes[0].bye_delay = 0.5
    port = proxy.open("lb", RoundRobin([echoes[0].target]))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"x")
        assert sock.recv(100) == b"a:x"
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.1)  # the proxy passes the FIN on; the target waits before answering
        gc.collect()
        assert sock.recv(100) == b"bye"
    wait_for(lambda: proxy.active_connections(echoes[0].target) == 0, "the connection to end")
