"""The HTTP/1.1 server behind every port of the local cloud: the edge, website endpoints, API
stages, load balancer listeners, the X-Ray daemon's TCP side.

werkzeug's development server closes every connection after one answer (it cannot tell whether
an application left part of a body unread), so each SDK call paid for a new connection and a new
thread. Here a connection stays open when the request's body was read to its end (or a small
rest of it can be read away), and is closed otherwise; an idle connection is closed after
``IDLE_TIMEOUT`` seconds, and past ``MAX_KEPT_ALIVE`` open connections answers close theirs, so
the threads a client can hold are bounded. A closed server ends its kept-alive connections: a
deleted stage or website stops answering at once. One thread per connection.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.serving import DechunkedInput

from ..constants import LOOPBACK

log = logging.getLogger("mysfits_lab.localcloud.http")

IDLE_TIMEOUT = 60.0
DRAIN_LIMIT = 64 * 1024  # an unread rest of a body up to this size is read away to keep alive
DRAIN_WAIT = 1.0  # seconds a client gets to send that rest after its answer
MAX_KEPT_ALIVE = 128  # open connections past this many are closed after their answer
# After an answer that leaves a body unread (a 413), the rest is read away for a while before
# the connection closes: closing a socket with unread data resets it, and the client would see
# the reset instead of the answer.
LINGER_SECONDS = 2.0
SERVER_NAME = "LocalCloud"
_NO_BODY_STATUSES = {204, 304}
_INTERNAL_ERROR = b"Internal Server Error\n"

App = Callable[..., Iterable[bytes]]


class LoopbackServer(socketserver.ThreadingTCPServer):
    """Serves the WSGI ``app`` on ``host:port`` (0: a free port). ``raw_target``: the request
    target as the client sent it (Python's parser folds a leading ``//`` into ``/``)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of new connections is queued, not refused

    def __init__(self, app: App, host: str = LOOPBACK, port: int = 0, *, raw_target: bool = False):
        self.app = app
        self.raw_target = raw_target
        self.closing = False
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def server_port(self) -> int:
        return self.server_address[1]

    def opened(self, connection: socket.socket) -> bool:
        """Count a new connection; whether it may be kept alive."""
        with self._lock:
            self._connections.add(connection)
            return len(self._connections) <= MAX_KEPT_ALIVE

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def server_close(self) -> None:
        """Stop listening, and end the open connections: an idle one at once, a busy one
        after its answer."""
        self.closing = True
        super().server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)


