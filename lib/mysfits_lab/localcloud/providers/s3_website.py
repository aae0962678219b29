"""S3 static website endpoints: moto only stores the website configuration, so we serve it.

Each website-enabled bucket gets its own loopback port. As on S3: the index document for
``/`` and folder paths, the error document (status 404) for a missing key, and 403 for every
object until the bucket policy grants anonymous ``s3:GetObject`` (unless the bucket's public
access block restricts public buckets).
"""

from __future__ import annotations

import fnmatch
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from ..awsrequest import AwsRequest
from ..edge import Forward

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.s3_website")


def _bucket_of(req: AwsRequest) -> str:
    return unquote(req.path.lstrip("/").split("/", 1)[0])


def _is_bucket_level(req: AwsRequest) -> bool:
    parts = req.path.lstrip("/").split("/", 1)
    return len(parts) == 1 or parts[1] == ""


def _statement_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _principal_is_anonymous(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in _statement_list(principal.get("AWS", []))
    return False


def _matches_any(patterns: Any, value: str) -> bool:
    return any(
        fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _statement_list(patterns)
    )


def policy_allows_anonymous_get(policy: dict | None, bucket: str, key: str) -> bool:
    """Whether a bucket policy lets anyone read ``key`` (an explicit Deny wins).

    Statements with a Condition, NotPrincipal, NotAction or NotResource are not evaluated and
    never grant access: the site would rather answer 403 than be public by mistake.
    """
    if not policy:
        return False
    resource = f"arn:aws:s3:::{bucket}/{key}"
    allowed = False
    for statement in _statement_list(policy.get("Statement", [])):
        if any(k in statement for k in ("NotPrincipal", "NotAction", "NotResource")):
            continue
        applies = (
            _principal_is_anonymous(statement.get("Principal"))
            and _matches_any(statement.get("Action", []), "s3:GetObject")
            and _matches_any(statement.get("Resource", []), resource)
        )
        if not applies:
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow" and "Condition" not in statement:
            allowed = True
    return allowed


_PAGE = (
    "<html><head><title>{code} {title}</title></head><body><h1>{code} {title}</h1><ul>"
    "<li>Code: {aws_code}</li><li>Message: {message}</li></ul></body></html>"
)


def _page(code: int, title: str, aws_code: str, message: str) -> Response:
    html = _PAGE.format(code=code, title=title, aws_code=aws_code, message=message)
    return Response(html, code, content_type="text/html; charset=utf-8")


class WebsiteEndpoint:
    """The WSGI app answering a bucket's website endpoint."""

    def __init__(self, cloud: LocalCloud, bucket: str):
        self.cloud, self.bucket = cloud, bucket

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        if request.method not in ("GET", "HEAD"):
            response = _page(
                405,
                "Method Not Allowed",
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        else:
            response = self.respond(unquote(request.path))
        return response(environ, start_response)

    def respond(self, path: str) -> Response:
        s3 = self.cloud.client("s3")
        try:
            website = s3.get_bucket_website(Bucket=self.bucket)
        except ClientError:
            return _page(
                404,
                "Not Found",
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration",
            )
        index = website.get("IndexDocument", {}).get("Suffix", "index.html")
        error_key = website.get("ErrorDocument", {}).get("Key")
        key = path.lstrip("/")
        if key == "" or key.endswith("/"):
            key += index
        if not self._public(s3, key):
            return _page(403, "Forbidden", "AccessDenied", "Access Denied")
        found = self._get(s3, key)
        if found is not None:
            return found
        if self._get(s3, f"{key}/{index}", head=True) is not None:
            return Response("", 302, headers={"Location": f"/{key}/"})
        if error_key and self._public(s3, error_key):
            error_page = self._get(s3, error_key)
            if error_page is not None:
                error_page.status_code = 404
                return error_page
        return _page(404, "Not Found", "NoSuchKey", "The specified key does not exist.")

    def _public(self, s3: Any, key: str) -> bool:
        try:
            block = s3.get_public_access_block(Bucket=self.bucket)["PublicAccessBlockConfiguration"]
            if block.get("RestrictPublicBuckets"):
                return False
        except ClientError:
            pass
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=self.bucket)["Policy"])
        except ClientError:
            return False
        return policy_allows_anonymous_get(policy, self.bucket, key)

    def _get(self, s3: Any, key: str, head: bool = False) -> Response | None:
        try:
            if head:
                s3.head_object(Bucket=self.bucket, Key=key)
                return Response("")
            obj = s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return None
        response = Response(
            obj["Body"].read(), 200, content_type=obj.get("ContentType", "application/octet-stream")
        )
        response.headers["ETag"] = obj.get("ETag", "")
        if obj.get("CacheControl"):
            response.headers["Cache-Control"] = obj["CacheControl"]
        return response


class S3WebsiteProvider:
    name = "websites"

    def __init__(self) -> None:
        self.cloud: LocalCloud | None = None
        self.buckets: set[str] = set()

    def attach(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        cloud.edge.on("s3", self._is_website_op, self._website_op)
        cloud.edge.on("s3", self._is_delete_bucket, self._delete_bucket)
        cloud.edge.control_route("websites", self._control)

    # -- edge hooks ---------------------------------------------------------------------
    @staticmethod
    def _is_website_op(req: AwsRequest) -> bool:
        return "website" in req.query and req.method in ("PUT", "DELETE") and _is_bucket_level(req)

    @staticmethod
    def _is_delete_bucket(req: AwsRequest) -> bool:
        return req.method == "DELETE" and not req.query and _is_bucket_level(req)

    def _website_op(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code < 300:
            bucket = _bucket_of(req)
            if req.method == "PUT":
                self.open(bucket)
            else:
                self.close(bucket)
        return response

    def _delete_bucket(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code < 300:
            self.close(_bucket_of(req))
        return response

    # -- endpoints ----------------------------------------------------------------------
    def open(self, bucket: str) -> int:
        assert self.cloud is not None
        self.buckets.add(bucket)
        return self.cloud.listeners.serve(f"website:{bucket}", WebsiteEndpoint(self.cloud, bucket))

    def close(self, bucket: str) -> None:
        assert self.cloud is not None
        self.buckets.discard(bucket)
        self.cloud.listeners.stop(f"website:{bucket}")

    def url(self, bucket: str) -> str:
        assert self.cloud is not None
        port = self.cloud.listeners.port(f"website:{bucket}")
        if port is None:
            raise LookupError(f"bucket {bucket!r} has no website configuration")
        return f"http://127.0.0.1:{port}"

    def _control(self, request: Request) -> Any:
        bucket = request.path.rstrip("/").split("/")[-1]
        if bucket == "websites":
            return {b: self.url(b) for b in sorted(self.buckets)}
        return {"bucket": bucket, "url": self.url(bucket)}

    def stop(self) -> None:
        for bucket in list(self.buckets):
            self.close(bucket)

    def status(self) -> dict[str, Any]:
        return {"websites": {b: self.url(b) for b in sorted(self.buckets)}}
