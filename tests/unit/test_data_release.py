"""Module 3's switch of the service through the pipeline, as ``Lab.prepare`` of a later module
uses it: pushed only when the service does not read the table yet, never without a pipeline.
The pipeline is a stand-in recording what it was asked; the service is answered by ``responses``.
"""

from __future__ import annotations

import json
import types
from typing import Any

import pytest
import responses

from mysfits_lab.lab import LabError
from mysfits_lab.outputs import OutputsStore
from mysfits_lab.steps import data

SERVICE = "http://nlb.example"
TWELVE = {"mysfits": [{"mysfitId": str(n)} for n in range(12)]}
SIX = {"mysfits": [{"mysfitId": str(n)} for n in range(6)]}


class Lab:
    """What the release steps use of a Lab: its name rule and its outputs."""

    def __init__(self, outputs: OutputsStore):
        self.outputs = outputs

    def name(self, base: str) -> str:
        return f"mysfit-{base}"


class Pipeline(types.ModuleType):
    """Stands in for ``mysfits_lab.steps.pipeline`` (module 02b)."""

    def __init__(self, fail: str | None = None):
        super().__init__("mysfits_lab.steps.pipeline")
        self.pushed: list[dict[str, str] | None] = []
        self.waited: list[str] = []
        self.fail = fail

    def push_source(self, lab: Any, overrides: dict[str, str] | None = None) -> str:
        self.pushed.append(overrides)
        return f"execution-{len(self.pushed)}"

    def wait_for_release(self, lab: Any, execution_id: str) -> None:
        self.waited.append(execution_id)
        if self.fail:
            raise LabError(self.fail)


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    fake = Pipeline()
    monkeypatch.setattr(data, "pipeline", fake)
    return fake


@pytest.fixture
def lab(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """A lab whose table exists with its 12 mysfits (no AWS: the table steps are stubbed)."""
    lab = Lab(OutputsStore(tmp_path / "outputs.json", "mysfit"))
    made: list[str] = []
    monkeypatch.setattr(data, "create_table", lambda lab: made.append("table"))
    monkeypatch.setattr(data, "load_mysfits", lambda lab: made.append("items"))
    monkeypatch.setattr(data, "describe_table", lambda lab: {"TableStatus": "ACTIVE"})
    monkeypatch.setattr(data, "count_items", lambda lab: 12)
    lab.made = made
    return lab


def with_pipeline(lab: Lab) -> Lab:
    lab.outputs.record("02a-service", {"service.url": SERVICE + "/"})
    lab.outputs.record("02b-pipeline", {"pipeline.name": "mysfit-MythicalMysfitsServicePipeline"})
    return lab


def serve(*bodies: dict[str, Any] | int) -> None:
    """GET /mysfits answers each body in turn (an int: that status, no mysfits)."""
    for body in bodies:
        if isinstance(body, int):
            responses.get(f"{SERVICE}/mysfits", status=body, json={"message": "no"})
        else:
            responses.get(f"{SERVICE}/mysfits", json=body)


@responses.activate
def test_build_pushes_the_settings_when_the_service_still_serves_its_catalogue(lab, pipeline):
    serve(SIX)
    assert data.build(with_pipeline(lab)) == {"data.table": "mysfit-MysfitsTable"}
    assert lab.made == ["table", "items"]
    assert pipeline.pushed == [{data.SERVICE_SETTINGS: data.service_settings(lab)}]
    assert pipeline.waited == ["execution-1"]
    settings = json.loads(pipeline.pushed[0][data.SERVICE_SETTINGS])
    assert settings == {"backend": "dynamodb", "table": "mysfit-MysfitsTable"}


@responses.activate
def test_build_pushes_nothing_when_the_service_already_reads_the_table(lab, pipeline):
    serve(TWELVE)
    data.build(with_pipeline(lab))
    assert pipeline.pushed == [] and pipeline.waited == []


@responses.activate
def test_a_service_that_answers_503_is_switched_too(lab, pipeline):
    serve(503)
    assert data.switch_service(with_pipeline(lab)) == "execution-1"
    assert pipeline.pushed == [{data.SERVICE_SETTINGS: data.service_settings(lab)}]


def test_without_a_pipeline_build_makes_the_table_and_says_the_service_is_unchanged(
    lab, pipeline, capsys
):
    data.build(lab)
    assert lab.made == ["table", "items"]
    assert pipeline.pushed == []
    assert "the service still serves its catalogue" in capsys.readouterr().out
    assert data.is_built(lab), "no pipeline to switch with: the table is the whole module"


@responses.activate
def test_is_built_only_once_the_service_reads_the_table(lab, pipeline):
    serve(SIX, TWELVE)
    with_pipeline(lab)
    assert not data.is_built(lab), "not recorded yet"
    data.record(lab)
    assert not data.is_built(lab), "the service still lists its 6"
    assert data.is_built(lab)


@responses.activate
def test_is_built_is_false_when_the_table_lacks_mysfits(lab, pipeline, monkeypatch):
    serve(TWELVE)
    with_pipeline(lab)
    data.record(lab)
    monkeypatch.setattr(data, "count_items", lambda lab: 11)
    assert not data.is_built(lab)


@responses.activate
def test_a_failed_release_stops_the_build_with_its_message(lab, pipeline):
    serve(SIX)
    pipeline.fail = "the pipeline's Build stage failed: see its logs"
    with pytest.raises(LabError, match="Build stage failed"):
        data.build(with_pipeline(lab))
    assert pipeline.waited == ["execution-1"]


@responses.activate
def test_restore_pushes_the_shipped_settings_back_only_while_the_service_reads_the_table(
    lab, pipeline
):
    serve(TWELVE, SIX)
    with_pipeline(lab)
    assert data.restore_service(lab) == "execution-1"
    assert pipeline.pushed == [{data.SERVICE_SETTINGS: data.shipped_settings()}]
    assert json.loads(data.shipped_settings())["backend"] == "catalogue"
    assert data.restore_service(lab) is None
    assert len(pipeline.pushed) == 1


@responses.activate
def test_service_reads_table_tolerates_broken_answers(lab):
    assert not data.service_reads_table(lab), "no service recorded"
    with_pipeline(lab)
    responses.get(f"{SERVICE}/mysfits", body="not json")
    responses.get(f"{SERVICE}/mysfits", json={"items": []})
    assert not data.service_reads_table(lab)
    assert not data.service_reads_table(lab)
    assert responses.calls[0].request.url == f"{SERVICE}/mysfits"  # the recorded "/" dropped


def test_count_rows_put_each_index_on_one_row_in_the_sites_order():
    assert data.count_rows(data.expected_counts()) == [
        {"index": "GoodEvilIndex", "mysfits per value": "Good 4, Neutral 4, Evil 4"},
        {"index": "LawChaosIndex", "mysfits per value": "Lawful 3, Neutral 5, Chaotic 4"},
    ]
