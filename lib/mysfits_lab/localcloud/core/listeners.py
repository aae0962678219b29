"""Extra loopback ports the local cloud serves: website endpoints, API stages, load balancers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("mysfits_lab.localcloud.listeners")


class LoopbackHandler(WSGIRequestHandler):
    """werkzeug sends an answer's headers and body in separate writes; with Nagle's algorithm
    the body then waits, now and then, for the client's delayed ACK of the headers (up to
    40 ms on Linux). Every HTTP server of the local cloud uses this handler."""

    disable_nagle_algorithm = True


class _QuietHandler(LoopbackHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, self.path, code)


class ListenerPool:
    """Named WSGI servers on 127.0.0.1, each on its own port (a distinct browser origin)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._servers: dict[str, BaseWSGIServer] = {}
        self._lock = threading.Lock()

    def serve(self, name: str, app: Callable, port: int = 0) -> int:
        """Start serving ``app`` (idempotent per name); returns the port."""
        with self._lock:
            if name in self._servers:
                return self._servers[name].server_port
            server = make_server(self.host, port, app, threaded=True, request_handler=_QuietHandler)
            threading.Thread(
                target=server.serve_forever, name=f"listener-{name}", daemon=True
            ).start()
            self._servers[name] = server
            log.info("listening for %s on %s:%s", name, self.host, server.server_port)
            return server.server_port

    def port(self, name: str) -> int | None:
        server = self._servers.get(name)
        return server.server_port if server else None

    def stop(self, name: str) -> None:
        with self._lock:
            server = self._servers.pop(name, None)
        if server:
            server.shutdown()
            server.server_close()

    def stop_all(self) -> None:
        for name in list(self._servers):
            self.stop(name)
