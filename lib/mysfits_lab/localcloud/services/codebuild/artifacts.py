"""A build's artifacts: the buildspec's files collected from the source folder and uploaded to
the project's S3 location (one object per file, or one zip)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .buildspec import PhaseError, truthy

Say = Callable[[str], None]  # a ``[Container]`` line for the build log


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def collect(spec: dict[str, Any], src: Path, say: Say) -> dict[str, Path]:
    """The artifact files of the buildspec's ``artifacts`` section: name in the artifact → file."""
    base_name = str(spec.get("base-directory") or ".")
    say(f"Expanding base directory path: {base_name}")
    base = (src / base_name).resolve()
    if not base.is_dir() or not base.is_relative_to(src.resolve()):
        raise PhaseError("CLIENT_ERROR", f"no matching base directory path found for {base_name}")
    excludes = _as_list(spec.get("exclude-paths"))
    discard = truthy(spec.get("discard-paths"))
    say("Assembling file list")
    found: dict[str, Path] = {}
    for pattern in (p.removeprefix("./") for p in _as_list(spec.get("files"))):
        say(f"Expanding {pattern}")
        if any(c in pattern for c in "*?["):
            matches = sorted(p for p in base.glob(pattern) if p.is_file())
        elif (base / pattern).is_dir():
            matches = sorted(p for p in (base / pattern).rglob("*") if p.is_file())
        else:
            matches = [base / pattern] if (base / pattern).is_file() else []
        for path in matches:
            relative = path.relative_to(base).as_posix()
            if any(Path(relative).match(e) for e in excludes):
                continue
            found[path.name if discard else relative] = path
    say(f"Found {len(found)} file(s)")
    if not found:
        raise PhaseError("CLIENT_ERROR", "no matching artifact paths found")
    return found


def upload(s3: Any, files: dict[str, Path], bucket: str, key: str, zipped: bool) -> dict[str, str]:
    """Upload ``files`` under ``s3://bucket/key``; the build's ``artifacts`` field."""
    location = f"arn:aws:s3:::{bucket}/{key}"
    try:
        if zipped:
            data = _zip(files)
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            return {
                "location": location,
                "sha256sum": hashlib.sha256(data).hexdigest(),
                "md5sum": hashlib.md5(data).hexdigest(),
            }
        for name, path in files.items():
            s3.put_object(Bucket=bucket, Key=f"{key}/{name}", Body=path.read_bytes())
        return {"location": location}
    except ClientError as exc:
        error = exc.response["Error"]
        raise PhaseError(
            "CLIENT_ERROR",
            f"{error.get('Code')}: {error.get('Message', '')} "
            f"(uploading artifacts to s3://{bucket}/{key})",
        ) from None


def _zip(files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            archive.write(path, name)
    return buffer.getvalue()
