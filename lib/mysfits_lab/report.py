"""The class report of an instructor's batch: one CSV row per learner and notebook, and a
self-contained HTML page with a learner × module grid.

Pure functions of a ``BatchReport``: nothing here runs notebooks or reads the lab's state, so the
report can be tested (and re-rendered) from plain data.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

CSV_COLUMNS = (
    "learner",
    "notebook",
    "status",
    "seconds",
    "cell",
    "error",
    "notebook_path",
    "teardown",
)
STATUSES = ("ok", "failed", "skipped")
_ERROR_SHOWN = 300  # characters of an error message in a grid cell; the full text is its tooltip


@dataclass
class NotebookResult:
    """One notebook of one learner's run."""

    notebook: str
    status: str  # ok | failed | skipped
    seconds: float | None = None
    path: str | None = None  # the executed notebook, relative to the batch folder
    error: str = ""
    cell: int | None = None  # execution count of the failing cell


@dataclass
class LearnerResult:
    """One learner's run: its notebooks, how long it took, and what teardown left behind."""

    learner: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    seconds: float = 0.0
    started: str = ""  # ISO time
    log: str | None = None  # the learner's run.log, relative to the batch folder
    teardown: str | None = None  # None: not asked for; "ok" or what failed
    outputs: int | None = None  # values in the learner's outputs store at the end

    @property
    def ok(self) -> bool:
        notebooks_ok = bool(self.notebooks) and all(n.status == "ok" for n in self.notebooks)
        return notebooks_ok and self.teardown in (None, "ok")

    @property
    def failed(self) -> NotebookResult | None:
        return next((n for n in self.notebooks if n.status == "failed"), None)


@dataclass
class BatchReport:
    target: str
    region: str
    notebooks: list[str]
    learners: list[LearnerResult]
    wall_seconds: float = 0.0
    started: str = ""
    parallel: int = 1
    teardown: bool = False
    cloud_memory_kb: int | None = None  # local target: the cloud and its children, at the end
    cloud_processes: int | None = None

    @property
    def ok_count(self) -> int:
        return sum(1 for learner in self.learners if learner.ok)

    @property
    def failed_count(self) -> int:
        return len(self.learners) - self.ok_count


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def csv_rows(report: BatchReport) -> list[dict[str, str]]:
    """One row per learner and notebook, in the learners' and the workbook's order."""
    rows = []
    for learner in report.learners:
        for item in learner.notebooks:
            rows.append(
                {
                    "learner": learner.learner,
                    "notebook": item.notebook,
                    "status": item.status,
                    "seconds": _seconds(item.seconds) if item.status != "skipped" else "",
                    "cell": "" if item.cell is None else str(item.cell),
                    "error": item.error,
                    "notebook_path": item.path or "",
                    "teardown": "" if learner.teardown is None else learner.teardown,
                }
            )
    return rows


def csv_text(report: BatchReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(report))
    return buffer.getvalue()


def summary_line(report: BatchReport) -> str:
    learners = len(report.learners)
    line = (
        f"{report.ok_count} of {learners} learner{'s' * (learners != 1)} ok, "
        f"{report.failed_count} failed; wall time {report.wall_seconds:.1f}s "
        f"({report.parallel} at a time, target {report.target}, {report.region})"
    )
    return line


def memory_line(report: BatchReport) -> str | None:
    if report.cloud_memory_kb is None:
        return None
    processes = report.cloud_processes or 1
    return (
        f"local cloud resident memory at the end: {report.cloud_memory_kb / 1024:.1f} MiB "
        f"({processes} process{'es' * (processes != 1)}: the cloud and its children)"
    )


def summary_rows(report: BatchReport) -> list[dict[str, str]]:
    """One row per learner: for the table the command prints at the end."""
    rows = []
    for learner in report.learners:
        done = sum(1 for n in learner.notebooks if n.status == "ok")
        failed = learner.failed
        row = {
            "learner": learner.learner,
            "status": "ok" if learner.ok else "FAILED",
            "notebooks": f"{done}/{len(learner.notebooks)}",
            "seconds": f"{learner.seconds:.1f}",
            "failed at": _failure_text(failed)[:80] if failed else "",
        }
        if report.teardown:
            row["teardown"] = (learner.teardown or "")[:60]
        row["outputs"] = "" if learner.outputs is None else str(learner.outputs)
        rows.append(row)
    return rows


def _failure_text(item: NotebookResult) -> str:
    cell = f" cell [{item.cell}]" if item.cell is not None else ""
    return f"{item.notebook}{cell}: {item.error}"


