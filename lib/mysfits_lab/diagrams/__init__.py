"""A picture per module, drawn from the outputs store: what exists now, with its real names.

In a notebook: ``diagrams.architecture(lab, "01-static-site")`` near the top ("what you will
build": parts not built yet are dimmed, with their generic names) and
``diagrams.architecture(lab, "01-static-site", built=True)`` at the end ("what you built").
``figure`` draws without a lab (tests, the README's pictures); what each picture holds is data
in ``catalogue``. Render the README's pictures with ``python -m mysfits_lab.diagrams``.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from .. import show
from . import catalogue, draw
from .catalogue import PICTURES, Values

if TYPE_CHECKING:
    from ..lab import Lab

__all__ = ["PICTURES", "architecture", "describe", "figure", "png"]


def figure(notebook: str, values: Values, built: bool = False) -> Figure:
    """The picture of ``notebook`` from outputs shaped like ``OutputsStore.values()``."""
    return draw.draw(notebook, values, built)


def describe(notebook: str, values: Values, built: bool = False) -> str:
    """The picture in words: for logs, plain-text runs and screen readers."""
    spec = catalogue.picture(notebook)
    lines = [draw.heading(notebook, built)]
    for slot in spec.slots:
        part = catalogue.PARTS[slot.part]
        names = part.names(values)
        mark = f" [{part.module}]" if part.module else ""
        what = ", ".join(names) if names is not None else f"not built yet ({part.generic})"
        lines.append(f"- {part.title}{mark}: {what}")
    titles = {slot.part: catalogue.PARTS[slot.part].title for slot in spec.slots}
    for arrow in spec.arrows:
        label = f" ({arrow.label})" if arrow.label else ""
        lines.append(f"  {titles[arrow.source]} → {titles[arrow.target]}{label}")
    return "\n".join(lines)


def png(picture: Figure, scale: float = 2) -> bytes:
    """PNG bytes at ``scale`` times the notebook's resolution (crisp on high-density screens)."""
    buffer = io.BytesIO()
    picture.savefig(buffer, format="png", dpi=draw.DPI * scale, facecolor="white")
    return buffer.getvalue()


def architecture(lab: Lab, notebook: str, built: bool = False) -> None:
    """Show ``notebook``'s picture for this learner: "what you will build" or, with
    ``built=True``, "what you built". Outside a notebook it prints the picture in words."""
    values = lab.outputs.values()
    text = describe(notebook, values, built)
    if not show.in_notebook():
        print(text)
        return
    from IPython.display import display

    picture = figure(notebook, values, built)
    display(
        {"image/png": base64.b64encode(png(picture)).decode("ascii"), "text/plain": text},
        metadata={"image/png": {"width": round(picture.get_figwidth() * draw.DPI)}},
        raw=True,
    )