class _Body(io.RawIOBase):
    """A request body of a declared length, read from the connection: the end of the body is
    the end of the stream (never a read into the next request)."""

    def __init__(self, stream: Any, length: int):
        self._stream = stream
        self.remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: self.remaining]
        count = self._stream.readinto(view) or 0
        self.remaining = self.remaining - count if count else -1  # -1: cut short
        return count

    @property
    def complete(self) -> bool:
        return self.remaining == 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # a malformed request line still gets a status line
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = IDLE_TIMEOUT
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self._may_keep = self.server.opened(self.connection)
        self._unread_body = False

    def finish(self) -> None:
        try:
            super().finish()
            if self._unread_body:
                self._linger()
        finally:
            self.server.closed(self.connection)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        words = self.requestline.split()
        if self.server.raw_target and len(words) == 3:  # METHOD target HTTP/x.y
            self.path = words[1]
        return True

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # idle timeout, reset by the client, server closed
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():  # answered with 400 / 431 / 505 already
            return
        try:
            self._run_wsgi()
        except OSError:  # the client went away mid-answer
            self.close_connection = True

    # -- the request ------------------------------------------------------------------------
    def _body(self) -> tuple[Any, Callable[[], bool] | None]:
        """The body stream, and whether it has been read to its end (None: its framing is
        doubtful, so the connection cannot carry another request)."""
        encoding = self.headers.get("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if encoding is not None:
            if "chunked" not in encoding.lower():
                return _Body(self.rfile, 0), None
            chunked = DechunkedInput(self.rfile)
            # Both framings at once: the chunked one is read, and nothing after it trusted.
            return chunked, None if lengths else (lambda: chunked._done)
        texts = {text.strip() for text in lengths}
        if len(texts) > 1:
            return _Body(self.rfile, 0), None
        text = texts.pop() if texts else "0"
        if not (text.isascii() and text.isdigit()):
            return _Body(self.rfile, 0), None
        body = _Body(self.rfile, int(text))
        return body, lambda: body.complete

    def _environ(self, body: Any) -> dict[str, Any]:
        target = self.path
        authority = ""
        if target.startswith("/") or target == "*":  # origin form: no authority in it
            path, _, query = target.partition("?")
        else:  # absolute form: its authority is the host
            parts = urlsplit(target)
            path, query, authority = parts.path, parts.query, parts.netloc
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            # WSGI: the decoded path's bytes as latin-1 characters.
            "PATH_INFO": unquote(path, "latin-1") or "/",
            "QUERY_STRING": query,
            "RAW_URI": target,
            "REQUEST_URI": target,
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": isinstance(body, DechunkedInput),
        }
        for name, value in self.headers.items():
            if "_" in name:  # X_Forwarded could otherwise pose as X-Forwarded in the environ
                continue
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
                continue
            key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if authority:
            environ["HTTP_HOST"] = authority
        return environ

    def _run_wsgi(self) -> None:
        body, read_whole = self._body()
        environ = self._environ(body)
        answer: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            if exc_info is not None and answer.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            answer.update(status=status, headers=headers)
            return written.append  # WSGI's legacy write(): sent before the iterable

        try:
            result = self.server.app(environ, start_response)
        except Exception:
            log.exception("error answering %s %s", self.command, self.path)
            self._send_internal_error()
            return
        try:
            self._answer(answer, written, result, body, read_whole)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _answer(
        self,
        answer: dict[str, Any],
        written: list[bytes],
        result: Iterable[bytes],
        body: Any,
        read_whole: Callable[[], bool] | None,
    ) -> None:
        chunks = iter(result)
        try:  # the first piece before the head: an error until then is still a 500
            first = next(chunks, b"")
        except Exception:
            log.exception("error answering %s %s", self.command, self.path)
            self._send_internal_error()
            return
        if "status" not in answer:
            log.error("%s %s: the application did not start a response", self.command, self.path)
            self._send_internal_error()
            return
        small_rest = read_whole is not None and (
            read_whole() or (isinstance(body, _Body) and 0 < body.remaining <= DRAIN_LIMIT)
        )
        app_closes = any(
            name.lower() == "connection" and value.lower() == "close"
            for name, value in answer["headers"]
        )
        keep = (
            small_rest
            and not app_closes
            and self._may_keep
            and not self.close_connection
            and not self.server.closing
        )
        answer["sent"] = True
        chunked, bodiless = self._send_head(answer["status"], answer["headers"], keep)
        try:
            for data in [*written, first]:
                self._write(data, chunked, bodiless)
            for data in chunks:
                self._write(data, chunked, bodiless)
        except OSError:  # the client went away: handled as any lost connection
            raise
        except Exception:  # too late for a 500: the head is out; the client sees a cut answer
            log.exception("error answering %s %s", self.command, self.path)
            self.close_connection = True
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        if read_whole is not None and read_whole():
            return
        if not self.close_connection and self._drain(body):
            return
        self.close_connection = True  # what is left of the body is no next request
        self._unread_body = True

    def _send_head(self, status: str, headers: list, keep: bool) -> tuple[bool, bool]:
        """Status line and headers; whether the body goes chunked, and whether the answer has
        no body at all."""
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.log_request(code)
        self.send_response_only(code, reason)
        names = set()
        for name, value in headers:
            lower = name.lower()
            if lower == "connection":  # sent below, as the server decides
                continue
            self.send_header(name, value)
            names.add(lower)
        if "server" not in names:
            self.send_header("Server", SERVER_NAME)
        if "date" not in names:
            self.send_header("Date", formatdate(usegmt=True))
        bodiless = self.command == "HEAD" or code < 200 or code in _NO_BODY_STATUSES
        chunked = "content-length" not in names and not bodiless
        if chunked and self.request_version < "HTTP/1.1":
            chunked, keep = False, False  # an HTTP/1.0 client: the end of the body is the end
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if not keep:
            self.send_header("Connection", "close")  # sets close_connection
        elif self.request_version < "HTTP/1.1":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        return chunked, bodiless

    def _write(self, data: bytes, chunked: bool, bodiless: bool) -> None:
        if not data or bodiless:
            return
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def _send_internal_error(self) -> None:
        self.close_connection = True
        self._unread_body = True
        self.send_response_only(500, "Internal Server Error")
        self.send_header("Server", SERVER_NAME)
        self.send_header("Date", formatdate(usegmt=True))
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(_INTERNAL_ERROR)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(_INTERNAL_ERROR)

    # -- the rest of a body ------------------------------------------------------------------
    def _drain(self, body: Any) -> bool:
        """Read away a small unread rest of ``body``; whether it is now read to its end."""
        if not isinstance(body, _Body) or body.remaining > DRAIN_LIMIT:
            return False
        try:
            self.connection.settimeout(DRAIN_WAIT)
            while body.read(DRAIN_LIMIT):
                pass
            self.connection.settimeout(self.timeout)
        except (OSError, ValueError):
            return False
        return body.complete

    def _linger(self) -> None:
        """Read and drop what the client still sends, for a while, before the socket closes."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(1 << 16):
                    break

    # -- logging ----------------------------------------------------------------------------
    def version_string(self) -> str:
        return SERVER_NAME

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", getattr(self, "command", "-"), getattr(self, "path", "-"), code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        log.debug(format, *args)


def serve_in_background(server: LoopbackServer, name: str, poll_interval: float = 0.5) -> None:
    """Run ``server`` on a daemon thread of its own."""
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
    ).start()
