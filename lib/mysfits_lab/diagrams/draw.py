"""Drawing a picture: one visual language (boxes, colours, arrows, fonts) for every module.

Coordinates are inches from the figure's bottom-left (the axes fill the figure), and the widest
picture is 9 inches: 900 px at the 100 dpi a notebook shows. Every text is wrapped by measuring
it with the renderer and every row grows to hold its boxes' text, so no label leaves its box.
Each patch and text carries a ``gid`` naming what it belongs to (``part:<id>``, ``frame:<id>``,
``arrow:<from>-><to>``, ``heading``), which is how the tests check the layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from . import catalogue
from .catalogue import Values

DPI = 100
PITCH = 2.175  # column pitch: four columns and the margins make 9 inches
GAP = 0.5  # between neighbouring boxes: room for an arrow and its label
MARGIN = 0.15
ROW_GAP = 0.42
PAD = 0.08  # inside boxes and frames
FRAME_PAD = 0.09  # around a frame's members
LINE_GAP = 0.04  # between a title and its names
MIN_BOX_HEIGHT = 0.7
MAX_NAME_LINES = 6

FONT = "DejaVu Sans"  # ships with matplotlib: the same metrics everywhere
HEADING_SIZE, SUBTITLE_SIZE = 12, 8.5
TITLE_SIZE, NAME_SIZE, BADGE_SIZE, FRAME_SIZE, ARROW_SIZE = 8.5, 8, 7, 7.5, 7.5

INK, SOFT_INK, DIM_INK = "#0f172a", "#334155", "#64748b"
DIM_FILL, DIM_EDGE = "#f8fafc", "#94a3b8"
# fill, edge: one colour family per kind of service
KINDS = {
    "client": ("#eef2ff", "#4f46e5"),
    "storage": ("#ecfdf5", "#059669"),
    "network": ("#f5f3ff", "#7c3aed"),
    "compute": ("#fff7ed", "#ea580c"),
    "devtools": ("#eff6ff", "#2563eb"),
    "monitoring": ("#fdf2f8", "#db2777"),
    "ml": ("#f0fdfa", "#0d9488"),
    "public": ("#f7fee7", "#65a30d"),
    "private": ("#f0f9ff", "#0284c7"),
    "planned": (DIM_FILL, DIM_EDGE),
}
_WORDS = re.compile(r"\S+\s*")
_BREAK_AFTER = re.compile(r"(?<=[-./:_,])")  # inside a word: after its separators


def badge(notebook: str) -> str:
    """A notebook's short mark on the parts it builds: "02a" for 02a-service."""
    return notebook.split("-", 1)[0]


def heading(notebook: str, built: bool) -> str:
    if notebook == "00-setup":
        return "What you built, notebook by notebook" if built else "The plan: what you will build"
    if notebook == "99-teardown":
        return "What is left after the teardown" if built else "What exists before the teardown"
    return f"What you built · {notebook}" if built else f"What you will build · {notebook}"


def font(size: float, bold: bool = False, italic: bool = False) -> FontProperties:
    return FontProperties(
        family=FONT,
        size=size,
        weight="bold" if bold else "normal",
        style="italic" if italic else "normal",
    )


