"""`mysfits-lab batch` end to end on a tiny fake workbook: three learners, two at a time, one of
whom fails; the reports, the executed notebooks and the overlap of the parallel runs.

The fake notebooks never connect, and the batch runs with ``--target aws`` so that neither the
batch nor the runner starts a local cloud; with no credentials and no AWS configuration in the
environment, nothing can reach an account either.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat

LEARNERS = ["learner01", "learner02", "learner03"]
NOTEBOOKS = ["00-setup", "01-static-site"]


def _notebook(path: Path, code: str) -> None:
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("target = None\nregion = None\nlearner = None")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(code)]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)


def _span(folder: Path) -> tuple[datetime, datetime]:
    """When a learner's first notebook started and its last one ended (papermill's record)."""
    times = []
    for name in NOTEBOOKS:
        meta = json.loads((folder / f"{name}.ipynb").read_text())["metadata"]["papermill"]
        times += [
            datetime.fromisoformat(meta["start_time"]),
            datetime.fromisoformat(meta["end_time"]),
        ]
    return min(times), max(times)


def test_a_batch_of_three_learners_two_at_a_time(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    # long enough that two learners' first notebooks surely run at the same time
    _notebook(notebooks / "00-setup.ipynb", "import time\ntime.sleep(1.5)\nprint(learner, target)")
    _notebook(
        notebooks / "01-static-site.ipynb",
        'assert learner != "learner02", f"{learner} <is> unlucky & sad"',
    )
    out = tmp_path / "class"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "MYSFITS_LAB_NOTEBOOKS": str(notebooks),
        "MYSFITS_LAB_HOME": str(tmp_path / "home"),
        "MYSFITS_LAB_RUNS": str(tmp_path / "runs"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "mysfits_lab.cli", "batch", "--learners", "3", "--parallel", "2"]
        + ["--target", "aws", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Report: {out / 'report.html'}" in result.stdout
    assert "2 of 3 learners ok, 1 failed" in result.stdout
    assert not (tmp_path / "home" / "cloud").exists()  # no local cloud was started

    rows = list(csv.DictReader((out / "report.csv").open()))
    status = {(r["learner"], r["notebook"]): r for r in rows}
    assert len(rows) == 6
    failed = status["learner02", "01-static-site"]
    assert failed["status"] == "failed"
    assert failed["error"] == "AssertionError: learner02 <is> unlucky & sad"
    assert failed["cell"] == "3"  # papermill's injected parameters cell comes before it
    assert all(
        r["status"] == "ok" for key, r in status.items() if key != ("learner02", "01-static-site")
    )

    for learner in LEARNERS:
        folder = out / learner
        for name in NOTEBOOKS:
            executed = folder / f"{name}.ipynb"
            assert executed.exists(), executed
            assert status[learner, name]["notebook_path"] == f"{learner}/{name}.ipynb"
        assert "Running 2 notebooks for learner " + learner in (folder / "run.log").read_text()
    injected = (out / "learner03" / "00-setup.ipynb").read_text()
    assert 'learner = \\"learner03\\"' in injected  # each learner ran under its own name

    page = (out / "report.html").read_text()
    assert "learner02 &lt;is&gt; unlucky &amp; sad" in page and "<is>" not in page
    assert '<a href="learner02/01-static-site.ipynb"' in page
    assert "http://" not in page and "https://" not in page

    spans = {learner: _span(out / learner) for learner in LEARNERS}
    first, second = spans["learner01"], spans["learner02"]
    assert first[0] < second[1] and second[0] < first[1], f"not in parallel: {spans}"
    # never more than two at once: learner03 waited for a free slot
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    running, most = 0, 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most == 2, spans
