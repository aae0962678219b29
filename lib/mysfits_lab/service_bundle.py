"""The service's build context: assembling it, zipping it, and reading its Dockerfile.

`build_context` is what both targets build from (docker on AWS, a snapshot on the local cloud);
`source_zip` is the same tree as a pipeline source; `dockerfile_spec` tells the local image
runtime how the container would start (WORKDIR, ENV, ENTRYPOINT/CMD, EXPOSE, USER).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from .paths import project_root

CATALOGUE_NAME = "catalogue.json"
# Build-context junk that must not change the zip (and so the pipeline's source version).
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", CATALOGUE_NAME)
# A fixed timestamp makes equal content give byte-identical zips.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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


def source_zip(catalogue: Path | None = None) -> bytes:
    """The build context as zip bytes (paths relative to the context root, sorted)."""
    with tempfile.TemporaryDirectory(prefix="mysfits-context-") as tmp:
        root = build_context(Path(tmp) / "context", catalogue)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
        return buffer.getvalue()


def _checked_catalogue(path: Path) -> str:
    # Fail while assembling, not when the container starts somewhere far away.
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("mysfits"), list):
        raise ValueError(f"{path}: a catalogue is an object with a 'mysfits' list")
    return text