class Canvas:
    """A figure whose axes measure inches, and its renderer to measure text with."""

    def __init__(self, width: float):
        self.figure = Figure(figsize=(width, 1), dpi=DPI, facecolor="white")
        FigureCanvasAgg(self.figure)
        self.renderer = self.figure.canvas.get_renderer()
        self.ax = self.figure.add_axes((0, 0, 1, 1))
        self.ax.axis("off")

    def width(self, text: str, props: FontProperties) -> float:
        return self.renderer.get_text_width_height_descent(text, props, ismath=False)[0] / DPI

    def wrap(self, text: str, width: float, props: FontProperties) -> list[str]:
        """Lines no wider than ``width`` inches. Words move to the next line whole; a word
        wider than a line (a bucket name) fills lines, broken after its separators, or inside
        a piece too wide by itself. Joined without the line breaks, the lines give the text."""
        lines, line = [], ""

        def fits(candidate: str) -> bool:
            return self.width(candidate.rstrip(), props) <= width

        for word in _WORDS.findall(text):
            if fits(line + word):
                line += word
                continue
            if fits(word):
                lines.append(line.rstrip())
                line = word
                continue
            for piece in _BREAK_AFTER.split(word):
                if not fits(line + piece):
                    lines.append(line.rstrip())
                    line = ""
                while not fits(line + piece):  # too wide alone: cut it where it must
                    low, high = 1, len(piece) - 1  # the longest head that fits, by bisection
                    while low < high:
                        middle = (low + high + 1) // 2
                        low, high = (middle, high) if fits(piece[:middle]) else (low, middle - 1)
                    lines.append(piece[:low])
                    piece = piece[low:]
                line += piece
        lines.append(line.rstrip())
        return [line for line in lines if line]

    def name_lines(self, names: list[str], width: float, props: FontProperties) -> list[str]:
        """Names on one line when they fit (joined by " · "), else each wrapped on its own;
        at most MAX_NAME_LINES, the last ending in "…" when names had to be cut."""
        joined = " · ".join(names)
        if self.width(joined, props) <= width:
            return [joined]
        lines = [line for name in names for line in self.wrap(name, width, props)]
        if len(lines) <= MAX_NAME_LINES:
            return lines
        last = lines[MAX_NAME_LINES - 1]
        while last and self.width(last + "…", props) > width:
            last = last[:-1]
        return [*lines[: MAX_NAME_LINES - 1], last + "…"]

    def text(self, lines: list[str], props: FontProperties, gid: str, **style: Any) -> Text:
        """A text, top-left aligned unless told otherwise, placed later with set_position."""
        style = {"va": "top", "ha": "left", **style}
        return self.ax.text(
            0,
            0,
            "\n".join(lines),
            fontproperties=props,
            parse_math=False,
            gid=gid,
            zorder=4,
            **style,
        )

    def size(self, text: Text) -> tuple[float, float]:
        extent = text.get_window_extent(self.renderer)
        return extent.width / DPI, extent.height / DPI


@dataclass
class Block:
    """A part's box or a frame: its texts, and its rectangle once the layout has placed it."""

    gid: str
    kind: str
    present: bool
    title: Text
    names: Text
    badge: Text | None
    content_height: float  # title, gap and names
    x0: float
    x1: float
    parts: set[str] = field(default_factory=set)  # a frame's parts, nested frames' included
    top: float = 0.0  # down from the figure's top while laying out, then up from its bottom
    bottom: float = 0.0


def _block(
    canvas: Canvas,
    gid: str,
    spec: catalogue.Part | catalogue.Frame,
    values: Values,
    x: tuple[float, float],
    sizes: tuple[float, float],
    module: str | None = None,
) -> Block:
    """Its texts, wrapped to its width; ``module`` puts that notebook's badge on it."""
    names = spec.names(values)
    present = names is not None and spec.kind != "planned"
    room = x[1] - x[0] - 2 * PAD
    mark = None
    if module:
        mark = canvas.text(
            [badge(module)],
            font(BADGE_SIZE, bold=True),
            gid,
            ha="right",
            color="white",
            bbox={
                "boxstyle": "round,pad=0.25",
                "facecolor": KINDS[spec.kind][1] if present else DIM_EDGE,
                "edgecolor": "none",
            },
        )
        room -= canvas.size(mark)[0] + 0.09  # the badge, its rounded pad and a space
    title_font = font(sizes[0], bold=True)
    title = canvas.text(
        canvas.wrap(spec.title, room, title_font),
        title_font,
        gid,
        color=INK if present else DIM_INK,
    )
    name_font = font(sizes[1], italic=names is None)
    lines = canvas.name_lines(
        names if names is not None else [spec.generic], x[1] - x[0] - 2 * PAD, name_font
    )
    name_text = canvas.text(lines, name_font, gid, color=SOFT_INK if present else DIM_INK)
    height = canvas.size(title)[1] + LINE_GAP + canvas.size(name_text)[1]
    return Block(gid, spec.kind, present, title, name_text, mark, height, *x)


