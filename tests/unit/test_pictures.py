"""The module pictures, measured with matplotlib's renderer: every text inside its box and the
figure, every arrow from a box to a box, real names shown whole; and the notebooks show them."""

import base64
import re

import IPython.display
import nbformat
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from mysfits_lab import diagrams, workbook
from mysfits_lab.diagrams import catalogue, draw
from mysfits_lab.diagrams.sample import sample_outputs
from mysfits_lab.paths import project_root

ROOT = project_root()
WRITTEN = [m.notebook for m in workbook.MODULES if not m.planned]
# Long real names: a 20-character learner in a long region, as AWS would name things.
LONG = sample_outputs(learner="abcdefghij-klmnopqrs", region="ap-southeast-2")
TOUCH = 2.5  # px: an arrow's tip stops short of the box by its line's width


def _before(notebook: str, values: catalogue.Values) -> dict:
    """What the store holds when ``notebook`` starts: the outputs of the modules before it."""
    order = workbook.notebooks()
    earlier = set(order[: order.index(notebook)])
    return {
        group: names
        for group, names in values.items()
        if group == "lab" or workbook.producer(group) in earlier
    }


STATES = [
    pytest.param(notebook, built, values, id=f"{notebook}-{label}")
    for notebook in diagrams.PICTURES
    for built, values, label in (
        (False, {}, "nothing-built"),
        (False, _before(notebook, LONG), "will-build"),
        (True, LONG, "built"),
    )
]


def _inside(inner, outer, slack: float = 0.5) -> bool:
    return (
        inner.x0 >= outer.x0 - slack
        and inner.x1 <= outer.x1 + slack
        and inner.y0 >= outer.y0 - slack
        and inner.y1 <= outer.y1 + slack
    )


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _to_border(point, box) -> float:
    """Pixels from ``point`` to the outline of ``box``."""
    x, y = point
    if box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1:
        return min(x - box.x0, box.x1 - x, y - box.y0, box.y1 - y)
    return float(np.hypot(max(box.x0 - x, 0, x - box.x1), max(box.y0 - y, 0, y - box.y1)))


def layout_problems(figure) -> list[str]:
    """Everything wrong with a picture's layout, measured in pixels after drawing it."""
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    owners = {
        p.get_gid(): p.get_window_extent(renderer)
        for p in ax.patches
        if isinstance(p, FancyBboxPatch)
    }
    boxes = {gid: extent for gid, extent in owners.items() if gid.startswith("part:")}
    problems = []
    placed: dict[str, list] = {}
    for text in ax.texts:
        gid, extent, words = text.get_gid(), text.get_window_extent(renderer), text.get_text()
        if not words:
            continue
        if not _inside(extent, figure.bbox):
            problems.append(f"{words!r} leaves the figure")
        if gid in owners:
            if not _inside(extent, owners[gid]):
                problems.append(f"{words!r} leaves its box {gid}")
            placed.setdefault(gid, []).append((words, extent))
        elif gid == "heading" or gid.startswith("arrow:"):
            problems += [f"{words!r} covers {b}" for b, e in boxes.items() if _overlap(extent, e)]
        else:
            problems.append(f"{words!r} belongs to nothing ({gid})")
    for gid, texts in placed.items():
        for i, (words, extent) in enumerate(texts):
            problems += [
                f"{words!r} overlaps {other!r} in {gid}"
                for other, other_extent in texts[i + 1 :]
                if _overlap(extent, other_extent)
            ]
    for arrow in (p for p in ax.patches if isinstance(p, FancyArrowPatch)):
        path = arrow.get_path()
        points = ax.transData.transform(path.vertices[path.codes != MplPath.CLOSEPOLY])
        start = points[0]
        tip = max(points, key=lambda p: np.hypot(*(p - start)))
        source, target = arrow.get_gid().removeprefix("arrow:").split("->")
        for end, part in ((start, source), (tip, target)):
            touching = [b for b, e in boxes.items() if _to_border(end, e) <= TOUCH]
            if touching != [f"part:{part}"]:
                problems.append(f"{arrow.get_gid()} ends at {touching or 'no box'}, not {part}")
        for step in np.linspace(0.02, 0.98, 60):
            point = start + step * (tip - start)
            for gid, e in boxes.items():
                inner = e.padded(-1)
                if inner.x0 < point[0] < inner.x1 and inner.y0 < point[1] < inner.y1:
                    problems.append(f"{arrow.get_gid()} crosses {gid}")
    return sorted(set(problems))


