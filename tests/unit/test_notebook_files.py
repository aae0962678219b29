"""The notebooks as committed: clean, one parameters cell, a check cell, and references that
match them (the notebook tests compare the check cells' outputs with those references)."""

import nbformat
import pytest

from mysfits_lab import workbook
from mysfits_lab.paths import project_root
from tests.notebooks.references import CHECKED, REFERENCE_DIR, code_sources, is_check_cell

NOTEBOOKS = project_root() / "notebooks"
WRITTEN = [m.notebook for m in workbook.MODULES if not m.planned]


@pytest.mark.parametrize("name", WRITTEN)
def test_notebooks_are_committed_clean_with_one_parameters_cell(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs"
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for parameter in ("target", "region", "learner"):
        assert f"{parameter} = " in tagged[0].source
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    assert any(is_check_cell(c) for c in code), "every notebook proves itself in a check cell"


@pytest.mark.parametrize("name", CHECKED)
def test_nbval_references_match_the_teaching_notebooks(name):
    reference = nbformat.read(REFERENCE_DIR / f"{name}.ipynb", as_version=4)
    teaching = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert code_sources(reference) == code_sources(teaching), (
        "refresh with: .venv/bin/python -m tests.notebooks.references"
    )
    assert all(c.outputs for c in reference.cells if is_check_cell(c))
