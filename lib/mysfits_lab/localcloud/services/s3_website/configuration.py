"""The rules S3 applies to a ``PutBucketWebsite`` configuration, which moto stores unchecked.

From the S3 API reference (``WebsiteConfiguration``, ``IndexDocument``): a configuration either
redirects every request (``RedirectAllRequestsTo``, alone) or names an index document whose
suffix is neither empty nor contains a slash. S3 rejects the others with ``InvalidArgument``.
"""

from __future__ import annotations

from typing import Any

from ...edge import ServiceError


def check_configuration(config: dict[str, Any]) -> None:
    """Raise the ``ServiceError`` S3 answers for ``config`` (as boto3 passed it), if any."""
    others = ("IndexDocument", "ErrorDocument", "RoutingRules")
    if "RedirectAllRequestsTo" in config:
        if any(name in config for name in others):
            raise ServiceError(
                "InvalidArgument",
                "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
            )
        return
    if "IndexDocument" not in config:
        raise ServiceError(
            "InvalidArgument",
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        )
    suffix = config["IndexDocument"].get("Suffix") or ""
    if not suffix or "/" in suffix:
        raise ServiceError("InvalidArgument", "The IndexDocument Suffix is not well formed")
