"""Block Public Access decisions: which bucket policies S3 counts as public, and which ACLs a
bucket with ACLs disabled or public ACLs blocked refuses."""

from __future__ import annotations

from typing import Any

import pytest

from mysfits_lab.localcloud.services.s3_website.policy import policy_is_public
from mysfits_lab.localcloud.services.s3_website.public_access import (
    ALL_BLOCKED,
    acl_refusal,
    create_bucket_refusal,
)

ROLE = "arn:aws:iam::123456789012:role/reader"
EVERYONE = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'


def allow(**fields: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    return {"Version": "2012-10-17", "Statement": [statement | fields]}


def everyone_but(principal: str) -> dict[str, Any]:
    policy = allow(NotPrincipal={"AWS": principal})
    del policy["Statement"][0]["Principal"]
    return policy


@pytest.mark.parametrize(
    ("policy", "public"),
    [
        (allow(), True),
        (allow(Principal={"AWS": "*"}), True),
        (allow(Principal={"AWS": [ROLE, "*"]}), True),
        (allow(Principal={"AWS": "arn:aws:iam::*:root"}), True),
        (everyone_but(ROLE), True),
        (allow(Principal={"AWS": ROLE}), False),
        (allow(Principal={"Service": "cloudfront.amazonaws.com"}), False),
        (allow(Effect="Deny"), False),
        # pinned by a condition on fixed values of a key S3 accepts
        (allow(Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}}), False),
        (allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::1:x/E1"}}), False),
        (allow(Condition={"IpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}), False),
        # ... but not by a wildcard, a negation, an open range or an unlisted key
        (allow(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::*"}}), True),
        (allow(Condition={"StringNotEquals": {"aws:SourceAccount": "1"}}), True),
        (allow(Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
        (allow(Condition={"Bool": {"aws:SecureTransport": "true"}}), True),
        # not a policy: PutBucketPolicy's own checks answer
        ("text", False),
        ({"Statement": ["x"]}, False),
        ({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}, False),
    ],
)
def test_which_policies_are_public(policy, public):
    assert policy_is_public(policy) is public


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, None),
        ({"ACL": "private"}, None),
        ({"ACL": "public-read"}, "InvalidBucketAclWithObjectOwnership"),
        ({"GrantRead": EVERYONE}, "InvalidBucketAclWithObjectOwnership"),
        ({"ACL": "log-delivery-write"}, "InvalidBucketAclWithObjectOwnership"),
        (
            {"ACL": "public-read", "ObjectOwnership": "ObjectWriter"},
            "InvalidBucketAclWithBlockPublicAccessError",
        ),
        ({"ACL": "log-delivery-write", "ObjectOwnership": "ObjectWriter"}, None),
    ],
)
def test_create_bucket_acls(params, code):
    refused = create_bucket_refusal({"Bucket": "b"} | params)
    assert (refused.code if refused else None) == code


@pytest.mark.parametrize(
    ("params", "ownership", "block", "code"),
    [
        (
            {"ACL": "public-read"},
            "BucketOwnerEnforced",
            ALL_BLOCKED,
            "AccessControlListNotSupported",
        ),
        ({"ACL": "bucket-owner-full-control"}, "BucketOwnerEnforced", ALL_BLOCKED, None),
        ({"ACL": "public-read"}, "ObjectWriter", ALL_BLOCKED, "AccessDenied"),
        (
            {"AccessControlPolicy": {"Grants": [{"Grantee": {"URI": EVERYONE[5:-1]}}]}},
            "BucketOwnerPreferred",
            {"BlockPublicAcls": True},
            "AccessDenied",
        ),
        ({"ACL": "public-read"}, "ObjectWriter", {"BlockPublicAcls": False}, None),
        ({"ACL": "private"}, "ObjectWriter", ALL_BLOCKED, None),
    ],
)
def test_acl_writes(params, ownership, block, code):
    refused = acl_refusal({"Bucket": "b"} | params, ownership, block)
    assert (refused.code if refused else None) == code
