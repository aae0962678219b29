"""An incoming request as the edge sees it, before it knows which service it is for."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs


@dataclass
class AwsRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    environ: dict[str, Any] = field(repr=False)

    @classmethod
    def from_environ(cls, environ: dict[str, Any], body: bytes) -> AwsRequest:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", "/"),
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
            environ=environ,
        )

    @cached_property
    def scope(self) -> tuple[str | None, str | None]:
        """(region, signing name) from a SigV4 credential scope, if the request is signed —
        in the Authorization header or, for presigned URLs, the query string."""
        auth = self.headers.get("authorization", "")
        marker = "Credential="
        if marker in auth:
            credential = auth.split(marker, 1)[1].split(",", 1)[0]
        else:
            credential = (self.query.get("X-Amz-Credential") or [""])[0]
        parts = credential.split("/")
        if len(parts) < 5:
            return None, None
        return parts[2] or None, parts[3] or None

    @property
    def signed_region(self) -> str | None:
        return self.scope[0]

    @property
    def signing_name(self) -> str | None:
        return self.scope[1]

    @property
    def target(self) -> str | None:
        """``X-Amz-Target`` (``Prefix.Operation``) of the JSON protocols."""
        return self.headers.get("x-amz-target") or None

    @cached_property
    def form(self) -> dict[str, list[str]]:
        ctype = self.headers.get("content-type", "")
        if "x-www-form-urlencoded" in ctype and self.body:
            return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {}

    def param(self, name: str) -> str | None:
        """A query-protocol parameter from the form body or the query string."""
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin") or None

    def json(self) -> Any:
        """The JSON body (``{}`` when empty); ValueError when it is not JSON."""
        return json.loads(self.body or b"{}")
