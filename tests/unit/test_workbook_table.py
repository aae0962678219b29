"""The workbook table agrees with notebooks/, and everything that reads it follows it."""

from collections import Counter
from importlib import import_module

import boto3
import pytest
from moto import mock_aws

from mysfits_lab import steps, workbook
from mysfits_lab.lab import Lab, LabError
from mysfits_lab.outputs import MissingOutput
from mysfits_lab.paths import project_root
from mysfits_lab.runner import NotebookRun, RunResult, available, summary_rows
from mysfits_lab.steps import setup

NOTEBOOKS = project_root() / "notebooks"
ROWS = workbook.MODULES


def test_every_written_row_has_its_notebook_and_every_notebook_a_row():
    on_disk = {path.stem for path in NOTEBOOKS.glob("*.ipynb")}
    written = {m.notebook for m in ROWS if not m.planned}
    planned = {m.notebook for m in ROWS if m.planned}
    assert written == on_disk, "add a row to mysfits_lab/workbook.py (or its notebook)"
    assert not planned & on_disk, "the notebook is written: drop planned=True from its row"


def test_rows_are_unique_and_in_notebook_order():
    names = workbook.notebooks()
    assert len(set(names)) == len(names)
    assert names == sorted(names), "rows follow the notebooks' numbering"


@pytest.mark.parametrize("row", ROWS, ids=lambda m: m.notebook)
def test_prerequisites_are_earlier_rows_that_can_be_built(row):
    earlier = workbook.notebooks()[: workbook.notebooks().index(row.notebook)]
    for needed in row.prerequisites:
        assert needed in earlier, f"{row.notebook} needs {needed}, which is not an earlier row"
        assert workbook.module(needed).steps, f"Lab.prepare cannot build {needed}: no steps"


def test_every_output_group_has_exactly_one_producer():
    producers = Counter(group for m in ROWS for group in m.outputs)
    assert [group for group, count in producers.items() if count > 1] == []
    assert all(workbook.producer(group) for group in producers)


@pytest.mark.parametrize("row", ROWS, ids=lambda m: m.notebook)
def test_key_outputs_belong_to_the_row_and_steps_modules_exist(row):
    assert all(key.split(".")[0] in row.outputs for key in row.key_outputs)
    if row.steps:
        module = import_module(f"mysfits_lab.steps.{row.steps}")
        assert all(callable(getattr(module, f, None)) for f in ("build", "is_built", "teardown"))
        assert not row.planned


def test_missing_outputs_name_the_producing_row():
    assert MissingOutput("clicks.url", "mysfit").notebook == "05-clickstream"
    assert MissingOutput("network.vpc_id", "mysfit").notebook == "02a-service"
    assert MissingOutput("nobody.x", "mysfit").notebook == "the notebook that creates it"


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.Session(
            region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        yield Lab("aws", "us-east-1", "mysfit", session, "123456789012")


def test_the_runner_runs_the_rows_that_have_notebooks_and_shows_their_key_outputs(lab):
    assert available() == [m.notebook for m in ROWS if not m.planned]
    lab.outputs.record("01-static-site", {"website.url": "http://site", "website.bucket": "b"})
    lab.outputs.record("02a-service", {"service.url": "http://nlb", "service.cluster": "c"})
    result = RunResult("mysfit", lab.outputs.path.parent, [])
    result.runs = [NotebookRun("01-static-site", "ok"), NotebookRun("02a-service", "ok")]
    shown = [row["key outputs"] for row in summary_rows(result)]
    assert shown == ["website.url=http://site", "service.url=http://nlb"]


def test_the_setup_plan_lists_every_later_row(lab):
    plan = {row["notebook"]: row for row in setup.plan(lab)}
    assert list(plan) == workbook.notebooks()[1:]
    assert plan["04-users-api"]["status"] == "to do"
    assert plan["01-static-site"]["status"] == "to do"
    assert plan["07-recommendations"]["builds"] == workbook.module("07-recommendations").builds


def test_prepare_builds_the_missing_prerequisites_of_a_row(lab, monkeypatch):
    built = []

    def builder(notebook):
        return (lambda lab: built.append(notebook)), (lambda lab: False)

    monkeypatch.setattr(steps, "builder", builder)
    lab.prepare("02a-service")
    assert built == ["01-static-site"]
    lab.prepare("05-clickstream")
    assert built == ["01-static-site"] + [
        "01-static-site",
        "02a-service",
        "02b-pipeline",
        "03-data",
        "04-users-api",
    ]
    with pytest.raises(LabError, match="unknown module '08-nothing'; known: 00-setup, "):
        lab.prepare("08-nothing")
