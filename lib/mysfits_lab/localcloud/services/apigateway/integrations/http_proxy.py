"""``HTTP_PROXY``: the request goes to the backend as it came — method (the integration's,
unless ``ANY``), the URI with its path parameters filled, the query string, the headers but
hop-by-hop ones (``Host`` is the URI's), the body — and the backend's answer comes back as it
is, streamed, with the headers API Gateway renames (``Server`` becomes
``x-amzn-Remapped-Server``, ...). API Gateway's ``X-Amzn-Trace-Id`` replaces the caller's; on a
stage with ``tracingEnabled`` the call is a ``remote`` subsegment named for the backend's host.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from ..answers import Answer, ClosingBody
from ..tracing import HEADER as TRACE_HEADER
from ..tracing import downstream
from .base import Backends, Invocation
from .parameters import fill_uri, mapped
from .transport import BackendResponse, Unreachable

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}
# Backend headers API Gateway does not pass under their own name.
REMAPPED = frozenset({"authorization", "connection", "date", "server", "www-authenticate"})


def invoke(invocation: Invocation, backends: Backends) -> Answer:
    integration = invocation.integration
    uri = fill_uri(integration.uri or "", invocation)
    parts = urlsplit(uri)
    method = integration.http_method or "ANY"
    if method == "ANY":
        method = invocation.http_method
    extra = urlencode(mapped(invocation, "querystring"))
    query = "&".join(q for q in (parts.query, invocation.query_string, extra) if q)
    target_path = (parts.path or "/") + (f"?{query}" if query else "")
    timeout = integration.timeout_ms / 1000
    target = backends.endpoints.resolve(invocation.region, integration, uri)
    body = invocation.body
    sent_to = {"url": f"{parts.scheme}://{parts.netloc}{target_path}", "method": method}
    traced = downstream(invocation.trace, invocation.trace_id, parts.netloc, "remote", sent_to)
    with traced as call:
        headers = with_trace_header(request_headers(invocation), call.header)
        headers.append(("Host", parts.netloc))
        try:
            response = backends.http.send(target, method, target_path, headers, body, timeout)
        except Unreachable:
            # The listener may have moved (a load balancer re-created): look it up again, once.
            backends.endpoints.forget()
            retry = backends.endpoints.resolve(invocation.region, integration, uri)
            if retry == target:
                raise
            response = backends.http.send(retry, method, target_path, headers, body, timeout)
        call.answered(response.status, _length(response))
    return proxied(response)


def with_trace_header(headers: list[tuple[str, str]], trace: str) -> list[tuple[str, str]]:
    """``headers`` with API Gateway's X-Amzn-Trace-Id instead of any the caller sent."""
    kept = [(n, v) for n, v in headers if n.lower() != TRACE_HEADER.lower()]
    return kept + [(TRACE_HEADER, trace)] if trace else kept


def _length(response: BackendResponse) -> int | None:
    declared = next((v for n, v in response.headers if n.lower() == "content-length"), "")
    return int(declared) if declared.isdigit() else None


def request_headers(invocation: Invocation) -> list[tuple[str, str]]:
    listed = {
        token.strip().lower()
        for name, value in invocation.headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    headers = [
        (name, value)
        for name, value in invocation.headers
        if name.lower() not in NOT_FORWARDED and name.lower() not in listed
    ]
    mapped_names = {name.lower() for name, _ in mapped(invocation, "header")}
    headers = [(n, v) for n, v in headers if n.lower() not in mapped_names]
    headers += mapped(invocation, "header")
    forwarded = invocation.header("x-forwarded-for")
    client = f"{forwarded}, {invocation.source_ip}" if forwarded else invocation.source_ip
    replaced = ("x-forwarded-for", "x-forwarded-proto")
    headers = [(n, v) for n, v in headers if n.lower() not in replaced]
    headers += [("X-Forwarded-For", client), ("X-Forwarded-Proto", "http")]
    return headers


def proxied(response: BackendResponse) -> Answer:
    headers = []
    for name, value in response.headers:
        lower = name.lower()
        if lower in REMAPPED:
            headers.append((f"x-amzn-Remapped-{name}", value))
        elif lower not in HOP_BY_HOP:
            headers.append((name, value))
    if isinstance(response.chunks, list):
        return Answer(response.status, headers, response.chunks)
    return Answer(response.status, headers, ClosingBody(response.chunks, response.release))
