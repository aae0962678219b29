"""The notebooks as a learner and an instructor run them: papermill, reruns, nbval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import requests

from mysfits_lab.outputs import OutputsStore
from mysfits_lab.paths import learner_dir
from mysfits_lab.runner import available, run_notebooks
from tests.notebooks.references import CHECKED, REFERENCE_DIR, code_sources, is_check_cell

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _cell_text(path: Path, marker: str) -> str:
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and marker in c.source)
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.parametrize("name", available())
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


@pytest.mark.notebook
def test_setup_then_static_site_then_static_site_again(cloud):
    first = run_notebooks(only=["00", "01"])
    assert first.ok, first.failed
    assert [r.notebook for r in first.runs] == ["00-setup", "01-static-site"]
    summary = _cell_text(first.runs[1].output_path, "check_site")
    assert "The site answers 200 and shows 6 mysfits" in summary

    again = run_notebooks(only=["01"])  # idempotent: same bucket, same URL, no error
    assert again.ok, again.failed
    store = OutputsStore(learner_dir("mysfit") / "outputs.json", "mysfit")
    url = store.get("website.url")
    assert requests.get(f"{url}/", timeout=10).status_code == 200
    assert "6 mysfits" in _cell_text(again.runs[0].output_path, "check_site")


@pytest.mark.notebook
def test_cli_run_reports_the_failing_notebook_and_cell(cloud, tmp_path):
    broken = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('target = "local"\nregion = "us-east-1"\nlearner = "mysfit"')
    params.metadata["tags"] = ["parameters"]
    broken.cells = [params, nbformat.v4.new_code_cell("raise ValueError('the bucket is on fire')")]
    nbformat.write(broken, tmp_path / "00-setup.ipynb")
    env = os.environ | {"MYSFITS_LAB_NOTEBOOKS": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "mysfits_lab.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    # cell numbers are execution counts in the executed notebook (after papermill's injected cell)
    assert "FAILED: 00-setup at cell [3]: ValueError: the bucket is on fire" in result.stdout


def test_cli_rejects_a_bad_learner_name_before_running_anything():
    result = subprocess.run(
        [sys.executable, "-m", "mysfits_lab.cli", "run", "--learner", "Bad_Name"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "learner must be" in result.stderr


@pytest.mark.parametrize("name", CHECKED)
def test_nbval_references_match_the_teaching_notebooks(name):
    reference = nbformat.read(REFERENCE_DIR / f"{name}.ipynb", as_version=4)
    teaching = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert code_sources(reference) == code_sources(teaching), (
        "refresh with: .venv/bin/python -m tests.notebooks.references"
    )
    assert all(c.outputs for c in reference.cells if is_check_cell(c))


@pytest.mark.notebook
def test_nbval_check_cells_reproduce(cloud):
    references = [str(REFERENCE_DIR / f"{name}.ipynb") for name in CHECKED]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-sanitize-with",
            str(Path(__file__).with_name("sanitize.cfg")),
            *references,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REFERENCE_DIR,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    passed = json.dumps(result.stdout)
    assert " passed" in passed
