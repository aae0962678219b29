"""HTTP to backends: one pool of keep-alive connections per backend (urllib3), no retries but
one on a pooled connection the backend had already closed, and API Gateway's answers to what
goes wrong: a refused connection is a 500 "Internal server error", the integration timeout a
504 "Endpoint request timed out", a connection broken mid-answer a 504 "Network error
communicating with endpoint".
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from ..answers import GatewayError

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

SMALL_BODY = 64 * 1024  # read at once below this; streamed above
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    scheme: str = "http"


class Unreachable(GatewayError):
    """The backend refused the connection (the caller may look the target up again)."""

    def __init__(self, why: str):
        super().__init__("API_CONFIGURATION_ERROR", why)


@dataclass
class BackendResponse:
    status: int
    headers: list[tuple[str, str]]
    chunks: Iterator[bytes] | list[bytes]
    release: Callable[[], None]  # releases the connection once the body is done


class HttpClient:
    def __init__(self, connections_per_backend: int = 64):
        self._pools = urllib3.PoolManager(
            num_pools=64, maxsize=connections_per_backend, block=False, retries=False
        )

    def close(self) -> None:
        """Close every kept-alive backend connection."""
        self._pools.clear()

    def send(
        self,
        target: Target,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout_s: float,
    ) -> BackendResponse:
        pool = self._pools.connection_from_host(target.host, target.port, scheme=target.scheme)
        for attempt in (1, 2):
            try:
                response = pool.urlopen(
                    method,
                    path,
                    body=body or None,
                    headers=urllib3.HTTPHeaderDict(headers),
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=urllib3.Timeout(total=timeout_s),
                    preload_content=False,
                    decode_content=False,
                )
                break
            except NewConnectionError as exc:
                raise Unreachable(f"{target.host}:{target.port}: {exc}") from None
            except (ConnectTimeoutError, ReadTimeoutError) as exc:
                raise GatewayError("INTEGRATION_TIMEOUT", str(exc)) from None
            except ProtocolError as exc:
                # A kept-alive connection the backend closed meanwhile: once more, afresh.
                causes = [*exc.args, exc.__context__]
                closed = any(isinstance(c, http.client.RemoteDisconnected) for c in causes)
                if attempt == 1 and closed:
                    continue
                raise GatewayError("INTEGRATION_FAILURE", str(exc)) from None
            except HTTPError as exc:
                raise GatewayError("INTEGRATION_FAILURE", str(exc)) from None
        return _backend_response(response)


def _backend_response(response: urllib3.BaseHTTPResponse) -> BackendResponse:
    headers = list(response.headers.iteritems())
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) <= SMALL_BODY:
        try:
            data = response.read()
        except (ReadTimeoutError, ProtocolError, HTTPError) as exc:
            response.close()
            raise GatewayError("INTEGRATION_FAILURE", str(exc)) from None
        response.release_conn()
        return BackendResponse(response.status, headers, [data] if data else [], lambda: None)
    done = [False]

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.stream(CHUNK, decode_content=False)
            done[0] = True
        except (ReadTimeoutError, ProtocolError, HTTPError) as exc:
            log.warning("backend answer broken off: %s", exc)

    def release() -> None:
        if not done[0]:
            response.close()  # unread data: the connection cannot be reused
        response.release_conn()

    return BackendResponse(response.status, headers, chunks(), release)
