"""Function code on disk: .zip files checked as Lambda checks them, unpacked once per SHA-256
into ``<workdir>/code/<sha256>`` (so every version and worker with the same code shares it),
layers into ``<workdir>/layers/<sha256>``, and the AWS SDK folder a function sees next to its
own code (boto3 and what it needs, as every AWS Python runtime includes them — and nothing
else of the cloud's environment).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from .models import invalid

log = logging.getLogger("mysfits_lab.localcloud.lambda")

UNZIPPED_LIMIT = 262144000  # bytes: "Unzipped size must be smaller than 262144000 bytes"
ZIPPED_S3_LIMIT = UNZIPPED_LIMIT  # an S3 .zip cannot unzip below its own size
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class CodeSource:
    """A checked .zip file: in memory (inline) or in a temporary file (from S3)."""

    sha256: str  # hex
    size: int
    data: bytes | None = None
    path: Path | None = None

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data) if self.data is not None else open(self.path, "rb")  # type: ignore[arg-type]  # noqa: SIM115

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def check_zip(source: CodeSource) -> None:
    """What CreateFunction refuses before anything is created: a file that is not a .zip, or
    one that unzips larger than Lambda allows."""
    try:
        with source.open() as handle, zipfile.ZipFile(handle) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if unzipped > UNZIPPED_LIMIT:
        raise invalid(
            f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes",
        )


def inline_source(data: bytes) -> CodeSource:
    source = CodeSource(hashlib.sha256(data).hexdigest(), len(data), data=data)
    check_zip(source)
    return source


def s3_source(s3: Any, spec: dict[str, Any], scratch: Path) -> CodeSource:
    """The .zip at S3Bucket/S3Key (S3ObjectVersion), streamed to a scratch file; AWS's
    messages for a missing bucket or key."""
    arguments = {"Bucket": spec.get("S3Bucket", ""), "Key": spec.get("S3Key", "")}
    if spec.get("S3ObjectVersion"):
        arguments["VersionId"] = spec["S3ObjectVersion"]
    try:
        answer = s3.get_object(**arguments)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        raise invalid(
            f"Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
        ) from None
    except BotoCoreError as exc:
        raise invalid(f"Error occurred while GetObject: {exc}") from None
    scratch.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle, name = tempfile.mkstemp(dir=scratch, suffix=".zip")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out, contextlib.closing(answer["Body"]) as body:
            while chunk := body.read(_COPY_CHUNK):
                size += len(chunk)
                if size > ZIPPED_S3_LIMIT:
                    raise invalid(f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes")
                digest.update(chunk)
                out.write(chunk)
        source = CodeSource(digest.hexdigest(), size, path=path)
        check_zip(source)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return source


class CodeStore:
    def __init__(self, root: Path):
        self.root = root
        self.scratch = root / "incoming"
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._layers: dict[str, Path] = {}  # layer version ARN -> its folder

    def unpack(self, source: CodeSource, kind: str = "code") -> Path:
        """The folder of ``source``'s files; unpacked once per SHA-256, atomically, so a folder
        that exists is complete."""
        target = self.root / kind / source.sha256
        with self._lock:
            lock = self._locks.setdefault(f"{kind}/{source.sha256}", threading.Lock())
        with lock:
            if target.is_dir():
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpacking-"))
            try:
                with source.open() as handle, zipfile.ZipFile(handle) as archive:
                    archive.extractall(staging)  # names with ../ or a root are made safe
                _readable(staging)
                os.rename(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return target

    def add_layer(self, arn: str, source: CodeSource) -> Path:
        path = self.unpack(source, "layers")
        with self._lock:
            self._layers[arn] = path
        return path

    def layer_dirs(self, arns: list[str]) -> tuple[Path, ...]:
        """The folders of the layers a function names, in its order; a layer this cloud did
        not publish itself (created through CloudFormation) is left out."""
        with self._lock:
            found = [self._layers.get(arn) for arn in arns]
        for arn, path in zip(arns, found, strict=True):
            if path is None:
                log.warning("layer %s was not published through the local cloud's API", arn)
        return tuple(p for p in found if p is not None)


def _readable(root: Path) -> None:
    """Lambda unpacks with at least r-x for folders and r-- for files: so does the cloud, so
    a .zip made on Windows runs."""
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | 0o555)
        for name in files:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                os.chmod(path, os.stat(path).st_mode | 0o444)


def layer_paths(layer: Path, python: str) -> list[str]:
    """Where a layer's modules are, as Lambda puts ``/opt/python`` and
    ``/opt/python/lib/python3.x/site-packages`` on the path."""
    return [str(layer / "python" / "lib" / python / "site-packages"), str(layer / "python")]


def sdk_dir(root: Path) -> Path:
    """A folder with links to the AWS SDK of the cloud's interpreter, the only third-party
    modules an AWS Python runtime brings; made once per cloud."""
    folder = root / "sdk"
    if folder.is_dir():
        return folder
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".sdk-"))
    for name in SDK_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        locations = spec.submodule_search_locations
        origin = Path(locations[0]) if locations else Path(spec.origin or "")
        if origin.exists():
            os.symlink(origin, staging / origin.name)
    try:
        os.rename(staging, folder)
    except OSError:  # made meanwhile by another thread
        shutil.rmtree(staging, ignore_errors=True)
    return folder
