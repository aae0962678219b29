"""A layer-4 proxy on loopback: what a network load balancer listener does with a connection.

Each listener is a TCP server on 127.0.0.1. For every accepted connection the proxy asks the
listener's ``choose`` callable for candidate targets (already in round-robin order, healthy only),
connects to the first one that accepts, and pipes bytes both ways, passing half-closes on, until
both directions are done. With no candidate — or none accepting — the client connection is reset,
as an NLB does when it has no healthy target.

**Passive health.** Like an NLB, the proxy also watches how targets answer, without changing
their reported health. A target that has owed an answer on one of its connections for longer
than ``UNANSWERED_AFTER`` (bytes went to it, none came back) is tried last for new connections,
until it answers again. That is a frozen or stalled process: the kernel still completes a TCP
connect to it (its listen backlog), so a connect timeout alone would not notice. Bytes already
sent to it are never replayed to another target — the process may still read and act on them
when it resumes (a POST would run twice) — so a request caught in a stall waits for the stall
to end; only later connections go around it.

All listeners share one asyncio loop on a daemon thread. The proxy counts open connections per
target so that the load balancer can finish draining a deregistered target as soon as it is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..constants import LOOPBACK

log = logging.getLogger("mysfits_lab.localcloud.tcp_proxy")

Target = tuple[str, int]
Chooser = Callable[[], list[Target]]

CONNECT_TIMEOUT = 2.0
# Far longer than a healthy target takes to start answering (milliseconds), short enough that
# few requests are caught by a stall. A slow answer mistaken for a stall costs little: the
# target only goes to the back of the line for new connections while it owes one.
UNANSWERED_AFTER = 0.5
_CHUNK = 64 * 1024


@dataclass(eq=False)
class _Link:
    """One proxied connection, as its target is concerned (touched on the loop thread only)."""

    target: Target
    owed_since: float | None = None  # monotonic time since which the target owes an answer


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN (SO_LINGER 0), the way an NLB refuses a connection."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    """Named loopback listeners forwarding to targets picked per connection."""

    def __init__(self, host: str = LOOPBACK):
        self.host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._thread.start()
        self._servers: dict[str, asyncio.Server] = {}
        self._handlers: set[asyncio.Task | None] = set()  # touched on the loop thread only
        self._links: dict[Target, set[_Link]] = {}  # open connections (and ones connecting)
        self._lock = threading.Lock()

    # -- listeners ----------------------------------------------------------------------
    def open(self, name: str, choose: Chooser, port: int = 0) -> int:
        """Start listening (idempotent per name); returns the local port."""
        existing = self._servers.get(name)
        if existing is not None:
            return existing.sockets[0].getsockname()[1]
        future = asyncio.run_coroutine_threadsafe(self._start(name, choose, port), self._loop)
        return future.result(timeout=5)

    async def _start(self, name: str, choose: Chooser, port: int) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # asyncio holds a connection's task only through its client socket: once the client
            # half-closed, a garbage collection would end the task (and drop the answer still
            # to come), so the proxy holds it until it is done.
            task = asyncio.current_task()
            self._handlers.add(task)
            try:
                # Cancelled only at shutdown: end quietly instead of logging each connection.
                with contextlib.suppress(asyncio.CancelledError):
                    await self._handle(reader, writer, choose)
            finally:
                self._handlers.discard(task)

        server = await asyncio.start_server(handle, self.host, port, reuse_address=True)
        self._servers[name] = server
        return server.sockets[0].getsockname()[1]

    def port(self, name: str) -> int | None:
        server = self._servers.get(name)
        return server.sockets[0].getsockname()[1] if server else None

    def close(self, name: str) -> None:
        """Stop accepting on the listener: the port is closed when this returns (a deleted
        listener refuses the next connection); connections already open are left to finish."""
        server = self._servers.pop(name, None)
        if server is not None:
            asyncio.run_coroutine_threadsafe(self._close(server), self._loop).result(timeout=5)

    @staticmethod
    async def _close(server: asyncio.Server) -> None:
        server.close()  # closes the listening sockets at once; wait_closed would await clients

    def shutdown(self) -> None:
        for name in list(self._servers):
            self.close(name)

        async def cancel_all() -> None:
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), self._loop).result(timeout=2)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)

    def active_connections(self, target: Target) -> int:
        with self._lock:
            return len(self._links.get(target, ()))

    def unanswered(self, target: Target, now: float) -> bool:
        """Whether ``target`` has owed an answer for longer than ``UNANSWERED_AFTER``."""
        with self._lock:
            links = list(self._links.get(target, ()))
        return any(
            link.owed_since is not None and now - link.owed_since > UNANSWERED_AFTER
            for link in links
        )

    def _add(self, target: Target) -> _Link:
        link = _Link(target)
        with self._lock:
            self._links.setdefault(target, set()).add(link)
        return link

    def _remove(self, link: _Link) -> None:
        with self._lock:
            links = self._links.get(link.target, set())
            links.discard(link)
            if not links:
                self._links.pop(link.target, None)

    # -- connections --------------------------------------------------------------------
    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, choose: Chooser
    ) -> None:
        upstream = await self._connect(choose)
        if upstream is None:
            _reset(writer)
            return
        link, up_reader, up_writer = upstream

        def sent() -> None:
            link.owed_since = link.owed_since or time.monotonic()

        def answered() -> None:
            link.owed_since = None

        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, writer, sent),
                self._pipe(up_reader, writer, up_writer, answered),
            )
        finally:
            for side in (writer, up_writer):
                side.close()
            self._remove(link)

    async def _connect(
        self, choose: Chooser
    ) -> tuple[_Link, asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            now = time.monotonic()
            # Stable: the round-robin order stays among the answering targets.
            candidates = sorted(choose(), key=lambda target: self.unanswered(target, now))
        except Exception:  # a listener without state must not kill the loop
            log.exception("choosing a target")
            return None
        for target in candidates:
            # Counted before connecting, so a drain cannot finish between choice and connect.
            link = self._add(target)
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*target), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError):
                # A target that died since its last health check (or whose backlog is full):
                # nothing was sent yet, so the next candidate can take the connection without
                # the client noticing.
                self._remove(link)
                continue
            return link, up_reader, up_writer
        return None

    @staticmethod
    async def _pipe(
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        source_writer: asyncio.StreamWriter,
        on_data: Callable[[], None],
    ) -> None:
        try:
            while True:
                data = await source.read(_CHUNK)
                if not data:
                    break
                on_data()
                sink.write(data)
                await sink.drain()
            # Pass the half-close on: the other direction may still have bytes to deliver.
            if sink.can_write_eof() and not sink.is_closing():
                sink.write_eof()
        except (ConnectionError, OSError):
            # One side reset: reset the other too rather than leaving it half-open.
            sink.transport.abort()
            source_writer.transport.abort()