# -- HTML -----------------------------------------------------------------------------------
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2937; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
p.summary { font-size: 1.05em; margin: .3em 0; }
p.summary.failed { color: #991b1b; } p.summary.ok { color: #166534; }
p.meta { color: #4b5563; margin: .2em 0; }
table.grid { border-collapse: collapse; margin-top: 1em; }
.grid th, .grid td { border: 1px solid #d1d5db; padding: .35em .5em; vertical-align: top;
  text-align: left; font-size: .9em; }
.grid thead th { background: #f3f4f6; position: sticky; top: 0; white-space: nowrap; }
.grid td.num { text-align: right; white-space: nowrap; }
.grid td.ok { background: #dcfce7; } .grid td.failed { background: #fee2e2; }
.grid td.skipped { background: #f3f4f6; color: #6b7280; }
.grid td.pending { background: #fef9c3; }
.grid td .status { font-weight: 600; } .grid td .secs { color: #374151; }
.grid td .error { display: block; max-width: 26em; white-space: pre-wrap; word-break: break-word;
  font-family: ui-monospace, monospace; font-size: .85em; color: #7f1d1d; margin-top: .2em; }
.grid th.learner.failed { color: #991b1b; } .grid th.learner.ok { color: #166534; }
.grid td.teardown-failed { background: #fee2e2; }
.legend span { display: inline-block; padding: .1em .6em; margin-right: .4em; border-radius: 3px; }
"""


def _cell(item: NotebookResult) -> str:
    status = item.status if item.status in STATUSES else "pending"
    label = f'<span class="status">{html.escape(item.status)}</span>'
    if item.path:
        href = html.escape(quote(item.path), quote=True)
        label = f'<a href="{href}" title="the executed notebook">{label}</a>'
    parts = [label]
    if item.seconds is not None and item.status != "skipped":
        parts.append(f'<span class="secs">{item.seconds:.1f}s</span>')
    if item.status == "failed":
        where = f"cell [{item.cell}]: " if item.cell is not None else ""
        message = item.error or "(no error message)"
        shown = message if len(message) <= _ERROR_SHOWN else message[: _ERROR_SHOWN - 1] + "…"
        parts.append(
            f'<span class="error" title="{html.escape(message, quote=True)}">'
            f"{html.escape(where + shown)}</span>"
        )
    return f'<td class="{status}">{" ".join(parts)}</td>'


def _learner_header(learner: LearnerResult) -> str:
    name = html.escape(learner.learner)
    if learner.log:
        href = html.escape(quote(learner.log), quote=True)
        name = f'<a href="{href}" title="its run log">{name}</a>'
    state = "ok" if learner.ok else "failed"
    return f'<th class="learner {state}" scope="row">{name}</th>'


def html_page(report: BatchReport, title: str = "Mythical Mysfits: class report") -> str:
    """The whole report as one HTML page: inline CSS, relative links only, no scripts."""
    head = ["<th>learner</th>"]
    head += [f"<th>{html.escape(nb)}</th>" for nb in report.notebooks]
    head += ["<th>seconds</th>", "<th>started (UTC)</th>"]
    if report.teardown:
        head.append("<th>teardown</th>")
    head.append('<th title="values in the learner\'s outputs store at the end">outputs</th>')

    body = []
    for learner in report.learners:
        by_notebook = {item.notebook: item for item in learner.notebooks}
        cells = [_learner_header(learner)]
        for notebook in report.notebooks:
            item = by_notebook.get(notebook)
            cells.append(_cell(item) if item else '<td class="skipped">–</td>')
        cells.append(f'<td class="num">{learner.seconds:.1f}</td>')
        # the time of day is what tells learners apart; the full ISO time is the tooltip
        clock = learner.started[11:19] or learner.started
        cells.append(
            f'<td class="num" title="{html.escape(learner.started, quote=True)}">'
            f"{html.escape(clock)}</td>"
        )
        if report.teardown:
            text = learner.teardown or "not run"
            css = "" if text == "ok" else ' class="teardown-failed"'
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        outputs = "" if learner.outputs is None else learner.outputs
        cells.append(f'<td class="num">{outputs}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")

    state = "ok" if report.failed_count == 0 else "failed"
    meta = [f"started {html.escape(report.started)}"] if report.started else []
    memory = memory_line(report)
    if memory:
        meta.append(html.escape(memory))
    meta_html = "".join(f'<p class="meta">{line}</p>' for line in meta)
    legend = (
        '<p class="legend meta">'
        '<span style="background:#dcfce7">ok</span>'
        '<span style="background:#fee2e2">failed</span>'
        '<span style="background:#f3f4f6">skipped (after a failure)</span>'
        " Each status links to the executed notebook; each learner to its run log.</p>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="summary {state}">{html.escape(summary_line(report))}</p>'
        f"{meta_html}{legend}"
        f'<table class="grid"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )


def write(report: BatchReport, folder: Path) -> tuple[Path, Path]:
    """Write ``report.csv`` and ``report.html`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / "report.csv", folder / "report.html"
    csv_path.write_text(csv_text(report), encoding="utf-8")
    html_path.write_text(html_page(report), encoding="utf-8")
    return csv_path, html_path
