"""A small threaded HTTP/1.1 server for a stage's WSGI application, with keep-alive.

werkzeug's development server closes every connection after one answer (it cannot tell whether
an application left part of a body unread); a stage is called like an API — many small
requests from the same clients — so here a connection stays open when the application has read
the request body to its end, and closes otherwise. One thread per connection; an idle
connection is closed after ``IDLE_TIMEOUT`` seconds.
"""

from __future__ import annotations

import logging
import socketserver
import sys
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

IDLE_TIMEOUT = 60.0
DRAIN_LIMIT = 64 * 1024  # a body left unread up to this size is read away to keep alive
_NO_BODY_STATUSES = {204, 304}


class StageServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of new connections is queued, not refused

    def __init__(self, host: str, app: Callable[..., Iterable[bytes]]):
        self.app = app
        super().__init__((host, 0), _Handler)

    @property
    def server_port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # a malformed request line still gets a status line
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = IDLE_TIMEOUT
    server: StageServer

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # idle timeout, reset by the client
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():  # answered with 400 / 505 already
            return
        try:
            self._run_wsgi()
        except OSError:  # the client went away mid-answer
            self.close_connection = True

    def _environ(self, body: Any) -> dict[str, Any]:
        target = self.path
        parts = urlsplit(target)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(parts.path, "latin-1") or "/",
            "QUERY_STRING": parts.query,
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
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
                continue
            key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if parts.scheme and parts.netloc:  # absolute-form target: its authority is the host
            environ["HTTP_HOST"] = parts.netloc
        return environ

    def _body(self) -> tuple[Any, Callable[[], bool]]:
        """The request body stream, and whether it has been read to its end."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunked = DechunkedInput(self.rfile)
            return chunked, lambda: chunked._done
        text = self.headers.get("Content-Length", "0").strip() or "0"
        length = int(text) if text.isdigit() else 0
        limited = LimitedStream(self.rfile, length)
        return limited, lambda: limited.is_exhausted

    def _run_wsgi(self) -> None:
        body, read_whole = self._body()
        environ = self._environ(body)
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> None:
            answer.update(status=status, headers=headers)

        result = self.server.app(environ, start_response)
        try:
            headers = answer["headers"]
            closing = any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)
            if not closing and not read_whole() and not _drained(body):
                # what is left of the body is no next request: say so, and close
                headers = [*headers, ("Connection", "close")]
            self._send(answer["status"], headers, result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _send(self, status: str, headers: list, result: Iterable[bytes]) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        names = set()
        for name, value in headers:
            self.send_header(name, value)
            names.add(name.lower())
        bodiless = self.command == "HEAD" or int(code) in _NO_BODY_STATUSES
        chunked = (
            "content-length" not in names and not bodiless and self.request_version >= "HTTP/1.1"
        )
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in names and not bodiless:
            self.close_connection = True  # an HTTP/1.0 client: the end of the body is the end
        self.end_headers()
        for data in result:
            if not data or bodiless:
                continue
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def version_string(self) -> str:
        return "LocalCloud"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", getattr(self, "command", "-"), getattr(self, "path", "-"), code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        log.debug(format, *args)


def _drained(body: Any) -> bool:
    """Read a small unread rest of the body away; whether the body is now read to its end."""
    try:
        rest = body.read(DRAIN_LIMIT + 1)
    except (OSError, ValueError):
        return False
    return len(rest) <= DRAIN_LIMIT and not body.read(1)
