"""Render every module's picture, as a finished run on AWS draws it, for the README:
``.venv/bin/python -m mysfits_lab.diagrams [--out assets/diagrams]``."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from ..paths import assets_dir
from . import PICTURES, figure, png
from .sample import sample_outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=assets_dir() / "diagrams")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    values = sample_outputs()
    for notebook in PICTURES:
        path = out / f"{notebook}.png"
        picture = Image.open(io.BytesIO(png(figure(notebook, values, built=True))))
        # flat colours and anti-aliased text fit a palette: a quarter of the bytes in git
        picture.convert("RGB").quantize(colors=128).save(path, optimize=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
