"""How the shims reach the running local cloud: JSON over its control routes (stdlib only)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
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


def call(
    method: str, path: str, payload: dict[str, Any] | None = None, timeout: float = 600
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of a control route; connection failures end the command."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        f"{cloud_url()}/_localcloud/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except json.JSONDecodeError:
            body = {"message": f"HTTP {exc.code} from the local cloud"}
        return exc.code, body
    except (urllib.error.URLError, OSError) as exc:
        die(f"Cannot connect to the local cloud at {cloud_url()}: {exc}. Is it running?")
