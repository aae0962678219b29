"""Build contexts for the image tests: a Dockerfile and files in a folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mysfits_lab.localcloud.images.store import Image

APP = {"app/main.py": "print('hi')\n", "app/lib/util.py": "X = 1\n", "notes.txt": "n\n"}


def make_context(root: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(textwrap.dedent(dockerfile).lstrip())
    for name, content in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def files_in(image: Image) -> list[str]:
    return sorted(
        p.relative_to(image.root).as_posix() for p in image.root.rglob("*") if p.is_file()
    )
