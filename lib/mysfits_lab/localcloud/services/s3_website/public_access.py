"""S3 Block Public Access and Object Ownership as AWS applies them to new buckets since April
2023, as decisions on one request's parameters (no I/O; the provider asks moto for the bucket's
settings).

A new bucket gets a PublicAccessBlock with all four settings on and Object Ownership
``BucketOwnerEnforced`` (ACLs disabled). Then:

* PutBucketPolicy of a public policy (``policy.policy_is_public``) with ``BlockPublicPolicy``:
  403 AccessDenied "... because public policies are blocked by the BlockPublicPolicy block
  public access setting.";
* an ACL that grants anything beyond the owner, with ``BucketOwnerEnforced``: CreateBucket 400
  ``InvalidBucketAclWithObjectOwnership``, PutBucketAcl/PutObjectAcl/CreateMultipartUpload 400
  ``AccessControlListNotSupported``;
* a public ACL (AllUsers or AuthenticatedUsers) with ``BlockPublicAcls`` and ACLs enabled:
  CreateBucket 400 ``InvalidBucketAclWithBlockPublicAccessError``, the others 403 AccessDenied.
"""

from __future__ import annotations

from typing import Any

from ...edge import ServiceError

ENFORCED = "BucketOwnerEnforced"
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_GRANT_PARAMS = ("GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP")
# Canned ACLs that grant nobody but the owner (allowed even when ACLs are disabled).
_OWNER_ONLY = frozenset({"private", "bucket-owner-full-control"})
_PUBLIC_CANNED = frozenset({"public-read", "public-read-write", "authenticated-read"})
_PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def sets_acl(params: dict[str, Any]) -> bool:
    """Whether the request carries an ACL at all (canned, grant headers or an XML policy)."""
    return bool(
        params.get("ACL")
        or params.get("AccessControlPolicy")
        or any(params.get(name) for name in _GRANT_PARAMS)
    )


def _grantees(params: dict[str, Any]) -> list[str]:
    """Every grantee the request names, as text: ``uri=...``/``id=...``/``emailAddress=...``
    from the grant headers, ``uri=``/``id=``/``emailAddress=`` of the XML grants."""
    found = [str(params[name]) for name in _GRANT_PARAMS if params.get(name)]
    policy = params.get("AccessControlPolicy") or {}
    for grant in policy.get("Grants", []) if isinstance(policy, dict) else []:
        grantee = grant.get("Grantee", {}) if isinstance(grant, dict) else {}
        for field, label in (("URI", "uri"), ("ID", "id"), ("EmailAddress", "emailAddress")):
            if grantee.get(field):
                found.append(f'{label}="{grantee[field]}"')
    return found


def acl_has_effect(params: dict[str, Any]) -> bool:
    """Whether the ACL grants anyone but the owner: a canned ACL other than private and
    bucket-owner-full-control, a group or an email grantee. (Grants to canonical user ids are
    taken as the owner's: the local cloud has one account.)"""
    canned = params.get("ACL")
    if canned and canned not in _OWNER_ONLY:
        return True
    return any("uri=" in g.lower() or "emailaddress=" in g.lower() for g in _grantees(params))


def acl_is_public(params: dict[str, Any]) -> bool:
    """Whether the ACL grants to everyone or to every AWS user."""
    if params.get("ACL") in _PUBLIC_CANNED:
        return True
    return any(group in grantee for grantee in _grantees(params) for group in _PUBLIC_GROUPS)


def create_bucket_refusal(params: dict[str, Any]) -> ServiceError | None:
    """What CreateBucket answers for an ACL the new bucket's defaults do not allow."""
    if not sets_acl(params):
        return None
    if (params.get("ObjectOwnership") or ENFORCED) == ENFORCED and acl_has_effect(params):
        return ServiceError(
            "InvalidBucketAclWithObjectOwnership",
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        )
    if acl_is_public(params):  # a new bucket blocks public ACLs
        return ServiceError(
            "InvalidBucketAclWithBlockPublicAccessError",
            "Bucket cannot have public ACLs set with BlockPublicAccess enabled",
        )
    return None


def acl_refusal(
    params: dict[str, Any], ownership: str, block: dict[str, Any]
) -> ServiceError | None:
    """What PutBucketAcl, PutObjectAcl or CreateMultipartUpload answers for the request's ACL on
    a bucket with ``ownership`` and the PublicAccessBlock ``block``."""
    if not sets_acl(params):
        return None
    if ownership == ENFORCED and acl_has_effect(params):
        return ServiceError("AccessControlListNotSupported", "The bucket does not allow ACLs")
    if block.get("BlockPublicAcls") and acl_is_public(params):
        return ServiceError("AccessDenied", "Access Denied", 403)
    return None


def policy_refusal(bucket: str, caller: str) -> ServiceError:
    """PutBucketPolicy's answer to a public policy while BlockPublicPolicy is on."""
    return ServiceError(
        "AccessDenied",
        f"User: {caller} is not authorized to perform: s3:PutBucketPolicy on resource: "
        f'"arn:aws:s3:::{bucket}" because public policies are blocked by the '
        "BlockPublicPolicy block public access setting.",
        403,
    )
