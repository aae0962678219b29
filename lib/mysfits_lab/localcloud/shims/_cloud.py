"""How the shims reach the running local cloud: JSON over HTTP, with the standard library's
``http.client`` (``urllib.request`` would load ssl, email and tempfile into every command)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from typing import Any, NoReturn

URL_VARIABLE = "MYSFITS_LOCALCLOUD_URL"


def die(message: str, code: int = 1) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def cloud_url() -> str:
    url = os.environ.get(URL_VARIABLE) or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        die(
            f"the local cloud's shims need {URL_VARIABLE} (the local cloud's edge URL); "
            "CodeBuild builds on the local cloud set it"
        )
    return url.rstrip("/")


def send(
    method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float
) -> tuple[int, bytes]:
    """(HTTP status, body) of one request; OSError when it cannot connect."""
    where = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
    connection = kind(where.hostname or "", where.port, timeout=timeout)
    target = (where.path or "/") + (f"?{where.query}" if where.query else "")
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except http.client.HTTPException as exc:
        raise OSError(f"bad answer: {exc!r}") from None
    finally:
        connection.close()


def call(
    method: str, path: str, payload: dict[str, Any] | None = None, timeout: float = 600
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of a control route; connection failures end the command."""
    data = json.dumps(payload).encode() if payload is not None else None
    try:
        status, body = send(
            method,
            f"{cloud_url()}/_localcloud/{path}",
            data,
            {"Content-Type": "application/json"},
            timeout,
        )
    except OSError as exc:
        die(f"Cannot connect to the local cloud at {cloud_url()}: {exc}. Is it running?")
    try:
        return status, json.loads(body or b"{}")
    except json.JSONDecodeError:
        return status, {"message": f"HTTP {status} from the local cloud"}
