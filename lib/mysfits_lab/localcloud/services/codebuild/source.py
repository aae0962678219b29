"""A build's source: the S3 zip (or folder) unpacked into the workspace, and its buildspec."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .buildspec import Buildspec, PhaseError, parse_buildspec, yaml_error

Say = Callable[[str], None]  # a ``[Container]`` line for the build log


def _s3_location(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("arn:aws:s3:::").partition("/")
    return bucket, key


def download_source(s3: Any, source: dict[str, Any], src: Path, version: str) -> str:
    """Put the source into ``src``; the resolved source version (the object's version id or
    ETag, empty when there is none). PhaseError ``CLIENT_ERROR`` when it cannot."""
    kind = source.get("type")
    if kind == "NO_SOURCE":
        return ""
    if kind != "S3":
        raise PhaseError(
            "CLIENT_ERROR",
            f"source type {kind} is not supported by the local "
            "cloud's CodeBuild: use an S3 source (a zip of the source folder), "
            "or NO_SOURCE with an inline buildspec",
        )
    bucket, key = _s3_location(str(source.get("location", "")))
    try:
        if not key or key.endswith("/"):
            _download_folder(s3, bucket, key, src)
            return ""
        extra = {"VersionId": version} if version else {}
        found = s3.get_object(Bucket=bucket, Key=key, **extra)
        data = found["Body"].read()
    except ClientError as exc:
        error = exc.response["Error"]
        raise PhaseError(
            "CLIENT_ERROR",
            f"{error.get('Code')}: {error.get('Message', '')} "
            f"for primary source and source version {version}".rstrip(),
        ) from None
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise PhaseError(
            "CLIENT_ERROR",
            f"s3://{bucket}/{key} is not a zip file: an S3 source is a zip of the source folder",
        )
    _unzip(data, src)
    object_version = found.get("VersionId")
    if object_version not in (None, "null"):
        return object_version
    return str(found.get("ETag", "")).strip('"')


def _unzip(data: bytes, src: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, src))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)  # keep scripts executable, as CodeBuild does


def _download_folder(s3: Any, bucket: str, prefix: str, src: Path) -> None:
    count = 0
    root = src.resolve()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if not relative or relative.endswith("/"):
                continue
            target = (src / relative).resolve()
            if not target.is_relative_to(root):
                continue  # a key like "../x" must not escape the workspace
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            count += 1
    if not count:
        raise PhaseError(
            "CLIENT_ERROR", f"no objects under s3://{bucket}/{prefix} for primary source"
        )


def load_buildspec(s3: Any, setting: str, src: Path, say: Say) -> Buildspec:
    """The buildspec the project names: inline YAML, an S3 object, or a file in the source
    (``buildspec.yml`` by default)."""
    if "\n" in setting or setting.lstrip().startswith("version"):
        say("YAML location is the project's inline buildspec")
        return parse_buildspec(setting)
    if setting.startswith("arn:aws:s3:::"):
        bucket, key = _s3_location(setting)
        try:
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        except ClientError as exc:
            raise yaml_error(f"cannot read buildspec {setting}: {exc}") from None
        say(f"YAML location is {setting}")
        return parse_buildspec(text)
    path = src / (setting or "buildspec.yml")
    if not path.is_file():
        raise yaml_error(f"stat {path}: no such file or directory")
    say(f"YAML location is {path}")
    return parse_buildspec(path.read_text(encoding="utf-8"))