def _texts(figure) -> str:
    return "".join(t.get_text().replace("\n", "") for t in figure.axes[0].texts)


def _box(figure, part: str) -> FancyBboxPatch:
    return next(p for p in figure.axes[0].patches if p.get_gid() == f"part:{part}")


@pytest.mark.parametrize(("notebook", "built", "values"), STATES)
def test_labels_stay_in_their_boxes_and_arrows_join_boxes(notebook, built, values):
    figure = diagrams.figure(notebook, values, built)
    assert layout_problems(figure) == []
    assert figure.get_figwidth() * draw.DPI <= 900, "readable at notebook width"


def test_the_layout_check_catches_a_label_out_of_its_box_and_a_loose_arrow():
    figure = diagrams.figure("01-static-site", LONG, built=True)
    label = next(t for t in figure.axes[0].texts if t.get_gid() == "part:website")
    x, y = label.get_position()
    label.set_position((x + 0.5, y))
    arrow = next(p for p in figure.axes[0].patches if isinstance(p, FancyArrowPatch))
    arrow.set_positions((0.05, 0.05), (0.3, 0.05))
    problems = layout_problems(figure)
    assert any("leaves its box part:website" in p for p in problems)
    assert any("ends at no box" in p for p in problems)


@pytest.mark.parametrize(
    ("notebook", "keys"),
    [
        ("01-static-site", ["website.bucket"]),
        (
            "02a-service",
            [
                "website.bucket",
                "network.vpc_id",
                "network.stack_name",
                "network.public_subnet_one",
                "network.service_subnet_two",
                "service.nlb_dns",
                "service.name",
                "service.cluster",
                "service.log_group",
            ],
        ),
        ("03-data", ["data.table", "pipeline.name", "service.name", "website.bucket"]),
        ("07-recommendations", ["recommendations.training_job", "recommendations.endpoint_name"]),
    ],
)
def test_what_you_built_shows_real_names_whole(notebook, keys):
    shown = _texts(diagrams.figure(notebook, LONG, built=True))
    plan = _texts(diagrams.figure("00-setup", LONG, built=True))
    for key in keys:
        name = catalogue.value(LONG, key)
        assert name in shown and name in plan, f"{key}: {name}"
    assert "…" not in shown + plan, "no name was cut short"


def test_what_you_will_build_dims_the_missing_parts_with_generic_names():
    before = diagrams.figure("02a-service", _before("02a-service", LONG), built=False)
    assert _box(before, "website").get_linestyle() == "-"  # built by 01: real name
    assert catalogue.value(LONG, "website.bucket") in _texts(before)
    assert _box(before, "nlb").get_linestyle() == "--"
    assert "network load balancer" in _texts(before)
    assert catalogue.value(LONG, "service.nlb_dns") not in _texts(before)
    assert "Dashed grey parts are not built yet." in _texts(before)
    assert "What you will build · 02a-service" in _texts(before)

    after = diagrams.figure("02a-service", LONG, built=True)
    assert _box(after, "nlb").get_linestyle() == "-"
    assert "not built yet" not in _texts(after)
    assert "What you built · 02a-service" in _texts(after)


def test_every_notebook_has_a_picture_and_the_plan_shows_every_part():
    assert set(diagrams.PICTURES) == set(WRITTEN)
    plan = {slot.part for slot in catalogue.picture("00-setup").slots}
    for notebook, picture in diagrams.PICTURES.items():
        assert {slot.part for slot in picture.slots} <= plan, notebook
    for part in catalogue.PARTS.values():
        assert part.module is None or part.module in WRITTEN, "planned modules build nothing yet"
    shown = _texts(diagrams.figure("00-setup", {}, built=False))
    for module in workbook.MODULES:
        if module.planned:
            assert module.notebook in shown, "the plan lists what is not written yet"


