"""nbval's lax comparison, applied to notebooks papermill already executed.

Running nbval itself would execute the reference notebooks once more (the whole workbook a
second time); instead the check cells' outputs of the workbook run are compared with the
references' by nbval's own rules: streams of one name merged, outputs grouped by stream name or
MIME type, volatile keys skipped, both sides passed through the sanitize file's regexes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import nbformat
from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

from tests.notebooks.references import is_check_cell

SANITIZE_FILE = Path(__file__).with_name("sanitize.cfg")
# nbval's skip list (without --nbdime, pictures are not compared either).
SKIPPED = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}


def sanitize_patterns(path: Path = SANITIZE_FILE) -> list[tuple[str, str]]:
    return get_sanitize_patterns(path.read_text())


def comparable(outputs: list[Any], patterns: list[tuple[str, str]]) -> dict[str, list[Any]]:
    """A cell's outputs as nbval compares them: values per stream name or MIME type."""
    grouped: dict[str, list[Any]] = defaultdict(list)

    def sanitized(value: Any) -> Any:
        if isinstance(value, str):
            for regex, replace in patterns:
                value = re.sub(regex, replace, value)
        return value

    merged = coalesce_streams([nbformat.from_dict(dict(o)) for o in outputs])
    for output in transform_streams_for_comparison(merged):
        for key, value in output.items():
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIPPED:
                        grouped[mime].append(sanitized(content))
            elif key not in SKIPPED:
                grouped[key].append(sanitized(value))
    return dict(grouped)


def check_cell_differences(
    reference: Path, executed: Path, patterns: list[tuple[str, str]] | None = None
) -> list[str]:
    """How the executed notebook's check cells differ from the reference's (empty: none)."""
    patterns = sanitize_patterns() if patterns is None else patterns
    expected = [c for c in nbformat.read(reference, as_version=4).cells if is_check_cell(c)]
    actual = [c for c in nbformat.read(executed, as_version=4).cells if is_check_cell(c)]
    if [c.source for c in expected] != [c.source for c in actual]:
        return [f"{executed.name}: its check cells are not the reference's; refresh the references"]
    differences = []
    for number, (want, got) in enumerate(zip(expected, actual, strict=True), start=1):
        want_outputs, got_outputs = (
            comparable(want.outputs, patterns),
            comparable(got.outputs, patterns),
        )
        if want_outputs != got_outputs:
            differences.append(
                f"{executed.name}, check cell {number}:\n"
                f"  reference: {want_outputs}\n  executed:  {got_outputs}"
            )
    return differences
