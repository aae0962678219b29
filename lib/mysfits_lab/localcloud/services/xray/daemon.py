"""The X-Ray daemon, as the SDKs find it at ``AWS_XRAY_DAEMON_ADDRESS``: one loopback port,
UDP for segment documents and TCP (the same port number) for X-Ray API calls.

* UDP: each datagram is a JSON header line ``{"format": "json", "version": 1}``, a newline
  and one segment or subsegment document, at most 64 KB (the daemon's receive buffer). A
  datagram without the header, or with another format or version, is dropped unread; its
  document is then handled as PutTraceSegments handles one.
* TCP: an HTTP proxy that signs what it receives and forwards it to X-Ray — here the edge. The
  SDKs send their sampling calls (``POST /GetSamplingRules``, ``POST /SamplingTargets``)
  unsigned to it.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.wrappers import Request, Response

from ...constants import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, LOOPBACK
from ...core.http_server import LoopbackServer
from .documents import MAX_DOCUMENT, BadDatagram, parse_datagram

log = logging.getLogger("mysfits_lab.localcloud.xray")

MAX_PROXY_BODY = 1024 * 1024  # sampling calls are a few KB; PutTraceSegments batches more
RECEIVE_BUFFER = 1024 * 1024  # room for a burst of datagrams while one is stored
POLL = 0.2  # seconds between looks at the stop flag
# Headers of X-Ray's answer worth passing back to the SDK.
ANSWER_HEADERS = ("Content-Type", "x-amzn-RequestId", "x-amzn-ErrorType")


class Daemon:
    def __init__(self, deliver: Callable[[str], bool], edge_url: str, region: str):
        """``deliver(document)`` stores one document and says whether it was accepted."""
        self._deliver = deliver
        self._edge_url = edge_url
        self._region = region
        self._udp: socket.socket | None = None
        self._server: LoopbackServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.port: int | None = None
        self.received = 0
        self.rejected = 0

    @property
    def address(self) -> str | None:
        return f"{LOOPBACK}:{self.port}" if self.port else None

    def start(self) -> None:
        self._udp, self._server = _bind_pair(self._proxy)
        self.port = self._udp.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._receive, name="xray-daemon-udp", daemon=True),
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": POLL},
                name="xray-daemon-tcp",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        log.info("X-Ray daemon on %s (udp and tcp)", self.address)

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._udp is not None:
            self._udp.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    # -- udp ------------------------------------------------------------------------------
    def _receive(self) -> None:
        assert self._udp is not None
        while not self._stopping.is_set():
            try:
                data = self._udp.recv(MAX_DOCUMENT + 1)
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            self.handle(data)

    def handle(self, data: bytes) -> bool:
        """One datagram: parsed, delivered; whether its document was stored."""
        self.received += 1
        try:
            accepted = self._deliver(parse_datagram(data))
        except BadDatagram as exc:
            log.warning("X-Ray daemon dropped a datagram: %s", exc)
            accepted = False
        except Exception:  # a datagram must never stop the daemon
            log.exception("X-Ray daemon failed on a datagram")
            accepted = False
        if not accepted:
            self.rejected += 1
        return accepted

    # -- tcp ------------------------------------------------------------------------------
    def _proxy(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        body = request.stream.read(MAX_PROXY_BODY + 1)
        if len(body) > MAX_PROXY_BODY:
            response = Response("request body too large\n", 413)
        else:
            response = self._forward(request, body)
        return response(environ, start_response)

    def _forward(self, request: Request, body: bytes) -> Response:
        url = self._edge_url + request.path
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        signed = AWSRequest(method=request.method, url=url, data=body, headers=headers)
        credentials = Credentials(DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY)
        SigV4Auth(credentials, "xray", self._region).add_auth(signed)
        try:
            answer = requests.request(
                request.method, url, data=body, headers=dict(signed.headers.items()), timeout=30
            )
        except requests.RequestException as exc:
            return Response(f"X-Ray is not reachable: {exc}\n", 502)
        response = Response(answer.content, answer.status_code)
        for name in ANSWER_HEADERS:
            if name in answer.headers:
                response.headers[name] = answer.headers[name]
        return response


def _bind_pair(app: Callable, attempts: int = 20) -> tuple[socket.socket, LoopbackServer]:
    """A UDP socket and an HTTP server of ``app`` on the same free loopback port number."""
    last: OSError | None = None
    for _ in range(attempts):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind((LOOPBACK, 0))
            server = LoopbackServer(app, LOOPBACK, udp.getsockname()[1])
        except OSError as exc:  # the TCP port of that number is taken: try another
            udp.close()
            last = exc
            continue
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        udp.settimeout(POLL)
        return udp, server
    raise OSError(f"no loopback port free for both UDP and TCP: {last}")