def test_long_names_are_wrapped_at_separators_and_cut_only_past_the_line_limit():
    canvas = draw.Canvas(4)
    props = draw.font(draw.NAME_SIZE)
    name = catalogue.value(LONG, "service.nlb_dns")
    lines = canvas.wrap(name, 1.5, props)
    assert len(lines) > 1 and "".join(lines) == name
    assert all(canvas.width(line, props) <= 1.5 for line in lines)
    assert lines[0].endswith("-"), "broken after a separator"
    assert canvas.wrap("02b-pipeline, 03-data, 06-questions", 1.5, props)[-1] == "06-questions"
    cut = canvas.name_lines(["x" * 400], 1.5, props)
    assert len(cut) == draw.MAX_NAME_LINES and cut[-1].endswith("…")
    assert all(canvas.width(line, props) <= 1.5 for line in cut)


def test_describe_says_the_picture_in_words():
    text = diagrams.describe("01-static-site", {}, built=False)
    assert text.splitlines()[0] == "What you will build · 01-static-site"
    assert "- S3 website [01-static-site]: not built yet (website bucket)" in text
    assert "Browser → S3 website (GET /)" in text
    assert catalogue.value(LONG, "website.bucket") in diagrams.describe("01-static-site", LONG)


class _Store:
    def values(self) -> catalogue.Values:
        return LONG


class _Lab:
    outputs = _Store()


def test_architecture_prints_words_outside_notebooks_and_shows_a_png_in_them(capsys, monkeypatch):
    diagrams.architecture(_Lab(), "07-recommendations", built=True)
    assert capsys.readouterr().out.startswith("What you built · 07-recommendations")

    shown = []
    monkeypatch.setattr(diagrams.show, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    diagrams.architecture(_Lab(), "02a-service")
    (data,), options = shown[0]
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
    assert data["text/plain"].startswith("What you will build · 02a-service")
    assert options["metadata"]["image/png"]["width"] == 900


# -- the notebooks' shape ------------------------------------------------------------------
def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", WRITTEN)
def test_parameters_default_to_the_settings(name):
    cells = _notebook(name).cells
    (parameters,) = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    for line in ("target = None", "region = None", "learner = None"):
        assert re.search(rf"^{line}\b", parameters.source, re.M), line
    assert "mysfits-lab settings" in parameters.source
    assert any(
        "Lab.connect(target=target, region=region, learner=learner" in c.source for c in cells
    )


@pytest.mark.parametrize("name", WRITTEN)
def test_notebooks_show_what_you_will_build_first_and_what_you_built_before_clean_up(name):
    cells = _notebook(name).cells
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    connect = next(i for i in code if "Lab.connect(" in cells[i].source)
    first = next(i for i in code if i > connect)
    assert cells[first].source == f'diagrams.architecture(lab, "{name}", built=False)'
    clean_up = [i for i, c in enumerate(cells) if c.source.startswith("## Clean up")]
    if clean_up:
        before = max(i for i in code if i < clean_up[0])
        assert cells[before].source == f'diagrams.architecture(lab, "{name}", built=True)'


NOTEBOOK_NAME = re.compile(r"\b\d\d[a-z]?-[a-z]+(?:-[a-z]+)*\b")


@pytest.mark.parametrize("name", WRITTEN)
def test_notebooks_name_only_notebooks_that_exist(name):
    text = "\n".join(c.source for c in _notebook(name).cells)
    named = set(NOTEBOOK_NAME.findall(text))
    assert named <= set(WRITTEN), f"{name} names {sorted(named - set(WRITTEN))}"
    assert not re.search(r"\bpart 2\b", text, re.I)


def test_the_readme_shows_every_picture():
    readme = (ROOT / "README.md").read_text()
    for notebook in diagrams.PICTURES:
        path = f"assets/diagrams/{notebook}.png"
        assert path in readme
        assert (ROOT / path).read_bytes().startswith(b"\x89PNG")
