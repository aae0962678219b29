"""The WSGI app behind one bucket's website endpoint.

As on S3: the index document for ``/`` and folder paths, a redirect to ``key/`` when only
``key/<index>`` exists, the error document (status 404) for a missing key, and 403 for every
object until the bucket policy grants anonymous ``s3:GetObject`` — unless the bucket's public
access block restricts public buckets. A single ``Range`` is honoured (206, or 416 when it lies
past the end), with S3's own range semantics since the request goes to S3's GetObject. The key is
the request path without its first slash, percent-decoded once (``//a`` is the key ``/a``).
Everything is read through the S3 API on each request, so the endpoint follows what the learner
changes at once; object bodies are streamed, never held whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from botocore.exceptions import ClientError
from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from .policy import policy_allows_anonymous_get

DEFAULT_INDEX = "index.html"
CHUNK = 64 * 1024

_PAGE = (
    "<html><head><title>{status} {title}</title></head><body><h1>{status} {title}</h1><ul>"
    "<li>Code: {code}</li><li>Message: {message}</li></ul></body></html>"
)


def error_page(status: int, title: str, code: str, message: str) -> Response:
    """The HTML error page a website endpoint answers with (not the REST API's XML)."""
    html = _PAGE.format(status=status, title=title, code=code, message=message)
    return Response(html, status, content_type="text/html; charset=utf-8")


def request_path(environ: dict[str, Any]) -> str | None:
    """The path as the client sent it, decoded once; None when it is not UTF-8.

    werkzeug's ``PATH_INFO`` will not do: its server reads ``//a`` as a host name and drops a
    slash, and a second ``unquote`` would turn the key ``a%41`` into ``aA``.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    target = raw.split("?", 1)[0]
    if not target.startswith("/"):  # absolute form: http://host:port/path
        target = "/" + target.split("://", 1)[-1].partition("/")[2]
    try:
        return unquote_to_bytes(target.encode("latin-1")).decode("utf-8")
    except UnicodeError:
        return None


def key_location(key: str) -> str:
    """A path that names ``key`` (a leading slash escaped, so it is not a protocol-relative
    URL to another host)."""
    quoted = quote(key, safe="/~")
    return "/" + ("%2F" + quoted[1:] if quoted.startswith("/") else quoted)


class WebsiteEndpoint:
    """Serves ``bucket`` through ``s3``, a boto3 S3 client for the local cloud."""

    def __init__(self, s3: Any, bucket: str):
        self.s3 = s3
        self.bucket = bucket

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        path = request_path(environ)
        if request.method not in ("GET", "HEAD"):
            response = error_page(
                405,
                "Method Not Allowed",
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        elif path is None:
            response = error_page(
                400, "Bad Request", "InvalidURI", "Couldn't parse the specified URI."
            )
        else:
            response = self.respond(path, request.headers.get("Range"))
        return response(environ, start_response)

    def respond(self, path: str, byte_range: str | None = None) -> Response:
        try:
            website = self.s3.get_bucket_website(Bucket=self.bucket)
        except ClientError:
            return error_page(
                404,
                "Not Found",
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration",
            )
        index = website.get("IndexDocument", {}).get("Suffix", DEFAULT_INDEX)
        error_key = website.get("ErrorDocument", {}).get("Key")
        key = path.removeprefix("/")
        if key == "" or key.endswith("/"):
            key += index
        if not self._public(key):
            return error_page(403, "Forbidden", "AccessDenied", "Access Denied")
        found = self._object(key, byte_range)
        if found is not None:
            return found
        if self._exists(f"{key}/{index}"):
            return Response("", 302, headers={"Location": key_location(f"{key}/")})
        if error_key and self._public(error_key):
            page = self._object(error_key)
            if page is not None:
                page.status_code = 404
                return page
        return error_page(404, "Not Found", "NoSuchKey", "The specified key does not exist.")

    def _public(self, key: str) -> bool:
        try:
            block = self.s3.get_public_access_block(Bucket=self.bucket)
            if block["PublicAccessBlockConfiguration"].get("RestrictPublicBuckets"):
                return False
        except ClientError:
            pass  # no public access block: the policy decides
        try:
            policy = json.loads(self.s3.get_bucket_policy(Bucket=self.bucket)["Policy"])
        except ClientError:
            return False
        return policy_allows_anonymous_get(policy, self.bucket, key)

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True

    def _object(self, key: str, byte_range: str | None = None) -> Response | None:
        """The object (or the requested part of it), None when there is no such key."""
        extra = {"Range": byte_range} if byte_range else {}
        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "InvalidRange":
                return None
            page = error_page(
                416,
                "Requested Range Not Satisfiable",
                "InvalidRange",
                "The requested range is not satisfiable",
            )
            page.headers["Content-Range"] = f"bytes */{error.get('ActualObjectSize', '*')}"
            return page
        body = found["Body"]
        status = 206 if found.get("ContentRange") else 200
        content_type = found.get("ContentType", "application/octet-stream")
        response = Response(body.iter_chunks(CHUNK), status, content_type=content_type)
        response.call_on_close(body.close)
        response.headers["Content-Length"] = str(found["ContentLength"])
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["ETag"] = found.get("ETag", "")
        if found.get("ContentRange"):
            response.headers["Content-Range"] = found["ContentRange"]
        if found.get("LastModified"):
            response.headers["Last-Modified"] = http_date(found["LastModified"])
        if found.get("CacheControl"):
            response.headers["Cache-Control"] = found["CacheControl"]
        return response
