"""Which browser pages may call the edge: only the local cloud's own origins (its websites and,
next, its API stages), and only through a loopback host name.

The edge runs next to the learner's browser. A page from anywhere else must not be able to drive
it — not even with a "simple" request that needs no preflight — so a request that carries a
foreign ``Origin`` is refused before it reaches a provider or moto, and a ``Host`` that is not a
loopback name (DNS rebinding) is refused too.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from .request import AwsRequest

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH"
# What the AWS SDKs (and the site's Cognito calls) send.
ALLOWED_HEADERS = (
    "authorization, content-type, content-md5, x-amz-target, x-amz-date, x-amz-user-agent, "
    "x-amz-content-sha256, x-amz-security-token, amz-sdk-invocation-id, amz-sdk-request, "
    "cache-control, x-amz-acl"
)
EXPOSED_HEADERS = "x-amzn-requestid, x-amzn-errortype, x-amz-request-id, etag, x-amz-version-id"
PREFLIGHT_MAX_AGE = "600"


def loopback_host(host_header: str | None) -> bool:
    """Whether a ``Host`` header names this machine (``127.0.0.1:4577``, ``[::1]``, ...)."""
    if not host_header:
        return True  # HTTP/1.0 clients; nothing to rebind
    host = urlsplit(f"//{host_header}").hostname or ""
    return host in LOOPBACK_HOSTS or host.endswith(".localhost")


class CorsPolicy:
    def __init__(self) -> None:
        self._origins: set[str] = set()
        self._lock = threading.Lock()

    def allow_port(self, port: int) -> None:
        """Trust pages served by the local cloud on ``port`` (a website or an API stage)."""
        with self._lock:
            self._origins |= {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}

    def revoke_port(self, port: int) -> None:
        with self._lock:
            self._origins -= {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}

    def allows(self, origin: str) -> bool:
        with self._lock:
            return origin in self._origins

    def foreign(self, req: AwsRequest) -> bool:
        """A browser request from a page the local cloud did not serve."""
        origin = req.origin
        return origin is not None and not self.allows(origin)

    @staticmethod
    def is_preflight(req: AwsRequest) -> bool:
        return req.method == "OPTIONS" and "access-control-request-method" in req.headers

    def decorate(self, req: AwsRequest, response: Response) -> None:
        """Replace whatever CORS headers an answer carries (moto grants every origin) with
        ours: a grant for a trusted origin, nothing for anyone else."""
        stale = [k for k, _ in response.headers.items() if k.lower().startswith("access-control-")]
        for name in stale:
            del response.headers[name]
        origin = req.origin
        if origin and self.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            response.vary.add("Origin")
            if self.is_preflight(req):
                response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
