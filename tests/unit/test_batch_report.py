"""The instructor's batch, without running a notebook: learner names, the plan's refusals, the
CSV and HTML reports, teardown summaries and what is read from executed notebooks."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from mysfits_lab import cli
from mysfits_lab.batch import (
    first_error,
    learner_names,
    parse_names,
    plan_batch,
    read_names,
    teardown_summary,
    tree_memory_kb,
)
from mysfits_lab.lab import LabError
from mysfits_lab.report import (
    CSV_COLUMNS,
    BatchReport,
    LearnerResult,
    NotebookResult,
    csv_text,
    html_page,
    summary_rows,
)

NOTEBOOKS = ["00-setup", "01-static-site", "02a-service"]
EVIL = "AssertionError: <script>alert('x')</script> & \"quoted\", with a comma"


def _report() -> BatchReport:
    ok = LearnerResult(
        "learner01",
        [
            NotebookResult(nb, "ok", 2.5 + i, f"learner01/{nb}.ipynb")
            for i, nb in enumerate(NOTEBOOKS)
        ],
        seconds=12.25,
        started="2025-03-01T09:00:00+00:00",
        log="learner01/run.log",
        teardown="ok",
        outputs=7,
    )
    broken = LearnerResult(
        "learner02",
        [
            NotebookResult("00-setup", "ok", 3.0, "learner02/00-setup.ipynb"),
            NotebookResult(
                "01-static-site", "failed", 1.5, "learner02/01-static-site.ipynb", EVIL, 3
            ),
            NotebookResult("02a-service", "skipped"),
        ],
        seconds=8.0,
        started="2025-03-01T09:00:01+00:00",
        log="learner02/run.log",
        teardown="failed: 01-static-site/website: ClientError: BucketNotEmpty",
        outputs=2,
    )
    return BatchReport(
        "local",
        "us-east-1",
        NOTEBOOKS,
        [ok, broken],
        wall_seconds=20.5,
        started="2025-03-01T09:00:00+00:00",
        parallel=2,
        teardown=True,
        cloud_memory_kb=512 * 1024,
        cloud_processes=4,
    )


# -- learner names ---------------------------------------------------------------------------
def test_learner_names_are_padded_to_the_width_of_the_count():
    assert learner_names(3) == ["learner01", "learner02", "learner03"]
    assert learner_names(12)[-1] == "learner12"
    hundred = learner_names(100)
    assert hundred[0] == "learner001" and hundred[-1] == "learner100"
    assert hundred == sorted(hundred)  # padded names sort in order
    with pytest.raises(LabError, match="at least 1"):
        learner_names(0)


def test_a_names_file_skips_blank_lines_and_comments(tmp_path):
    path = tmp_path / "class.txt"
    path.write_text("# monday's class\n\nana\n  bruno  # the late one\n\n#carla\ndiego-2\n")
    assert read_names(path) == ["ana", "bruno", "diego-2"]


@pytest.mark.parametrize(
    "text, line, why",
    [
        ("ana\n# ok\nBruno\n", 3, "lower-case letters"),
        ("ana\n\n9lives\n", 3, "starting with a letter"),
        ("ana\nbruno\nana\n", 3, "already on line 1"),
        ("a_b\n", 1, "lower-case letters"),
    ],
)
def test_a_bad_name_is_refused_with_its_line(tmp_path, text, line, why):
    path = tmp_path / "names.txt"
    path.write_text(text)
    with pytest.raises(LabError, match=rf"names\.txt, line {line}: .*{why}"):
        read_names(path)


def test_a_names_file_without_names_or_missing_is_refused(tmp_path):
    with pytest.raises(LabError, match="names no learners"):
        parse_names("# nobody yet\n\n")
    with pytest.raises(LabError, match="cannot read the learner names"):
        read_names(tmp_path / "missing.txt")


def test_the_command_refuses_a_bad_names_file_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path / "home"))
    path = tmp_path / "names.txt"
    path.write_text("ana\nBad Name\n")
    out = tmp_path / "out"
    assert cli.main(["batch", "--names", str(path), "--out", str(out)]) == 2
    assert f"{path}, line 2:" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):  # one or the other, not both
        cli.main(["batch", "--learners", "2", "--names", str(path)])
    with pytest.raises(SystemExit):
        cli.main(["batch", "--learners", "0"])


# -- the plan ------------------------------------------------------------------------------
@pytest.fixture
def workbook(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("00-setup", "01-static-site"):
        nbformat.write(nbformat.v4.new_notebook(), folder / f"{name}.ipynb")
    monkeypatch.setenv("MYSFITS_LAB_NOTEBOOKS", str(folder))
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYSFITS_LAB_RUNS", str(tmp_path / "runs"))
    return folder


def test_the_plan_resolves_notebooks_and_a_default_folder(workbook, tmp_path):
    plan = plan_batch(["ana", "bruno"], parallel=4, target="aws", region="eu-west-1")
    assert plan.notebooks == ["00-setup", "01-static-site"]
    assert (plan.target, plan.region, plan.parallel) == ("aws", "eu-west-1", 2)  # no idle slots
    assert re.fullmatch(r"batch-\d{8}T\d{6}Z", plan.out.name)
    assert plan.out.parent == tmp_path / "runs"
    assert plan_batch(["ana"], 1, only=["01"], out=tmp_path / "o").notebooks == ["01-static-site"]


def test_the_plan_refuses_unknown_notebooks_regions_and_a_used_folder(workbook, tmp_path):
    with pytest.raises(LabError, match="no single notebook matches '07'"):
        plan_batch(["ana"], 1, only=["07"])
    with pytest.raises(LabError, match="Did you mean us-east-1"):
        plan_batch(["ana"], 1, region="us-east1")
    (tmp_path / "out" / "bruno").mkdir(parents=True)
    with pytest.raises(LabError, match="already holds a batch"):
        plan_batch(["ana", "bruno"], 1, out=tmp_path / "out")
    with pytest.raises(LabError, match="at least 1"):
        plan_batch(["ana"], 0)


# -- the CSV -------------------------------------------------------------------------------
def test_the_csv_has_one_row_per_learner_and_notebook():
    rows = list(csv.DictReader(io.StringIO(csv_text(_report()))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["learner"], r["notebook"], r["status"]) for r in rows] == [
        ("learner01", "00-setup", "ok"),
        ("learner01", "01-static-site", "ok"),
        ("learner01", "02a-service", "ok"),
        ("learner02", "00-setup", "ok"),
        ("learner02", "01-static-site", "failed"),
        ("learner02", "02a-service", "skipped"),
    ]
    failed, skipped = rows[4], rows[5]
    assert failed["error"] == EVIL  # commas and quotes survive the round trip
    assert (failed["seconds"], failed["cell"]) == ("1.5", "3")
    assert failed["notebook_path"] == "learner02/01-static-site.ipynb"
    assert failed["teardown"].startswith("failed: 01-static-site/website")
    assert (skipped["seconds"], skipped["notebook_path"], skipped["error"]) == ("", "", "")
    assert rows[0]["seconds"] == "2.5" and rows[0]["teardown"] == "ok"


def test_the_summary_rows_name_the_failure():
    rows = summary_rows(_report())
    assert [(r["learner"], r["status"], r["notebooks"]) for r in rows] == [
        ("learner01", "ok", "3/3"),
        ("learner02", "FAILED", "1/3"),
    ]
    assert rows[1]["failed at"].startswith("01-static-site cell [3]: AssertionError")


# -- the HTML page -------------------------------------------------------------------------
def _cells(page: str, learner: str) -> list[str]:
    row = re.search(rf"<tr><th[^>]*>.*?>{learner}</a></th>(.*?)</tr>", page)
    assert row, f"no row for {learner}"
    return re.findall(r"<td[^>]*>.*?</td>", row.group(1))


def test_the_page_is_a_grid_of_statuses_linking_to_the_executed_notebooks():
    page = html_page(_report())
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th[^>]*>(.*?)</th>", header)[:4] == ["learner", *NOTEBOOKS]

    first = _cells(page, "learner01")
    assert all(cell.startswith('<td class="ok">') for cell in first[:3])
    assert '<a href="learner01/00-setup.ipynb"' in first[0] and "2.5s" in first[0]

    second = _cells(page, "learner02")
    assert second[0].startswith('<td class="ok">')
    assert second[1].startswith('<td class="failed">')
    assert '<a href="learner02/01-static-site.ipynb"' in second[1]
    assert "cell [3]: AssertionError" in second[1]
    assert second[2].startswith('<td class="skipped">') and "href" not in second[2]
    assert "ClientError: BucketNotEmpty" in page  # the teardown column
    assert '<a href="learner02/run.log"' in page


def test_the_page_escapes_error_text():
    page = html_page(_report())
    assert "<script>" not in page and "alert('x')" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page


def test_the_page_has_the_summary_and_the_cloud_memory():
    page = html_page(_report())
    assert "1 of 2 learners ok, 1 failed; wall time 20.5s" in page
    assert "local cloud resident memory at the end: 512.0 MiB (4 processes" in page
    aws = _report()
    aws.cloud_memory_kb = None
    assert "resident memory" not in html_page(aws)


def test_the_page_is_self_contained():
    page = html_page(_report())
    assert not re.search(r"https?://", page)
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|url\(|@import", page, re.I)
    for href in re.findall(r'href="([^"]*)"', page):
        assert not href.startswith(("/", "//")) and ":" not in href, href


# -- teardown results, executed notebooks, memory ------------------------------------------
@dataclass
class _Step:
    module: str
    step: str
    removed: list[str]
    error: str = ""


def test_teardown_results_count_as_their_last_attempt_ended():
    retried = [
        _Step("02a-service", "service", [], "ClientError: in use"),
        _Step("01-static-site", "website", ["bucket b"]),
        _Step("02a-service", "service", ["service s"]),
    ]
    assert teardown_summary(retried) == "ok"
    assert teardown_summary([]) == "ok"
    still = [*retried, _Step("01-static-site", "website", [], "ClientError: BucketNotEmpty")]
    assert teardown_summary(still) == "failed: 01-static-site/website: ClientError: BucketNotEmpty"
    as_dicts = [{"module": "03-data", "step": "data", "error": "Boom: x"}]
    assert teardown_summary(as_dicts) == "failed: 03-data/data: Boom: x"


def test_the_first_error_cell_of_an_executed_notebook(tmp_path):
    notebook = nbformat.v4.new_notebook()
    fine = nbformat.v4.new_code_cell("1", execution_count=1)
    fine.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    broken = nbformat.v4.new_code_cell("raise ValueError('on fire')", execution_count=2)
    broken.outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="on fire", traceback=[])
    ]
    later = nbformat.v4.new_code_cell("x", execution_count=3)
    later.outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="x", traceback=[])]
    notebook.cells = [nbformat.v4.new_markdown_cell("# title"), fine, broken, later]
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, path)
    assert first_error(path) == (2, "ValueError: on fire")
    notebook.cells = [fine]
    nbformat.write(notebook, path)
    assert first_error(path) is None
    assert first_error(tmp_path / "missing.ipynb") is None


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_memory_counts_a_process_and_its_children():
    alone = tree_memory_kb(os.getpid())
    assert alone and alone[0] > 0
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for _ in range(50):  # until the child has its own resident set
            with_child = tree_memory_kb(os.getpid())
            if with_child and with_child[1] > alone[1]:
                break
            time.sleep(0.05)
        assert with_child and with_child[1] >= alone[1] + 1 and with_child[0] > alone[0]
    finally:
        child.kill()
        child.wait()
    assert tree_memory_kb(child.pid) is None
