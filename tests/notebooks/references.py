"""nbval reference notebooks: the teaching notebooks plus the expected output of their check cells.

The teaching notebooks are committed without outputs; the check cells need outputs to compare
with (``check_outputs.py``), so the references live here. Refresh them after changing a notebook
with ``.venv/bin/python -m tests.notebooks.references`` (runs on a fresh local cloud).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat

from mysfits_lab import workbook

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = Path(__file__).with_name("reference")
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
# Every written notebook of the workbook table: each ends with a deterministic check cell.
CHECKED = [m.notebook for m in workbook.MODULES if not m.planned]


def is_check_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and cell.get("source", "").startswith(CHECK_MARKER)


def code_sources(notebook: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in notebook.cells if c.cell_type == "code"]


def make_reference(teaching: Path, executed: Path, target: Path) -> None:
    """Copy the teaching notebook, with outputs only on its check cells (from ``executed``)."""
    reference = nbformat.read(teaching, as_version=4)
    ran = {
        c.source: c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"
    }
    for cell in reference.cells:
        if is_check_cell(cell):
            cell.outputs = ran[cell.source].outputs
            cell.execution_count = 1
    nbformat.write(reference, target)


def refresh() -> None:
    from mysfits_lab.localcloud import control
    from mysfits_lab.runner import run_notebooks

    with tempfile.TemporaryDirectory() as home:
        os.environ.update(
            MYSFITS_LAB_HOME=home, MYSFITS_LAB_EDGE_PORT="4591", MYSFITS_LAB_RUNS=f"{home}/runs"
        )
        try:
            result = run_notebooks(only=CHECKED)
            if not result.ok:
                sys.exit(f"cannot refresh references: {result.failed}")
            for run in result.runs:
                make_reference(
                    ROOT / "notebooks" / f"{run.notebook}.ipynb",
                    run.output_path,
                    REFERENCE_DIR / f"{run.notebook}.ipynb",
                )
                print(f"refreshed {REFERENCE_DIR / run.notebook}.ipynb")
        finally:
            control.down()


if __name__ == "__main__":
    refresh()