def draw(notebook: str, values: Values, built: bool) -> Figure:
    """The picture of ``notebook`` from the outputs ``values`` (see ``diagrams.figure``)."""
    spec = catalogue.picture(notebook)
    width = 2 * MARGIN + PITCH * max(slot.column + slot.span for slot in spec.slots)
    canvas = Canvas(width)
    boxes: dict[str, Block] = {}
    rows: dict[str, int] = {}
    for slot in spec.slots:
        left = MARGIN + slot.column * PITCH + GAP / 2
        x = (left, left + slot.span * PITCH - GAP)
        part = catalogue.PARTS[slot.part]
        box = _block(
            canvas, f"part:{slot.part}", part, values, x, (TITLE_SIZE, NAME_SIZE), part.module
        )
        box.parts = {slot.part}
        boxes[slot.part], rows[slot.part] = box, slot.row
    frames = _frames(canvas, spec.frames, boxes, values)
    title, subtitle = _heading(canvas, notebook, built, values, [*boxes.values(), *frames.values()])

    height = _place(canvas, [title, subtitle], boxes, rows, frames)
    canvas.figure.set_size_inches(width, height)
    canvas.ax.set_xlim(0, width)
    canvas.ax.set_ylim(0, height)
    title.set_position((MARGIN, height - MARGIN))
    subtitle.set_position((MARGIN, height - MARGIN - canvas.size(title)[1] - LINE_GAP))
    for block in [*frames.values(), *boxes.values()]:
        block.top, block.bottom = height - block.top, height - block.bottom
    for depth, block in enumerate(reversed(frames.values())):  # outer frames under inner ones
        _draw_block(canvas, block, frame=True, zorder=1 + depth / 10)
    for block in boxes.values():
        _draw_block(canvas, block, frame=False, zorder=3)
    for arrow in spec.arrows:
        _draw_arrow(canvas, boxes[arrow.source], boxes[arrow.target], arrow)
    return canvas.figure


def _frames(
    canvas: Canvas, wanted: tuple[str, ...], boxes: dict[str, Block], values: Values
) -> dict[str, Block]:
    """The picture's frames, inner ones first, each as wide as its members and a pad."""
    frames: dict[str, Block] = {}
    pending = list(wanted)
    while pending:
        gid = next(g for g in pending if all(m in boxes or m in frames for m in _members(g)))
        pending.remove(gid)
        members = [boxes.get(m) or frames[m] for m in _members(gid)]
        x = (min(m.x0 for m in members) - FRAME_PAD, max(m.x1 for m in members) + FRAME_PAD)
        frame = _block(canvas, f"frame:{gid}", catalogue.FRAMES[gid], values, x, (FRAME_SIZE,) * 2)
        frame.parts = set().union(*(m.parts for m in members))
        frames[gid] = frame
    return frames


def _members(frame: str) -> tuple[str, ...]:
    return catalogue.FRAMES[frame].members


def _band(frame: Block) -> float:
    """A frame's label band, above its members."""
    return PAD + frame.content_height + PAD


def _place(
    canvas: Canvas,
    heading: list[Text],
    boxes: dict[str, Block],
    rows: dict[str, int],
    frames: dict[str, Block],
) -> float:
    """Set every block's top and bottom, down from the figure's top; returns the height.
    A row is as tall as its fullest box, and the gaps around it hold the bands of the frames
    that start or end on it."""
    first = {g: min(rows[p] for p in f.parts) for g, f in frames.items()}
    last = {g: max(rows[p] for p in f.parts) for g, f in frames.items()}

    def above(gid: str) -> float:  # its band and those of inner frames starting on its row
        inner = [above(m) for m in _members(gid) if m in frames and first[m] == first[gid]]
        return _band(frames[gid]) + max(inner, default=0)

    def below(gid: str) -> float:
        inner = [below(m) for m in _members(gid) if m in frames and last[m] == last[gid]]
        return FRAME_PAD + max(inner, default=0)

    y = MARGIN + sum(canvas.size(t)[1] for t in heading) + LINE_GAP + 0.2
    count = max(rows.values()) + 1
    for row in range(count):
        y += max((above(g) for g in frames if first[g] == row), default=0)
        in_row = [box for part, box in boxes.items() if rows[part] == row]
        top = y
        y += max([MIN_BOX_HEIGHT, *(box.content_height + 2 * PAD for box in in_row)])
        for box in in_row:
            box.top, box.bottom = top, y
        y += max((below(g) for g in frames if last[g] == row), default=0)
        y += ROW_GAP if row < count - 1 else MARGIN
    for gid, frame in frames.items():  # inner frames first: each wraps its members
        members = [boxes.get(m) or frames[m] for m in _members(gid)]
        frame.top = min(m.top for m in members) - _band(frame)
        frame.bottom = max(m.bottom for m in members) + FRAME_PAD
    return y


