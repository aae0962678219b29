"""S3 website endpoints: moto only stores a bucket's website configuration, so we serve it.

``PutBucketWebsite`` is checked as S3 checks it, recorded by moto, then the bucket's endpoint
opens on its own loopback port (a distinct browser origin, trusted by the edge's CORS policy so
the site can call the cloud's APIs); ``DeleteBucketWebsite`` and ``DeleteBucket`` close it.

Control routes: ``GET /_localcloud/websites`` (bucket → URL) and
``GET /_localcloud/websites/<bucket>`` (``{"bucket", "url"}``; 404 without a website).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.wrappers import Request

from ...constants import LOOPBACK
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route
from .configuration import check_configuration
from .endpoint import WebsiteEndpoint

log = logging.getLogger("mysfits_lab.localcloud.s3_website")


class S3WebsiteProvider(Provider):
    name = "websites"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self._buckets: set[str] = set()
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("s3", "PutBucketWebsite", self._put_website),
            Route("s3", "DeleteBucketWebsite", self._website_gone),
            Route("s3", "DeleteBucket", self._website_gone),
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

    # -- endpoints ------------------------------------------------------------------------
    @staticmethod
    def _listener(bucket: str) -> str:
        return f"website:{bucket}"

    def open(self, bucket: str) -> int:
        """Serve ``bucket``'s website (idempotent); returns its port."""
        with self._lock:
            endpoint = WebsiteEndpoint(self.ctx.client("s3"), bucket)
            port = self.ctx.listeners.serve(self._listener(bucket), endpoint)
            self.ctx.cors.allow_port(port)
            if bucket not in self._buckets:
                self._buckets.add(bucket)
                log.info("website of bucket %s on port %d", bucket, port)
            return port

    def close(self, bucket: str) -> None:
        with self._lock:
            self._buckets.discard(bucket)
            port = self.ctx.listeners.port(self._listener(bucket))
            if port is None:
                return
            self.ctx.cors.revoke_port(port)
            self.ctx.listeners.stop(self._listener(bucket))

    def url(self, bucket: str) -> str:
        port = self.ctx.listeners.port(self._listener(bucket))
        if port is None:
            raise LookupError(f"bucket {bucket!r} has no website configuration")
        return f"http://{LOOPBACK}:{port}"

    def _urls(self) -> dict[str, str]:
        with self._lock:  # a bucket's listener closes under this lock too
            return {bucket: self.url(bucket) for bucket in sorted(self._buckets)}

    # -- control and lifecycle ------------------------------------------------------------
    def _list(self, _request: Request) -> dict[str, str]:
        return self._urls()

    def _describe(self, _request: Request, bucket: str) -> dict[str, str]:
        return {"bucket": bucket, "url": self.url(bucket)}  # LookupError → 404

    def stop(self) -> None:
        with self._lock:
            buckets = list(self._buckets)
        for bucket in buckets:
            self.close(bucket)

    def status(self) -> dict[str, Any]:
        return {"websites": self._urls()}
