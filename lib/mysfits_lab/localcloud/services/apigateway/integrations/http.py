"""``HTTP`` (non-proxy): the request sent is what the integration maps — only mapped headers and
query strings, the body as its request template makes it (passed through when no template is
for the request's content type, as ``passthroughBehavior`` allows) — and the answer is the
integration response selected by the backend's status, with mapped headers and templated body.
API Gateway's ``X-Amzn-Trace-Id`` goes along; on a stage with ``tracingEnabled`` the call is a
``remote`` subsegment named for the backend's host.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from ..answers import Answer, GatewayError
from ..tracing import downstream
from .base import Backends, Invocation
from .http_proxy import with_trace_header
from .parameters import fill_uri, mapped
from .selection import method_answer, select
from .templates import request_payload
from .transport import BackendResponse

MAX_RESPONSE = 10 * 1024 * 1024  # API Gateway's payload limit


def invoke(invocation: Invocation, backends: Backends) -> Answer:
    integration = invocation.integration
    uri = fill_uri(integration.uri or "", invocation)
    parts = urlsplit(uri)
    method = integration.http_method or "ANY"
    if method == "ANY":
        method = invocation.http_method
    query = "&".join(q for q in (parts.query, urlencode(mapped(invocation, "querystring"))) if q)
    target_path = (parts.path or "/") + (f"?{query}" if query else "")
    body, content_type = request_payload(invocation)
    headers = [("Host", parts.netloc), *mapped(invocation, "header")]
    if content_type and not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", content_type))
    target = backends.endpoints.resolve(invocation.region, integration, uri)
    sent_to = {"url": f"{parts.scheme}://{parts.netloc}{target_path}", "method": method}
    traced = downstream(invocation.trace, invocation.trace_id, parts.netloc, "remote", sent_to)
    with traced as call:
        response = backends.http.send(
            target,
            method,
            target_path,
            with_trace_header(headers, call.header),
            body,
            integration.timeout_ms / 1000,
        )
        data = _read(response)
        call.answered(response.status, len(data))
    backend_headers = {name.lower(): value for name, value in response.headers}
    chosen = select(integration, str(response.status))
    return method_answer(
        chosen, invocation, data, backend_headers, backend_headers.get("content-type")
    )


def _read(response: BackendResponse) -> bytes:
    pieces, total = [], 0
    try:
        for piece in response.chunks:
            total += len(piece)
            if total > MAX_RESPONSE:
                raise GatewayError("INTEGRATION_FAILURE", "backend answer over 10 MB")
            pieces.append(piece)
    finally:
        response.release()
    return b"".join(pieces)
