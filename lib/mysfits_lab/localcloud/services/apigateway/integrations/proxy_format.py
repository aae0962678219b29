"""The Lambda proxy contract of REST APIs (payload format 1.0): the event a function gets and
the answer it must give.

Event: ``resource``, ``path``, ``httpMethod``, ``headers`` / ``multiValueHeaders`` (a repeated
header's last value / all of them; ``X-Forwarded-For``, ``-Port``, ``-Proto`` and
``X-Amzn-Trace-Id`` added as API Gateway adds them), ``queryStringParameters`` /
``multiValueQueryStringParameters``, ``pathParameters``, ``stageVariables`` (each ``null`` when
empty), ``requestContext`` (``variables.context_of``; ``authorizer.claims`` after a Cognito
authorizer), ``body`` (``null`` when empty) and ``isBase64Encoded`` (true when the Content-Type
is one of the API's binary media types, or the body is not UTF-8 text).

Answer: a JSON object with at most ``statusCode`` (number or numeric string; 200 when absent),
``headers`` (string or boolean values), ``multiValueHeaders`` (lists of them; they win over
``headers`` of the same name), ``body`` (a string or null) and ``isBase64Encoded`` (the body is
decoded when the request's first Accept type is a binary media type). Anything else — not
JSON, another member, a body that is not a string — is a "Malformed Lambda proxy response":
502 ``{"message": "Internal server error"}``, as API Gateway answers it.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from ..answers import Answer, GatewayError
from .base import Request
from .variables import context_of

ANSWER_MEMBERS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_NOT_PASSED = frozenset({"content-length", "connection", "transfer-encoding", "expect"})
_ANSWER_DROPPED = frozenset({"content-length", "connection", "transfer-encoding"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class Malformed(GatewayError):
    """A function's answer that is not a proxy response."""

    def __init__(self, why: str):
        super().__init__(
            "DEFAULT_5XX", f"Malformed Lambda proxy response: {why}", "Internal server error", 502
        )


def is_binary(content_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    if not content_type:
        return False
    wanted = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(wanted, kind.strip().lower()) for kind in binary_media_types)


def event(request: Request) -> dict[str, Any]:
    """The event of a request (its ``body`` and what routing and authorizing found)."""
    pairs = [(n, v) for n, v in request.headers if n.lower() not in _NOT_PASSED]
    pairs = [(n, v) for n, v in pairs if n.lower() not in ("x-forwarded-proto", "x-amzn-trace-id")]
    forwarded = [v for n, v in pairs if n.lower() == "x-forwarded-for"]
    pairs = [(n, v) for n, v in pairs if n.lower() not in ("x-forwarded-for", "x-forwarded-port")]
    client = ", ".join([*forwarded, request.source_ip])
    port = str(_port(request.host))
    pairs += [
        ("X-Amzn-Trace-Id", request.trace_id),
        ("X-Forwarded-For", client),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", "http"),
    ]
    multi_headers: dict[str, list[str]] = {}
    for name, value in pairs:
        multi_headers.setdefault(name, []).append(value)
    body, encoded = _body(request)
    query = request.query
    return {
        "resource": request.resource_path,
        "path": unquote(request.path),
        "httpMethod": request.http_method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": dict(query) or None,
        "pathParameters": dict(request.path_parameters) or None,
        "stageVariables": dict(request.stage_variables) or None,
        "requestContext": context_of(request),
        "body": body,
        "isBase64Encoded": encoded,
    }


def _port(host: str) -> int:
    try:
        return urlsplit(f"//{host}").port or 80
    except ValueError:
        return 80


def _body(request: Request) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if not is_binary(request.content_type, request.binary_media_types):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not text: as API Gateway passes binary
    return base64.b64encode(request.body).decode("ascii"), True


def answer(payload: bytes, request: Request) -> Answer:
    """The method response a function's answer makes; ``Malformed`` if it is none."""
    try:
        data = json.loads(payload or b"null")
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(data, dict):
        raise Malformed(f"a JSON {type(data).__name__}, not an object")
    extra = set(data) - ANSWER_MEMBERS
    if extra:
        raise Malformed(f"unexpected members {sorted(extra)}")
    status = _status(data.get("statusCode"))
    headers = _headers(data.get("headers"), data.get("multiValueHeaders"))
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        raise Malformed("body is not a string")
    encoded = data.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise Malformed("isBase64Encoded is not a boolean")
    content = (body or "").encode()
    accept = (request.header("accept") or "").split(",", 1)[0]
    if encoded and body and is_binary(accept, request.binary_media_types):
        try:
            content = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("isBase64Encoded but the body is not base64") from None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(len(content))))
    return Answer(status, headers, [content] if content else [])


def _status(value: Any) -> int:
    if value is None:
        return 200
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Malformed(f"statusCode {value!r}")
    try:
        status = int(value)
    except ValueError:
        raise Malformed(f"statusCode {value!r}") from None
    if not 100 <= status <= 599:
        raise Malformed(f"statusCode {status}")
    return status


def _text(value: Any, name: str) -> str:
    if not _TOKEN.match(str(name)):
        raise Malformed(f"header name {name!r}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise Malformed(f"header {name!r} is not a one-line string")
    return value


def _headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    if single is not None and not isinstance(single, dict):
        raise Malformed("headers is not an object")
    if multi is not None and not isinstance(multi, dict):
        raise Malformed("multiValueHeaders is not an object")
    found: list[tuple[str, str]] = []
    for name, values in (multi or {}).items():
        if not isinstance(values, list):
            raise Malformed(f"multiValueHeaders {name!r} is not a list")
        found += [(str(name), _text(value, name)) for value in values]
    taken = {name.lower() for name, _ in found}
    found += [
        (str(name), _text(value, name))
        for name, value in (single or {}).items()
        if str(name).lower() not in taken
    ]
    return [(n, v) for n, v in found if n.lower() not in _ANSWER_DROPPED]
