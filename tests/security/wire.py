"""Raw HTTP for the security tests: requests built by botocore (so they are what an SDK sends),
changed on the wire, sent over a plain socket (so a bad Content-Length really goes out), and
the answers read back with botocore's own parser for the service's protocol."""

from __future__ import annotations

import datetime as dt
import http.client
import socket
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import boto3
from botocore import parsers
from botocore.config import Config
from botocore.model import OperationModel, Shape

from mysfits_lab.localcloud.constants import DEFAULT_REGION, DUMMY_CREDENTIALS


@dataclass(frozen=True)
class Wire:
    """One HTTP request, as bytes go on the wire."""

    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Sent instead of the real length when set (a lie, or text that is not a number).
    content_length: str | None = None
    # Stop writing after this many body bytes and half-close (a body cut short).
    cut_after: int | None = None

    def but(self, **changes: Any) -> Wire:
        return replace(self, **changes)

    def with_headers(self, **headers: str | None) -> Wire:
        merged = {k: v for k, v in self.headers.items() if k.lower() not in _lower(headers)}
        merged.update({k.replace("_", "-"): v for k, v in headers.items() if v is not None})
        return replace(self, headers=merged)


def _lower(headers: dict[str, Any]) -> set[str]:
    return {k.replace("_", "-").lower() for k in headers}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class _Captured(Exception):  # noqa: N818
    def __init__(self, request: Any):
        super().__init__("captured")
        self.request = request


@lru_cache(maxsize=64)
def client(service: str, edge_url: str) -> Any:
    """A boto3 client that sends whatever it is given (no parameter validation, no retries)."""
    return boto3.client(
        service,
        endpoint_url=edge_url,
        region_name=DEFAULT_REGION,
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )


def built(aws_client: Any, operation: str, params: dict[str, Any]) -> Wire:
    """What botocore sends for ``operation(**params)`` (signed), without sending it."""

    def capture(request: Any, **_: Any) -> None:
        raise _Captured(request)

    aws_client.meta.events.register_first("before-send", capture)
    try:
        aws_client._make_api_call(operation, params)
    except _Captured as captured:
        request = captured.request
    finally:
        aws_client.meta.events.unregister("before-send", capture)
    url = http.client.urlsplit(request.url)
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    headers = {
        k: (v.decode() if isinstance(v, bytes) else v)
        for k, v in request.headers.items()
        if k.lower() not in ("content-length", "transfer-encoding", "expect")
    }
    path = url.path + (f"?{url.query}" if url.query else "")
    return Wire(request.method, path or "/", headers, body)


def send(port: int, wire: Wire, timeout: float = 120.0) -> Answer:
    lines = [f"{wire.method} {wire.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in wire.headers.items() if k.lower() != "host"]
    length = wire.content_length if wire.content_length is not None else str(len(wire.body))
    lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        body = wire.body if wire.cut_after is None else wire.body[: wire.cut_after]
        sock.sendall(head + body)
        if wire.cut_after is not None:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock, method=wire.method)
        response.begin()
        data = response.read()
        return Answer(response.status, dict(response.getheaders()), data)


def parsed_error(model: OperationModel, answer: Answer) -> dict[str, Any]:
    """The answer as boto3 reads it: ``{"Code": ..., "Message": ...}`` for an error."""
    protocol = model.service_model.resolved_protocol
    result = parsers.create_parser(protocol).parse(
        {
            "status_code": answer.status,
            "headers": answer.headers,
            "body": answer.body,
        },
        model.output_shape,
    )
    return result.get("Error", {})


def sample(shape: Shape | None, depth: int = 0) -> Any:
    """A value of ``shape`` with only its required members, each the simplest valid one."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {n: sample(shape.members[n], depth + 1) for n in shape.required_members}
    if kind == "list":
        return [sample(shape.member, depth + 1) for _ in range(shape.metadata.get("min", 0))]
    if kind == "map":
        return {}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        return "a" * max(shape.metadata.get("min", 1), 3)
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if kind == "blob":
        return b"abc"
    return None
