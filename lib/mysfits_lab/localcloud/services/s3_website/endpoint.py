"""The WSGI app behind one bucket's website endpoint.

As on S3: the index document for ``/`` and folder paths, a redirect to ``key/`` when only
``key/<index>`` exists, the error document (status 404) for a missing key, and 403 for every
object until the bucket policy grants anonymous ``s3:GetObject`` — unless the bucket's public
access block restricts public buckets. Everything is read through the S3 API on each request, so
the endpoint follows what the learner changes at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from .policy import policy_allows_anonymous_get

DEFAULT_INDEX = "index.html"

_PAGE = (
    "<html><head><title>{status} {title}</title></head><body><h1>{status} {title}</h1><ul>"
    "<li>Code: {code}</li><li>Message: {message}</li></ul></body></html>"
)


def error_page(status: int, title: str, code: str, message: str) -> Response:
    """The HTML error page a website endpoint answers with (not the REST API's XML)."""
    html = _PAGE.format(status=status, title=title, code=code, message=message)
    return Response(html, status, content_type="text/html; charset=utf-8")


class WebsiteEndpoint:
    """Serves ``bucket`` through ``s3``, a boto3 S3 client for the local cloud."""

    def __init__(self, s3: Any, bucket: str):
        self.s3 = s3
        self.bucket = bucket

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if request.method in ("GET", "HEAD"):
            response = self.respond(unquote(request.path))
        else:
            response = error_page(
                405,
                "Method Not Allowed",
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        return response(environ, start_response)

    def respond(self, path: str) -> Response:
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
        key = path.lstrip("/")
        if key == "" or key.endswith("/"):
            key += index
        if not self._public(key):
            return error_page(403, "Forbidden", "AccessDenied", "Access Denied")
        found = self._object(key)
        if found is not None:
            return found
        if self._exists(f"{key}/{index}"):
            return Response("", 302, headers={"Location": f"/{key}/"})
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

    def _object(self, key: str) -> Response | None:
        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return None
        content_type = found.get("ContentType", "application/octet-stream")
        response = Response(found["Body"].read(), 200, content_type=content_type)
        response.headers["ETag"] = found.get("ETag", "")
        if found.get("CacheControl"):
            response.headers["Cache-Control"] = found["CacheControl"]
        return response
