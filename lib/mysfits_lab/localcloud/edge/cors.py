"""Which browser pages may call the edge, and for what: only the local cloud's own origins (its
websites and, next, its API stages), only through a loopback host name, and only for the calls
a web page makes on AWS without credentials — Cognito user-pool sign-up and sign-in, and the
pool's JWKS.

The edge runs next to the learner's browser. A page from anywhere else must not be able to drive
it — not even with a "simple" request that needs no preflight — so a request that carries a
foreign ``Origin`` is refused before its body is read; a request a browser sent for some other
page without an ``Origin`` (an image, a script, a link: Fetch Metadata says ``Sec-Fetch-Site``
is not ``none``, or an older browser names the page in ``Referer``) is refused too; and a
``Host`` that is not a loopback name (DNS rebinding) is refused.

LocalStack's ``CorsEnforcer`` (``localstack/aws/handlers/cors.py``) has the same shape — refuse
a foreign ``Origin`` with 403, answer preflights, replace CORS headers on the way out — but
trusts a fixed list (its own web app, ``localhost`` on its gateway port, ``file://``, origins
from ``EXTRA_CORS_ALLOWED_ORIGINS``), lets any trusted page call any API, falls back to
``Referer`` only, and grants ``Allow-Credentials`` and Private Network Access. Here no page is
trusted until the cloud itself serves it on a port (``allow_port``); a trusted page still calls
only the unauthenticated Cognito operations, as a page can on AWS, so a compromised site cannot
run tasks or create stacks; requests without an ``Origin`` are checked with Fetch Metadata; and
no credentials or private-network grants are ever given.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from .catalog import Resolved, service_model
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
# Services a web page calls without AWS credentials, and the key set their tokens are checked
# against (GET /<pool id>/.well-known/jwks.json).
BROWSER_SERVICES = ("cognito-idp",)
JWKS_PATH = re.compile(r"^/[\w-]+_\w+/\.well-known/jwks\.json$")


def loopback_host(host_header: str | None) -> bool:
    """Whether a ``Host`` header names this machine (``127.0.0.1:4577``, ``[::1]``, ...)."""
    if not host_header:
        return True  # HTTP/1.0 clients; nothing to rebind
    host = urlsplit(f"//{host_header}").hostname or ""
    return host in LOOPBACK_HOSTS or host.endswith(".localhost")


@lru_cache(maxsize=1)
def browser_operations() -> frozenset[tuple[str, str]]:
    """(service, operation) a page may call: those botocore marks as sent without a signature
    (``"authtype": "none"`` / ``"auth": ["smithy.api#noAuth"]``) — SignUp, InitiateAuth,
    GetUser with an access token, ..."""
    found = set()
    for service in BROWSER_SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            spec = model.operation_model(name)
            if spec.auth_type == "none" or "smithy.api#noAuth" in (spec.auth or []):
                found.add((service, name))
    return frozenset(found)


def browser_may_call(resolved: Resolved, req: AwsRequest) -> bool:
    if (resolved.service, resolved.operation) in browser_operations():
        return True
    return (
        resolved.service in BROWSER_SERVICES
        and resolved.operation is None
        and req.method in ("GET", "HEAD")
        and bool(JWKS_PATH.match(req.path))
    )


def opens_link(req: AwsRequest) -> bool:
    """A browser tab opening a link — from an email in the outbox, a notebook's output — to
    one of the control routes made for it (``ControlRule.link``): a GET without ``Origin``
    whose Fetch Metadata, when sent, says a top-level navigation to a document. Images,
    scripts, frames and fetches are not; the page that held the link gets no CORS grant, so
    it cannot read the answer, and what such a link does needs a secret it carries (a
    subscription's token or ARN), as on AWS."""
    if req.method not in ("GET", "HEAD") or req.origin is not None:
        return False
    mode = req.headers.get("sec-fetch-mode", "navigate")
    dest = req.headers.get("sec-fetch-dest", "document")
    return mode == "navigate" and dest == "document"


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

    def refusal(self, req: AwsRequest, resolved: Resolved | None) -> str | None:
        """Why a browser may not send this request (None: it may, or it is not a browser's).
        ``resolved`` None: a control route, which no page may call."""
        origin = req.origin or req.referer_origin
        if origin is None:
            if req.headers.get("sec-fetch-site", "none") != "none":
                return "requests a browser sends on behalf of a page are not accepted here"
            return None  # SDKs, the CLI, curl — and the learner typing a URL
        if not self.allows(origin):
            return f"requests from pages at {origin} are not accepted by the local cloud"
        if resolved is None:
            return "the local cloud's control routes are not for web pages"
        if self.is_preflight(req) or browser_may_call(resolved, req):
            return None
        what = f"{resolved.service}:{resolved.operation or req.path}"
        return f"{what} cannot be called from a web page; only Cognito sign-up and sign-in can"

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
