"""Notebook presentation: notes, tables, links and progress that read well in JupyterLab and in
plain logs (papermill runs, the CLI)."""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def plain() -> bool:
    """Plain text output: outside notebooks, or when a batch run asks for it."""
    return not in_notebook() or os.environ.get("MYSFITS_LAB_PLAIN") == "1"


def _display_html(markup: str, text: str) -> None:
    from IPython.display import display

    # Both forms: JupyterLab renders the HTML, logs and nbval read the text.
    display({"text/html": markup, "text/plain": text}, raw=True)


def rich(markup: str, text: str) -> None:
    """HTML in notebooks (with its text form for logs), the text elsewhere."""
    if in_notebook():
        _display_html(markup, text)
    else:
        print(text)


def note(message: str) -> None:
    print(message)


def warning(message: str) -> None:
    if in_notebook():
        _display_html(
            f'<div style="border-left:4px solid #d97706;background:#fffbeb;padding:.5em 1em">'
            f"⚠️ {html.escape(message)}</div>",
            f"WARNING: {message}",
        )
    else:
        print(f"WARNING: {message}", file=sys.stderr)


def link(url: str, text: str | None = None) -> None:
    label = text or url
    if in_notebook():
        _display_html(
            f'<a href="{html.escape(url)}" target="_blank">{html.escape(label)}</a>',
            f"{label}: {url}",
        )
    else:
        print(f"{label}: {url}" if text else url)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A fixed-width text table (for logs and the CLI)."""
    if not rows:
        return "(nothing)"
    columns = list(columns or rows[0].keys())
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body])


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    text = format_table(rows, columns)
    if title:
        text = f"{title}\n{text}"
    if not in_notebook():
        print(text)
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='text-align:left'>{html.escape(str(r.get(c, '')))}</td>" for c in columns
        )
        + "</tr>"
        for r in rows
    )
    caption = (
        f"<caption style='text-align:left'><b>{html.escape(title)}</b></caption>" if title else ""
    )
    _display_html(
        f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", text
    )


def outputs(store: Any, groups: Iterable[str] | None = None) -> None:
    """The recorded outputs, optionally only some groups."""
    wanted = set(groups) if groups else None
    rows = [r for r in store.entries() if wanted is None or r["output"].split(".")[0] in wanted]
    table(rows, ["output", "value", "module"], title="Recorded outputs")


def progress(total: int | None = None, desc: str = "", unit: str = "it") -> Any:
    """A progress bar in notebooks, occasional log lines elsewhere."""
    if plain():
        return _LogProgress(total, desc, unit)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=True)


class _LogProgress:
    """The subset of tqdm that lib uses, printing at most every 10%."""

    def __init__(self, total: int | None, desc: str, unit: str):
        self.total, self.desc, self.unit, self.n, self._shown = total, desc, unit, 0, -1

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total:
            decile = int(10 * self.n / self.total)
            if decile != self._shown:
                self._shown = decile
                print(f"{self.desc}: {self.n}/{self.total} {self.unit}")

    def close(self) -> None:
        print(f"{self.desc}: done ({self.n} {self.unit})")


def card(title: str, svg: str, text: str = "") -> None:
    """A picture with a title: the recommended mysfit, say."""
    if not in_notebook():
        print(f"{title}" + (f" ({text})" if text else ""))
        return
    markup = (
        "<div style='display:flex;gap:1em;align-items:center;border:1px solid #ddd;"
        "border-radius:12px;padding:.8em;max-width:520px'>"
        f"<div style='width:120px;height:120px'>{svg}</div>"
        f"<div><div style='font-size:1.2em;font-weight:bold'>{html.escape(title)}</div>"
        f"<div style='color:#555'>{html.escape(text)}</div></div></div>"
    )
    _display_html(markup, f"{title} ({text})" if text else title)
