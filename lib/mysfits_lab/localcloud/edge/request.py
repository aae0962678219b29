"""An incoming request as the edge sees it, before it knows which service it is for."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, repeat
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

# Deeper JSON is refused before anyone parses it recursively (moto, botocore, providers): a
# DynamoDB item's 32 levels of nested attributes take about 70 on the wire.
MAX_JSON_DEPTH = 128
# A SigV4 Authorization header: algorithm, then Credential=<key>/<date>/<region>/<service>/
# aws4_request, SignedHeaders=... and Signature=... in any order.
_SIGV4 = re.compile(r"^AWS4-[A-Z0-9-]+ +(?=.*\bSignedHeaders=)(?=.*\bSignature=[0-9a-fA-F]+)")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+$")
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Opening brackets become 2 and closing ones 0, so that each byte minus 1 is the step in depth.
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


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
    def raw_path(self) -> str:
        """The path as the client sent it, still percent-encoded: REST operations match their
        ``requestUri`` on it, so an encoded ``/`` inside one label (an ARN in
        ``/tags/{resource_arn}``) stays inside that label."""
        raw = self.environ.get("RAW_URI") or self.environ.get("REQUEST_URI")
        if not raw:
            return quote(self.path, safe="/~!$&'()*+,;=:@")
        target = raw.split("?", 1)[0]
        if not target.startswith("/"):  # absolute form: http://host:port/path
            target = "/" + target.split("://", 1)[-1].partition("/")[2]
        return target

    @cached_property
    def _credential(self) -> str | None:
        auth = self.headers.get("authorization", "")
        marker = "Credential="
        if marker in auth:
            return auth.split(marker, 1)[1].split(",", 1)[0].strip()
        presigned = self.query.get("X-Amz-Credential")
        return presigned[0] if presigned else None

    @cached_property
    def scope(self) -> tuple[str | None, str | None]:
        """(region, signing name) from a SigV4 credential scope, if the request is signed —
        in the Authorization header or, for presigned URLs, the query string."""
        parts = (self._credential or "").split("/")
        if len(parts) != 5:
            return None, None
        return parts[2] or None, parts[3] or None

    def signature_problem(self) -> str | None:
        """Why the request's signature cannot be SigV4 (None when it can, or is unsigned)."""
        auth = self.headers.get("authorization")
        if auth is None and self._credential is None:
            return None
        if auth is not None and not _SIGV4.match(auth):
            return "Authorization header requires SigV4 Credential, SignedHeaders and Signature"
        parts = (self._credential or "").split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
            return "Credential must have the form <key>/<date>/<region>/<service>/aws4_request"
        if not _REGION.match(parts[2]):
            return f"Credential should be scoped to a valid region, not '{parts[2][:64]}'"
        return None

    def bad_escape(self) -> str | None:
        """Where the query string, or a form body, has a ``%`` that escapes nothing."""
        query = self.environ.get("QUERY_STRING", "").encode("latin-1", "replace")
        if _BAD_ESCAPE.search(query):
            return "the query string"
        if "x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return "the form body" if _BAD_ESCAPE.search(self.body) else None
        return None

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

    @property
    def referer_origin(self) -> str | None:
        """The origin of the page named by ``Referer`` (browsers without Fetch Metadata)."""
        referer = urlsplit(self.headers.get("referer", ""))
        return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else None

    @cached_property
    def _json(self) -> Any:
        if json_too_deep(self.body):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(self.body or b"{}")

    def json(self) -> Any:
        """The JSON body (``{}`` when empty); ValueError when it is not JSON, or too deep."""
        return self._json


def json_too_deep(text: bytes) -> bool:
    """Whether arrays and objects in JSON text nest deeper than MAX_JSON_DEPTH, measured on
    the text before anyone parses it (parsers recurse once per level) and at C speed: the
    running sum of the brackets outside strings."""
    if text.count(b"[") + text.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _JSON_STRING.sub(b"", text).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    return (
        bool(brackets) and max(accumulate(map(int.__sub__, brackets, repeat(1)))) > MAX_JSON_DEPTH
    )