def _heading(
    canvas: Canvas, notebook: str, built: bool, values: Values, blocks: list[Block]
) -> tuple[Text, Text]:
    """The title, and a line saying where the picture's names come from."""
    room = canvas.figure.get_figwidth() - 2 * MARGIN
    title_font = font(HEADING_SIZE, bold=True)
    title = canvas.text(
        canvas.wrap(heading(notebook, built), room, title_font), title_font, "heading", color=INK
    )
    notes = []
    lab = values.get("lab", {})
    if lab:
        notes.append(
            f"Target {lab.get('target', '?')}, region {lab.get('region', '?')}, "
            f"account {lab.get('account', '?')}."
        )
    if notebook in ("00-setup", "99-teardown"):
        notes.append("A part's badge names the notebook that builds it.")
    if not all(block.present or block.kind == "planned" for block in blocks):
        notes.append(
            "Dashed grey parts do not exist."
            if notebook == "99-teardown"
            else "Dashed grey parts are not built yet."
        )
    sub_font = font(SUBTITLE_SIZE)
    subtitle = canvas.text(
        canvas.wrap(" ".join(notes), room, sub_font), sub_font, "heading", color=SOFT_INK
    )
    return title, subtitle


def _draw_block(canvas: Canvas, block: Block, frame: bool, zorder: float) -> None:
    fill, edge = KINDS[block.kind] if block.present else (DIM_FILL, DIM_EDGE)
    canvas.ax.add_patch(
        FancyBboxPatch(
            (block.x0, block.bottom),
            block.x1 - block.x0,
            block.top - block.bottom,
            boxstyle=f"round,pad=0,rounding_size={0.04 if frame else 0.07}",
            facecolor=fill,
            edgecolor=edge,
            linewidth=1.0 if frame else 1.4,
            linestyle="-" if block.present else "--",
            gid=block.gid,
            zorder=zorder,
        )
    )
    # a box's text is centred in its height; a frame's sits in its top band
    spare = 0 if frame else (block.top - block.bottom - 2 * PAD - block.content_height) / 2
    top = block.top - PAD - spare
    block.title.set_position((block.x0 + PAD, top))
    block.names.set_position((block.x0 + PAD, top - canvas.size(block.title)[1] - LINE_GAP))
    if block.badge:
        block.badge.set_position((block.x1 - PAD - 0.03, block.top - PAD - 0.03))


def _draw_arrow(canvas: Canvas, source: Block, target: Block, arrow: catalogue.Arrow) -> None:
    start, end = _endpoints(source, target)
    present = source.present and target.present
    colour = SOFT_INK if present else DIM_EDGE
    gid = f"arrow:{arrow.source}->{arrow.target}"
    canvas.ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=13,
            shrinkA=0,
            shrinkB=0,
            color=colour,
            linewidth=1.3,
            linestyle="-" if present else "--",
            gid=gid,
            zorder=2.5,
        )
    )
    if not arrow.label:
        return
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    vertical = start[0] == end[0]
    label = canvas.text(
        [arrow.label],
        font(ARROW_SIZE),
        gid,
        color=SOFT_INK if present else DIM_INK,
        ha="left" if vertical else "center",
        va="center" if vertical else "bottom",
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
    )
    label.set_position((middle[0] + 0.07, middle[1]) if vertical else (middle[0], middle[1] + 0.05))


def _endpoints(source: Block, target: Block) -> tuple[tuple[float, float], tuple[float, float]]:
    """Straight between facing sides, through the middle of what the two boxes share."""
    left, right = max(source.x0, target.x0), min(source.x1, target.x1)
    if right - left > 0.1:  # one above the other
        x = (left + right) / 2
        if target.top <= source.bottom:
            return (x, source.bottom), (x, target.top)
        return (x, source.top), (x, target.bottom)
    low, high = max(source.bottom, target.bottom), min(source.top, target.top)
    if high - low > 0.1:  # side by side
        y = (low + high) / 2
        if target.x0 >= source.x1:
            return (source.x1, y), (target.x0, y)
        return (source.x0, y), (target.x1, y)
    raise ValueError(
        f"{source.gid} and {target.gid} share no row or column: place them so that the arrow "
        "between them is straight"
    )
