"""Extra loopback ports the local cloud serves: website endpoints, API stages, load balancers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .http_server import LoopbackServer, serve_in_background

log = logging.getLogger("mysfits_lab.localcloud.listeners")


class ListenerPool:
    """Named WSGI servers on 127.0.0.1, each on its own port (a distinct browser origin)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._servers: dict[str, LoopbackServer] = {}
        self._lock = threading.Lock()

    def serve(self, name: str, app: Callable, port: int = 0) -> int:
        """Start serving ``app`` (idempotent per name); returns the port."""
        with self._lock:
            if name in self._servers:
                return self._servers[name].server_port
            server = LoopbackServer(app, self.host, port)
            serve_in_background(server, f"listener-{name}")
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
