"""S3 buckets and bucket policies through the S3 API (so the website provider sees a stack's
website configuration)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import NeedsReplacement, ResourceFailed
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing

# CloudFormation's AccessControl names → S3's canned ACLs.
_CANNED = {
    "Private": "private",
    "PublicRead": "public-read",
    "PublicReadWrite": "public-read-write",
    "AuthenticatedRead": "authenticated-read",
    "LogDeliveryWrite": "log-delivery-write",
    "BucketOwnerRead": "bucket-owner-read",
    "BucketOwnerFullControl": "bucket-owner-full-control",
    "AwsExecRead": "aws-exec-read",
}
# Properties applied after creation, each by its own call; changes to them are in place.
_SETTINGS = (
    "VersioningConfiguration",
    "WebsiteConfiguration",
    "CorsConfiguration",
    "PublicAccessBlockConfiguration",
    "BucketEncryption",
    "OwnershipControls",
    "Tags",
)
_KNOWN = ("BucketName", "AccessControl", "ObjectLockEnabled", *_SETTINGS)


def _website(config: dict[str, Any]) -> dict[str, Any]:
    website: dict[str, Any] = {}
    if config.get("IndexDocument"):
        website["IndexDocument"] = {"Suffix": config["IndexDocument"]}
    if config.get("ErrorDocument"):
        website["ErrorDocument"] = {"Key": config["ErrorDocument"]}
    if config.get("RedirectAllRequestsTo"):
        redirect = config["RedirectAllRequestsTo"]
        website["RedirectAllRequestsTo"] = {
            "HostName": redirect.get("HostName"),
            **({"Protocol": redirect["Protocol"]} if redirect.get("Protocol") else {}),
        }
    if config.get("RoutingRules"):
        # The template's RoutingRuleCondition and RedirectRule carry S3's own member names.
        website["RoutingRules"] = [
            {
                **(
                    {"Condition": rule["RoutingRuleCondition"]}
                    if rule.get("RoutingRuleCondition")
                    else {}
                ),
                "Redirect": rule.get("RedirectRule") or {},
            }
            for rule in config["RoutingRules"]
        ]
    return website


def _cors(config: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in config.get("CorsRules") or []:
        entry = {
            "AllowedMethods": rule.get("AllowedMethods", []),
            "AllowedOrigins": rule.get("AllowedOrigins", []),
        }
        for source, target in (
            ("AllowedHeaders", "AllowedHeaders"),
            ("ExposedHeaders", "ExposeHeaders"),
            ("Id", "ID"),
            ("MaxAge", "MaxAgeSeconds"),
        ):
            if source in rule:
                entry[target] = rule[source]
        rules.append(entry)
    return {"CORSRules": rules}


class Bucket(Handler):
    resource_type = "AWS::S3::Bucket"
    service = "S3"
    attributes = (
        "Arn",
        "DomainName",
        "DualStackDomainName",
        "RegionalDomainName",
        "WebsiteURL",
    )
    name_property = "BucketName"

    def s3(self, req: ResourceRequest) -> Any:
        return req.client("s3")

    def create(self, req: ResourceRequest) -> Result:
        p = req.properties
        unsupported = sorted(k for k in p if k not in _KNOWN)
        if unsupported:
            raise ResourceFailed(
                f"the local cloud does not apply {', '.join(unsupported)} of AWS::S3::Bucket "
                "(set it through the S3 API after the stack is created, or leave it out)"
            )
        name = p.get("BucketName") or req.physical_name(63, lower=True)
        params: dict[str, Any] = {"Bucket": name}
        if req.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": req.region}
        if p.get("AccessControl"):
            params["ACL"] = _CANNED.get(p["AccessControl"], p["AccessControl"])
        if p.get("ObjectLockEnabled") is not None:
            params["ObjectLockEnabledForBucket"] = p["ObjectLockEnabled"]
        self.s3(req).create_bucket(**api_params("s3", "CreateBucket", params))
        try:
            self._settings(req, name, {}, p)
        except Exception:
            ignore_missing(lambda: self.s3(req).delete_bucket(Bucket=name))
            raise
        return Result(name, self._attributes(req, name))

    @staticmethod
    def _attributes(req: ResourceRequest, name: str) -> dict[str, Any]:
        region = req.region
        website_host = (
            f"s3-website.{region}"
            if region in ("us-east-2", "eu-central-1")
            else f"s3-website-{region}"
        )
        return {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.{website_host}.amazonaws.com",
        }

    def _settings(
        self, req: ResourceRequest, name: str, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        s3 = self.s3(req)
        for key in _SETTINGS:
            if old.get(key) == new.get(key):
                continue
            value = new.get(key)
            if key == "VersioningConfiguration":
                status = (value or {}).get("Status", "Suspended") if value else "Suspended"
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
            elif key == "WebsiteConfiguration":
                if value:
                    s3.put_bucket_website(Bucket=name, WebsiteConfiguration=_website(value))
                else:
                    s3.delete_bucket_website(Bucket=name)
            elif key == "CorsConfiguration":
                if value:
                    s3.put_bucket_cors(
                        **api_params(
                            "s3",
                            "PutBucketCors",
                            {"Bucket": name, "CORSConfiguration": _cors(value)},
                        )
                    )
                else:
                    s3.delete_bucket_cors(Bucket=name)
            elif key == "PublicAccessBlockConfiguration":
                if value:
                    s3.put_public_access_block(
                        **api_params(
                            "s3",
                            "PutPublicAccessBlock",
                            {"Bucket": name, "PublicAccessBlockConfiguration": value},
                        )
                    )
                else:
                    s3.delete_public_access_block(Bucket=name)
            elif key == "BucketEncryption":
                if value:
                    s3.put_bucket_encryption(
                        **api_params(
                            "s3",
                            "PutBucketEncryption",
                            {
                                "Bucket": name,
                                "ServerSideEncryptionConfiguration": {
                                    "Rules": value.get("ServerSideEncryptionConfiguration", [])
                                },
                            },
                        )
                    )
                else:
                    s3.delete_bucket_encryption(Bucket=name)
            elif key == "OwnershipControls":
                if value:
                    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=value)
                else:
                    s3.delete_bucket_ownership_controls(Bucket=name)
        tags = req.tag_list(new.get("Tags"))
        if tags and (old.get("Tags") != new.get("Tags") or not old):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        elif old.get("Tags") and not tags:
            s3.delete_bucket_tagging(Bucket=name)

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        for key in ("BucketName", "AccessControl", "ObjectLockEnabled"):
            if old.get(key) != new.get(key):
                raise NeedsReplacement()
        unsupported = sorted(k for k in new if k not in _KNOWN)
        if unsupported:
            raise ResourceFailed(
                f"the local cloud does not apply {', '.join(unsupported)} of AWS::S3::Bucket"
            )
        name = current.physical_id or ""
        self._settings(req, name, old, new)
        return Result(name, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(lambda: self.s3(req).delete_bucket(Bucket=name))


class BucketPolicy(Handler):
    resource_type = "AWS::S3::BucketPolicy"
    service = "S3"

    def create(self, req: ResourceRequest) -> Result:
        req.require("Bucket", "PolicyDocument")
        self._put(req)
        return Result(str(req.properties["Bucket"]))

    def _put(self, req: ResourceRequest) -> None:
        document = req.properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        req.client("s3").put_bucket_policy(Bucket=req.properties["Bucket"], Policy=text)

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        if req.properties.get("Bucket") != current.properties.get("Bucket"):
            raise NeedsReplacement()
        self._put(req)
        return Result(current.physical_id or "")

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        bucket = current.properties.get("Bucket")
        ignore_missing(lambda: req.client("s3").delete_bucket_policy(Bucket=bucket))


HANDLERS: list[Handler] = [Bucket(), BucketPolicy()]
