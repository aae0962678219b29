"""A function folder as the .zip file Lambda runs, built as ``sam build`` builds it: the
folder's files, plus — when it has a ``requirements.txt`` — the packages ``pip install -r
requirements.txt -t <dir>`` puts there, less the AWS SDK for Python that every Lambda Python
runtime provides (``RUNTIME_SDK``) when only a dependency pulled it in: the X-Ray SDK would
otherwise bring botocore, 17 MB zipped. A requirements.txt that names an SDK distribution
itself brings its own SDK: then all of it stays, so its parts match.

Installed packages are cached in ``~/.cache/mysfits-lab/lambda-deps/<key>`` (the key: SHA-256 of
``requirements.txt``, the Python version and platform, and ``RUNTIME_SDK``), so packaging again
is instant. The .zip file is deterministic — sorted names, fixed timestamps and permissions — so
the same code gives the same ``CodeSha256`` and an unchanged function is not updated.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import platform
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RUNTIME_SDK", "PackagingError", "deps_key", "package"]

# The distributions of the AWS SDK for Python that Lambda's Python runtimes include (boto3 and
# what it requires), as normalised distribution names.
RUNTIME_SDK = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
# pip -t installs into a "home" scheme (packages under lib/python, scripts under bin) and then
# moves both into the target: RECORD paths are relative to lib/python.
_PIP_HOME_LIB = "lib/python"

_EXCLUDED_DIRS = {"__pycache__", ".git", ".aws-sam", ".venv", ".pytest_cache", ".mypy_cache"}
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_EXCLUDED_FILES = {".DS_Store"}
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a .zip entry can carry
_PIP_FAILURES = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"Invalid requirement: '([^']+)'"),
    re.compile(r"Could not install packages due to an OSError: .*?'([^']+)'"),
    re.compile(r"Directory '([^']+)' is not installable"),
    re.compile(r"(\S+) does not appear to be a Python project"),
    re.compile(r"Failed to build (\S+)"),
)


class PackagingError(Exception):
    """The folder cannot be packaged; the message names the requirement pip could not install."""


def package(function_dir: Path, cache_dir: Path | None = None) -> bytes:
    """The .zip file of ``function_dir`` and its requirements (see the module docstring)."""
    function_dir = Path(function_dir)
    if not function_dir.is_dir():
        raise PackagingError(f"{function_dir} is not a folder")
    entries: dict[str, Path] = {}
    requirements = function_dir / "requirements.txt"
    if requirements.is_file() and _has_requirements(requirements):
        deps = _dependencies(requirements, cache_dir or _default_cache())
        entries.update(_files(deps))
    entries.update(_files(function_dir))  # the function's own files win over a package's
    return _zip(entries)


def deps_key(requirements: Path) -> str:
    """What the cache of installed requirements is keyed on."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(
        f"\0{sys.implementation.cache_tag}\0{sys.platform}\0{platform.machine()}".encode()
    )
    digest.update(("\0" + ",".join(sorted(RUNTIME_SDK))).encode())
    return digest.hexdigest()


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mysfits-lab" / "lambda-deps"


def _has_requirements(requirements: Path) -> bool:
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return True
    return False


def _dependencies(requirements: Path, cache_dir: Path) -> Path:
    """The folder pip installed the requirements into; installed once per key."""
    target = cache_dir / deps_key(requirements)
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".installing-"))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-compile",
        "-r",
        str(requirements),
        "-t",
        str(staging),
    ]
    try:
        # From the function's folder, so a relative path in requirements.txt means what it
        # means to ``sam build``.
        done = subprocess.run(
            command, cwd=requirements.parent, capture_output=True, text=True, timeout=900
        )
        if done.returncode != 0:
            raise PackagingError(_pip_failure(requirements, done.stderr + done.stdout))
        _leave_out_runtime_sdk(staging)
        try:
            os.rename(staging, target)
        except OSError:  # installed meanwhile by another packaging of the same requirements
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _leave_out_runtime_sdk(folder: Path) -> None:
    """Remove the SDK distributions pip installed in ``folder`` as dependencies only; keep them
    all when requirements.txt names one (pip marks those it was asked for ``REQUESTED``)."""
    sdk = [
        dist
        for dist in importlib.metadata.distributions(path=[str(folder)])
        if _normalised(dist.name or "") in RUNTIME_SDK
    ]
    if any(dist.read_text("REQUESTED") is not None for dist in sdk):
        return
    for dist in sdk:
        for entry in dist.files or ():
            path = _installed_path(folder, str(entry))
            if path is not None:
                path.unlink(missing_ok=True)
    # Scripts: bin/ keeps only what the remaining distributions own, whatever path pip
    # recorded for the SDK's own scripts.
    kept = {
        path
        for dist in importlib.metadata.distributions(path=[str(folder)])
        for entry in dist.files or ()
        if (path := _installed_path(folder, str(entry))) is not None
    }
    scripts = folder / "bin"
    for script in sorted(scripts.rglob("*")) if scripts.is_dir() else ():
        if script.is_file() and script not in kept:
            script.unlink()
    for parent, _, _ in os.walk(folder, topdown=False):
        if parent != str(folder) and not os.listdir(parent):
            os.rmdir(parent)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_path(folder: Path, entry: str) -> Path | None:
    """Where a RECORD entry of ``pip install -t folder`` is; None for one outside it."""
    path = posixpath.normpath(posixpath.join(_PIP_HOME_LIB, entry))
    if path.startswith(_PIP_HOME_LIB + "/"):
        return folder / path[len(_PIP_HOME_LIB) + 1 :]
    parts = path.split("/")
    if "bin" in parts:  # a script, recorded relative to some temporary folder of pip's
        return folder.joinpath("bin", *parts[parts.index("bin") + 1 :])
    if path == ".." or path.startswith(("../", "lib/")):
        return None
    return folder / path  # share/...: pip moves them into the target too


def _pip_failure(requirements: Path, output: str) -> str:
    for pattern in _PIP_FAILURES:
        match = pattern.search(output)
        if match:
            name = match.group(1).strip("'\"").rstrip(".,")
            return (
                f"pip could not install {name!r} from {requirements}: "
                f"{_last_error(output) or match.group(0)}"
            )
    return f"pip could not install the requirements in {requirements}: {_last_error(output)}"


def _last_error(output: str) -> str:
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR")]
    if errors:
        return errors[-1]
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _EXCLUDED_DIRS)
        for name in files:
            if name in _EXCLUDED_FILES or name.endswith(_EXCLUDED_SUFFIXES):
                continue
            path = Path(folder) / name
            if path.is_file():
                yield path.relative_to(root).as_posix(), path


def _zip(entries: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            path = entries[name]
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = os.access(path, os.X_OK)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.create_system = 3  # Unix, so the permissions are read
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
