"""S3 website endpoints: moto only stores a bucket's website configuration, so we serve it.

``PutBucketWebsite`` is checked as S3 checks it, recorded by moto, then the bucket's endpoint
opens on its own loopback port (a distinct browser origin, trusted by the edge's CORS policy so
the site can call the cloud's APIs); ``DeleteBucketWebsite`` and ``DeleteBucket`` close it.

Each endpoint is its own server rather than one of ``ctx.listeners``: Python's ``http.server``
rewrites a leading ``//`` to ``/`` (against open redirects in its own file server), but on a
website endpoint ``//a`` names the key ``/a``, so the request target is kept as sent
(``raw_target``; the endpoint escapes such a key in its redirects).

The same provider applies S3's Block Public Access to the buckets it serves from
(``public_access.py``): a new bucket starts with all four settings on and ACLs disabled, as on
AWS since April 2023, so a public policy is refused until the bucket's block is lifted (module
01 does so before its policy); an endpoint serves nothing while ``RestrictPublicBuckets`` is on.
Buckets that moto creates by itself (a stack's ``AWS::S3::Bucket``) get no defaults.

Control routes: ``GET /_localcloud/websites`` (bucket → URL) and
``GET /_localcloud/websites/<bucket>`` (``{"bucket", "url"}``; 404 without a website).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from werkzeug.wrappers import Request

from ...constants import ACCOUNT_ID, LOOPBACK
from ...core.http_server import LoopbackServer, serve_in_background
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from .configuration import check_configuration
from .endpoint import WebsiteEndpoint
from .policy import policy_is_public
from .public_access import (
    ALL_BLOCKED,
    ENFORCED,
    acl_refusal,
    create_bucket_refusal,
    policy_refusal,
    sets_acl,
)

log = logging.getLogger("mysfits_lab.localcloud.s3_website")


class S3WebsiteProvider(Provider):
    name = "websites"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self._servers: dict[str, LoopbackServer] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("s3", "PutBucketWebsite", self._put_website),
            Route("s3", "DeleteBucketWebsite", self._website_gone),
            Route("s3", "DeleteBucket", self._website_gone),
            Route("s3", "CreateBucket", self._create_bucket),
            Route("s3", "PutBucketPolicy", self._put_bucket_policy),
            Route("s3", "PutBucketAcl", self._put_acl),
            Route("s3", "PutObjectAcl", self._put_acl),
            Route("s3", "CreateMultipartUpload", self._put_acl),
        ]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._list), ControlRule("/<bucket>", self._describe)]

    # -- edge routes ----------------------------------------------------------------------
    def _put_website(self, call: Call) -> dict[str, Any]:
        check_configuration(call.params.get("WebsiteConfiguration", {}))
        answer = call.moto()
        self.open(call.params["Bucket"])
        return answer

    def _website_gone(self, call: Call) -> dict[str, Any]:
        """DeleteBucketWebsite and DeleteBucket: the endpoint closes once moto agrees."""
        answer = call.moto()
        self.close(call.params["Bucket"])
        return answer

    # -- Block Public Access ----------------------------------------------------------------
    def _create_bucket(self, call: Call) -> Any:
        params = call.params
        refused = create_bucket_refusal(params)
        if refused is not None:
            raise refused
        bucket = params["Bucket"]
        existed = self._exists(bucket, call.region)  # us-east-1 answers 200 to its owner again
        answer = call.forward()
        if answer.status_code < 300 and not existed:
            # Put through moto directly: the caller may not lift the block it never set.
            self.ctx.moto(
                "s3",
                "PutPublicAccessBlock",
                call.region,
                Bucket=bucket,
                PublicAccessBlockConfiguration=ALL_BLOCKED,
            )
            if not params.get("ObjectOwnership"):
                self.ctx.moto(
                    "s3",
                    "PutBucketOwnershipControls",
                    call.region,
                    Bucket=bucket,
                    OwnershipControls={"Rules": [{"ObjectOwnership": ENFORCED}]},
                )
        return answer

    def _put_bucket_policy(self, call: Call) -> Any:
        bucket = call.params["Bucket"]
        if self._block(bucket, call.region).get("BlockPublicPolicy"):
            try:
                policy = json.loads(call.params.get("Policy") or "")
            except ValueError:
                policy = None  # moto answers MalformedPolicy
            if policy_is_public(policy):
                raise policy_refusal(bucket, self._caller(call.region))
        return call.forward()

    def _put_acl(self, call: Call) -> Any:
        """PutBucketAcl, PutObjectAcl, CreateMultipartUpload: an ACL the bucket refuses."""
        params = call.params
        if sets_acl(params):
            bucket = params["Bucket"]
            refused = acl_refusal(
                params, self._ownership(bucket, call.region), self._block(bucket, call.region)
            )
            if refused is not None:
                raise refused
        return call.forward()

    def _exists(self, bucket: str, region: str) -> bool:
        try:
            self.ctx.moto("s3", "HeadBucket", region, Bucket=bucket)
        except ServiceError:
            return False
        return True

    def _block(self, bucket: str, region: str) -> dict[str, Any]:
        """The bucket's PublicAccessBlock ({} when it has none, or is no bucket)."""
        try:
            answer = self.ctx.moto("s3", "GetPublicAccessBlock", region, Bucket=bucket)
        except ServiceError:
            return {}
        return answer.get("PublicAccessBlockConfiguration", {})

    def _ownership(self, bucket: str, region: str) -> str:
        """The bucket's Object Ownership (ObjectWriter when it has no controls, as on AWS)."""
        try:
            answer = self.ctx.moto("s3", "GetBucketOwnershipControls", region, Bucket=bucket)
        except ServiceError:
            return "ObjectWriter"
        rules = answer.get("OwnershipControls", {}).get("Rules", [])
        return rules[0].get("ObjectOwnership", "ObjectWriter") if rules else "ObjectWriter"

    def _caller(self, region: str) -> str:
        try:
            return self.ctx.moto("sts", "GetCallerIdentity", region)["Arn"]
        except (ServiceError, KeyError):
            return f"arn:aws:iam::{ACCOUNT_ID}:root"

    # -- endpoints ------------------------------------------------------------------------
    def open(self, bucket: str) -> int:
        """Serve ``bucket``'s website (idempotent); returns its port."""
        with self._lock:
            if bucket in self._servers:
                return self._servers[bucket].server_port
            endpoint = WebsiteEndpoint(self.ctx.client("s3"), bucket)
            # The request target as the client sent it (see the module docstring).
            server = LoopbackServer(endpoint, raw_target=True)
            serve_in_background(server, f"website-{bucket}")
            self._servers[bucket] = server
            self.ctx.cors.allow_port(server.server_port)
            log.info("website of bucket %s on port %d", bucket, server.server_port)
            return server.server_port

    def close(self, bucket: str) -> None:
        with self._lock:
            server = self._servers.pop(bucket, None)
            if server is None:
                return
            self.ctx.cors.revoke_port(server.server_port)
            server.shutdown()
            server.server_close()

    def url(self, bucket: str) -> str:
        with self._lock:
            server = self._servers.get(bucket)
            if server is None:
                raise LookupError(f"bucket {bucket!r} has no website configuration")
            return f"http://{LOOPBACK}:{server.server_port}"

    def _urls(self) -> dict[str, str]:
        with self._lock:
            return {
                bucket: f"http://{LOOPBACK}:{server.server_port}"
                for bucket, server in sorted(self._servers.items())
            }

    # -- control and lifecycle ------------------------------------------------------------
    def _list(self, _request: Request) -> dict[str, str]:
        return self._urls()

    def _describe(self, _request: Request, bucket: str) -> dict[str, str]:
        return {"bucket": bucket, "url": self.url(bucket)}  # LookupError → 404

    def stop(self) -> None:
        with self._lock:
            buckets = list(self._servers)
        for bucket in buckets:
            self.close(bucket)

    def status(self) -> dict[str, Any]:
        return {"websites": self._urls()}
