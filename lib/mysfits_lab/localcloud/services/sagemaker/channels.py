"""A training job's input channels, downloaded from S3 as SageMaker's File input mode does:
every object under an ``S3Prefix`` in key order, or the keys a ``ManifestFile`` lists, gunzipped
when the channel says ``CompressionType: Gzip``. Problems end the job with the FailureReason
SageMaker gives (``ClientError: Data download failed: ...``)."""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from .models import JobFailure


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); ValueError for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class ChannelReader:
    """Reads channels with ``s3`` (a boto3 client) for a job in ``region`` run as ``role``."""

    def __init__(self, s3: Any, region: str, role: str):
        self.s3, self.region, self.role = s3, region, role

    def read(self, channel: dict[str, Any]) -> list[bytes]:
        """The objects of one channel, in key order (gunzipped if so declared)."""
        name = channel.get("ChannelName", "?")
        source = channel.get("DataSource", {}).get("S3DataSource")
        if not source:
            raise JobFailure(
                f"ClientError: Channel {name}: only S3DataSource is supported for the built-in "
                "k-NN algorithm on this cloud"
            )
        uri, data_type = source.get("S3Uri", ""), source.get("S3DataType", "S3Prefix")
        try:
            bucket, key = parse_s3_uri(uri)
        except ValueError as exc:
            raise JobFailure(f"ClientError: Channel {name}: {exc}") from None
        if data_type == "S3Prefix":
            locations = [(bucket, k) for k in self._list(bucket, key, uri)]
        elif data_type == "ManifestFile":
            locations = self._manifest(bucket, key, uri)
        else:
            raise JobFailure(
                f"ClientError: Channel {name}: S3DataType {data_type} is not supported by the "
                "built-in k-NN algorithm (use S3Prefix or ManifestFile)"
            )
        blobs = [self._get(b, k) for b, k in locations]
        if channel.get("CompressionType") != "Gzip":
            return blobs
        try:
            return [gzip.decompress(blob) for blob in blobs]
        except (OSError, EOFError) as exc:
            raise JobFailure(
                f"ClientError: Channel {name} is declared Gzip but cannot be decompressed: {exc}"
            ) from None

    def _no_objects(self, uri: str, bucket: str) -> JobFailure:
        return JobFailure(
            f'ClientError: Data download failed: No S3 objects found under S3 URL "{uri}" given '
            "in input data source. Please ensure that the bucket exists in the selected region "
            f"({self.region}), that objects exist under that S3 prefix, and that the role "
            f'"{self.role}" has "s3:ListBucket" permissions on bucket "{bucket}".'
        )

    def _list(self, bucket: str, prefix: str, uri: str) -> list[str]:
        keys: list[str] = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        try:
            for page in pages:
                # Zero-byte "folder/" keys are console placeholders, not data.
                keys.extend(o["Key"] for o in page.get("Contents", []) if o["Key"][-1:] != "/")
        except ClientError:
            raise self._no_objects(uri, bucket) from None
        if not keys:
            raise self._no_objects(uri, bucket)
        return sorted(keys)

    def _manifest(self, bucket: str, key: str, uri: str) -> list[tuple[str, str]]:
        """``[{"prefix": "s3://b/p/"}, "relative/key", ...]``, as the SDK's record_set writes."""
        try:
            entries = json.loads(self._get(bucket, key))
            prefix_uri = entries[0]["prefix"]
            prefix_bucket, prefix = parse_s3_uri(prefix_uri)
            relative = [str(entry) for entry in entries[1:]]
        except (ValueError, LookupError, TypeError) as exc:
            raise JobFailure(
                f"ClientError: Data download failed: the manifest file {uri} is not a JSON list "
                f'starting with {{"prefix": "s3://..."}} followed by keys ({exc})'
            ) from None
        if not relative:
            raise self._no_objects(prefix_uri, prefix_bucket)
        return [(prefix_bucket, prefix + rel) for rel in relative]

    def _get(self, bucket: str, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise JobFailure(
                f"ClientError: Data download failed: cannot read s3://{bucket}/{key}: "
                f"{exc.response.get('Error', {}).get('Code', exc)}"
            ) from None
