"""The service's build context: assembling it, zipping it, and reading its Dockerfile.

`build_context` is what both targets build from (docker on AWS, a snapshot on the local cloud);
`source_zip` is the same tree as a pipeline source, optionally with some files changed
(`overrides`, as a commit would change them); `zip_files`/`replace_files` read and change an
existing source zip the same way.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from .paths import project_root

CATALOGUE_NAME = "catalogue.json"
# Build-context junk that must not change the zip (and so the pipeline's source version).
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", CATALOGUE_NAME)
# A fixed timestamp makes equal content give byte-identical zips.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# A file's new content (text is written as UTF-8), or None to remove the file.
Overrides = Mapping[str, str | bytes | None]


def service_source() -> Path:
    """`assets/service/` of the project."""
    return project_root() / "assets" / "service"


def default_catalogue() -> Path:
    """The module-2 catalogue (6 mysfits)."""
    return project_root() / "data" / "mysfits-response.json"


def build_context(dest: Path, catalogue: Path | None = None) -> Path:
    """Copy the service into `dest` and add the catalogue as `app/catalogue.json`."""
    dest = Path(dest)
    source = service_source()
    if not (source / "Dockerfile").is_file():
        raise FileNotFoundError(f"No service Dockerfile under {source}")
    catalogue_text = _checked_catalogue(Path(catalogue) if catalogue else default_catalogue())
    shutil.copytree(source, dest, ignore=_IGNORED, dirs_exist_ok=True)
    (dest / "app").mkdir(parents=True, exist_ok=True)
    (dest / "app" / CATALOGUE_NAME).write_text(catalogue_text, encoding="utf-8")
    return dest


def source_zip(catalogue: Path | None = None, overrides: Overrides | None = None) -> bytes:
    """The build context as zip bytes (paths relative to the context root, sorted).

    ``overrides`` maps a path in the zip (``app/settings.json``) to its new content, or to None
    to leave the file out: the source as a learner's commit would change it.
    """
    with tempfile.TemporaryDirectory(prefix="mysfits-context-") as tmp:
        root = build_context(Path(tmp) / "context", catalogue)
        files = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file()
        }
    return _zip(_changed(files, overrides or {}))


def zip_files(source: bytes) -> dict[str, bytes]:
    """The files of a source zip, by path (directories left out)."""
    try:
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            return {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir()
            }
    except zipfile.BadZipFile as exc:
        raise ValueError(f"the source is not a zip file: {exc}") from None


def replace_files(source: bytes, overrides: Overrides) -> bytes:
    """``source`` (zip bytes) with the files of ``overrides`` replaced, added or removed."""
    return _zip(_changed(zip_files(source), overrides))


def _changed(files: dict[str, bytes], overrides: Overrides) -> dict[str, bytes]:
    changed = dict(files)
    for name, content in overrides.items():
        path = _zip_path(name)
        if content is None:
            if path not in changed:
                raise KeyError(f"cannot remove {path}: the source has no such file")
            del changed[path]
        else:
            changed[path] = content.encode("utf-8") if isinstance(content, str) else content
    return changed


def _zip_path(name: str) -> str:
    """A path inside the zip, relative and inside the source: ``app/settings.json``."""
    path = PurePosixPath(str(name).replace("\\", "/"))
    if not str(name) or path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
        raise ValueError(
            f"{name!r} is not a file of the source: use a path relative to its root, such as "
            "'app/settings.json'"
        )
    return path.as_posix()


def _zip(files: Mapping[str, bytes]) -> bytes:
    """Files as zip bytes; equal files give byte-identical zips (sorted, fixed dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _checked_catalogue(path: Path) -> str:
    # Fail while assembling, not when the container starts somewhere far away.
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("mysfits"), list):
        raise ValueError(f"{path}: a catalogue is an object with a 'mysfits' list")
    return text
