"""The NLB listener's TCP proxy against echo servers on loopback."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from mysfits_lab.localcloud.providers.tcp_proxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    """Answers ``<name>:<data>`` per chunk; on EOF from the client writes ``bye`` and closes."""

    def handle(self) -> None:
        name = self.server.name  # type: ignore[attr-defined]
        while data := self.request.recv(4096):
            self.request.sendall(f"{name}:".encode() + data)
        self.request.sendall(b"bye")


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str):
        super().__init__(("127.0.0.1", 0), _Echo)
        self.name = name
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


def test_open_connections_are_counted_per_target_and_close_stops_listening(echoes, proxy):
    target = echoes[0].target
    port = proxy.open("lb", RoundRobin([target]))
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"hi")
    assert sock.recv(100) == b"a:hi"
    assert proxy.active_connections(target) == 1
    sock.close()
    deadline = time.monotonic() + 5
    while proxy.active_connections(target) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.active_connections(target) == 0

    proxy.close("lb")
    time.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
