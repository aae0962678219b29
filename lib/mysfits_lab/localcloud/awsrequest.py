"""Just enough parsing of an AWS API request to route it: service, operation, region."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs

# Query-string protocol services put the operation in an ``Action`` parameter.
_QUERY_ACTION = "Action"


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
    def _scope(self) -> tuple[str | None, str | None]:
        """(region, service) from a SigV4 credential scope, if the request is signed."""
        auth = self.headers.get("authorization", "")
        marker = "Credential="
        if marker not in auth:
            return None, None
        scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if len(scope) < 5:
            return None, None
        return scope[2], scope[3]

    @property
    def region(self) -> str | None:
        return self._scope[0]

    @property
    def service(self) -> str | None:
        """The signing name (``s3``, ``ecs``, ``sagemaker``, ``elasticloadbalancing``, ...)."""
        return self._scope[1]

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

    @cached_property
    def operation(self) -> str | None:
        """The API operation for JSON (X-Amz-Target) and query (Action) protocols."""
        target = self.headers.get("x-amz-target")
        if target:
            return target.rsplit(".", 1)[-1]
        return self.param(_QUERY_ACTION)

    def json(self) -> Any:
        return json.loads(self.body or b"{}")
