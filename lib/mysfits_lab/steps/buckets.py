"""Buckets every module needs: get-or-create with the learner's tags, and emptying for teardown."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..lab import Lab
from .aws_errors import tolerate


def ensure_bucket(lab: Lab, purpose: str, versioned: bool = False) -> str:
    """Get or create the learner's bucket for ``purpose``; returns its name."""
    bucket = lab.bucket_name(purpose)
    s3 = lab.client("s3")
    with tolerate("BucketAlreadyOwnedByYou"):
        if lab.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": lab.region}
            )
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": lab.tag_list()})
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def bucket_exists(lab: Lab, bucket: str) -> bool:
    try:
        lab.client("s3").head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def empty_bucket(lab: Lab, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were removed."""
    s3 = lab.client("s3")
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
            removed += len(doomed)
    return removed


def delete_bucket(lab: Lab, purpose: str) -> list[str]:
    """Empty and delete the learner's bucket for ``purpose``, if it exists."""
    bucket = lab.bucket_name(purpose)
    if not bucket_exists(lab, bucket):
        return []
    empty_bucket(lab, bucket)
    lab.client("s3").delete_bucket(Bucket=bucket)
    return [f"s3://{bucket}"]
