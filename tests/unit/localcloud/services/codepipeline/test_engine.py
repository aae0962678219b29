"""The execution state machine with fake actions: Source and Deploy succeed at once, Build
waits until the test lets it go (or fails when told to)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from mysfits_lab.localcloud.core.changes import Changes
from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.codepipeline import stages
from mysfits_lab.localcloud.services.codepipeline.definition import CODEBUILD, ECS_DEPLOY, S3_SOURCE
from mysfits_lab.localcloud.services.codepipeline.engine import Engine
from mysfits_lab.localcloud.services.codepipeline.jobs import ActionFailed, Job
from tests.helpers import wait_for

from .pipelines import action, workshop

REGION, NAME = "us-east-1", "web-pipeline"


class _Context:
    clock = Clock()
    changes = Changes()

    def client(self, service: str, region: str | None = None) -> Any:
        raise AssertionError("the fake actions call no AWS API")


class Actions:
    def __init__(self) -> None:
        self.go: dict[str, threading.Event] = defaultdict(threading.Event)
        self.failing: set[str] = set()
        self.sources: list[str] = []
        self.builds: list[str] = []
        self.deployed: list[str] = []

    def source(self, job: Job) -> None:
        self.sources.append(job.run.execution_id)
        job.report(outputs=[("SourceArtifact", "artifacts", f"src/{job.run.execution_id}")])

    def build(self, job: Job) -> None:
        execution = job.run.execution_id
        self.builds.append(execution)
        while not self.go[execution].wait(0.01):
            if job.cancelled():
                return
        if execution in self.failing:
            raise ActionFailed("2 tests failed")
        job.report(outputs=[("BuildArtifact", "artifacts", f"build/{execution}")])

    def deploy(self, job: Job) -> None:
        self.deployed.append(job.run.execution_id)


@pytest.fixture
def actions(monkeypatch: pytest.MonkeyPatch) -> Actions:
    actions = Actions()
    monkeypatch.setitem(stages.RUNNERS, S3_SOURCE, actions.source)
    monkeypatch.setitem(stages.RUNNERS, CODEBUILD[0], actions.build)
    monkeypatch.setitem(stages.RUNNERS, ECS_DEPLOY, actions.deploy)
    return actions


@pytest.fixture
def engine(actions: Actions) -> Iterator[Engine]:
    engine = Engine(_Context())  # type: ignore[arg-type]
    engine.define(workshop(version=1), REGION)
    yield engine
    for event in actions.go.values():
        event.set()
    engine.close()


def start(engine: Engine) -> str:
    return engine.start(REGION, NAME, ("StartPipelineExecution", "tests"))


def execution(engine: Engine, execution_id: str) -> dict[str, Any]:
    return engine.read(REGION, NAME, lambda run: run.executions[execution_id].to_api())


def status(engine: Engine, execution_id: str) -> str:
    return execution(engine, execution_id)["status"]


def reaches(engine: Engine, execution_id: str, wanted: str) -> None:
    wait_for(lambda: status(engine, execution_id) == wanted, f"{execution_id} to be {wanted}")


def stage_state(engine: Engine, name: str) -> dict[str, Any]:
    state = engine.read(REGION, NAME, lambda run: run.state_api())
    return next(s for s in state["stageStates"] if s["stageName"] == name)


def inbound(engine: Engine, name: str) -> list[str]:
    return [
        i["pipelineExecutionId"] for i in stage_state(engine, name).get("inboundExecutions", [])
    ]


def actions_of(engine: Engine, execution_id: str) -> dict[str, str]:
    return engine.read(
        REGION,
        NAME,
        lambda run: {a.spec.name: a.status for a in run.executions[execution_id].actions},
    )


def refused(code: str, call: Any, *args: Any) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        call(*args)
    assert raised.value.code == code, raised.value.message
    return raised.value


def test_a_run_goes_through_its_stages_in_order(engine, actions):
    first = start(engine)
    wait_for(lambda: actions.builds == [first], "the build")
    assert stage_state(engine, "Source")["latestExecution"]["status"] == "Succeeded"
    assert stage_state(engine, "Build")["latestExecution"]["status"] == "InProgress"
    assert "latestExecution" not in stage_state(engine, "Deploy")
    actions.go[first].set()
    reaches(engine, first, "Succeeded")
    assert actions.deployed == [first]
    assert actions_of(engine, first) == {
        "Source": "Succeeded",
        "Build": "Succeeded",
        "Deploy": "Succeeded",
    }


def test_a_newer_execution_supersedes_the_one_waiting_in_front_of_a_locked_stage(engine, actions):
    first = start(engine)
    wait_for(lambda: actions.builds == [first], "the first build")
    waiting = start(engine)
    wait_for(lambda: inbound(engine, "Build") == [waiting], "the second to wait")
    newest = start(engine)
    reaches(engine, waiting, "Superseded")
    assert (
        execution(engine, waiting)["statusSummary"] == f"Superseded by pipeline execution {newest}"
    )
    wait_for(lambda: inbound(engine, "Build") == [newest], "the newest to wait")
    actions.go[first].set()
    reaches(engine, first, "Succeeded")
    wait_for(lambda: actions.builds == [first, newest], "the newest build")
    actions.go[newest].set()
    reaches(engine, newest, "Succeeded")
    assert actions.deployed == [first, newest]
    assert actions_of(engine, waiting) == {"Source": "Succeeded"}


def test_queued_executions_all_run_in_order(engine, actions):
    engine.define(workshop(version=2, executionMode="QUEUED", pipelineType="V2"), REGION)
    ids = [start(engine) for _ in range(3)]
    for execution_id in ids:
        actions.go[execution_id].set()
    for execution_id in ids:
        reaches(engine, execution_id, "Succeeded")
    assert actions.deployed == ids


def test_stop_and_wait_lets_the_running_action_finish(engine, actions):
    first = start(engine)
    wait_for(lambda: actions.builds == [first], "the build")
    engine.stop(REGION, NAME, first, False, "wrong commit")
    assert status(engine, first) == "Stopping"
    refused("DuplicatedStopRequestException", engine.stop, REGION, NAME, first, False, "")
    actions.go[first].set()
    reaches(engine, first, "Stopped")
    assert actions_of(engine, first) == {"Source": "Succeeded", "Build": "Succeeded"}
    assert stage_state(engine, "Build")["latestExecution"]["status"] == "Stopped"
    assert actions.deployed == []
    summary = engine.read(REGION, NAME, lambda run: run.executions[first].to_summary())
    assert summary["stopTrigger"] == {"reason": "wrong commit"}
    refused("PipelineExecutionNotStoppableException", engine.stop, REGION, NAME, first, True, "")


def test_stop_and_abandon_abandons_the_running_action(engine, actions):
    first = start(engine)
    wait_for(lambda: actions.builds == [first], "the build")
    engine.stop(REGION, NAME, first, True, "")
    reaches(engine, first, "Stopped")
    assert actions_of(engine, first)["Build"] == "Abandoned"


def test_an_execution_stopped_while_waiting_stops_at_once(engine, actions):
    first = start(engine)
    wait_for(lambda: actions.builds == [first], "the first build")
    waiting = start(engine)
    wait_for(lambda: inbound(engine, "Build") == [waiting], "the second to wait")
    engine.stop(REGION, NAME, waiting, False, "")
    assert status(engine, waiting) == "Stopped"
    wait_for(lambda: inbound(engine, "Build") == [], "the queue to empty")
    actions.go[first].set()
    reaches(engine, first, "Succeeded")
    assert actions.builds == [first]


def test_a_failed_stage_is_retried_with_its_failed_actions_only(engine, actions):
    first = start(engine)
    actions.failing.add(first)
    actions.go[first].set()
    reaches(engine, first, "Failed")
    assert execution(engine, first)["statusSummary"] == "Stage Build failed: 2 tests failed"
    state = stage_state(engine, "Build")["actionStates"][0]["latestExecution"]
    assert state["errorDetails"] == {"code": "JobFailed", "message": "2 tests failed"}
    assert actions.deployed == []
    refused(
        "StageNotRetryableException", engine.retry, REGION, NAME, "Source", first, "FAILED_ACTIONS"
    )
    refused("StageNotFoundException", engine.retry, REGION, NAME, "Test", first, "FAILED_ACTIONS")

    actions.failing.clear()
    engine.retry(REGION, NAME, "Build", first, "FAILED_ACTIONS")
    reaches(engine, first, "Succeeded")
    assert (actions.sources, actions.builds, actions.deployed) == ([first], [first, first], [first])
    builds = engine.read(
        REGION,
        NAME,
        lambda run: [a.status for a in run.executions[first].actions if a.stage == "Build"],
    )
    assert builds == ["Failed", "Succeeded"]


def test_only_the_latest_execution_in_a_stage_can_retry_it(engine, actions):
    first = start(engine)
    actions.failing.add(first)
    actions.go[first].set()
    reaches(engine, first, "Failed")
    second = start(engine)
    wait_for(lambda: actions.builds == [first, second], "the second build")
    refused(
        "NotLatestPipelineExecutionException",
        engine.retry,
        REGION,
        NAME,
        "Build",
        first,
        "ALL_ACTIONS",
    )


def test_an_action_the_local_cloud_cannot_run_fails_saying_so(engine, actions):
    declaration = workshop(version=2)
    declaration["stages"][2]["actions"] = [
        action("Approve", ("Approval", "Manual"), {}, inputArtifacts=[{"name": "BuildArtifact"}])
    ]
    engine.define(declaration, REGION)
    first = start(engine)
    actions.go[first].set()
    reaches(engine, first, "Failed")
    message = execution(engine, first)["statusSummary"]
    assert "Approval action provider AWS/Manual is not supported by the local cloud" in message


def test_a_client_request_token_starts_one_execution(engine, actions):
    once = engine.start(REGION, NAME, ("StartPipelineExecution", "tests"), token="t-1")
    assert engine.start(REGION, NAME, ("StartPipelineExecution", "tests"), token="t-1") == once
    assert engine.read(REGION, NAME, lambda run: list(run.executions)) == [once]


def test_a_deleted_pipeline_abandons_its_executions(engine, actions):
    first = start(engine)
    wait_for(lambda: actions.builds == [first], "the build")
    engine.forget(REGION, NAME)
    refused("PipelineNotFoundException", engine.read, REGION, NAME, lambda run: run)
    refused("PipelineNotFoundException", start, engine)
    assert engine.watchers("src", "app.zip") == []


def test_an_update_cancels_executions_once_their_running_actions_complete(engine, actions):
    running = start(engine)
    wait_for(lambda: actions.builds == [running], "the build")
    waiting = start(engine)
    wait_for(lambda: inbound(engine, "Build") == [waiting], "the second to wait")
    engine.define(workshop(version=2), REGION)
    assert status(engine, waiting) == "Cancelled"
    assert status(engine, running) == "InProgress"  # its build goes on
    actions.go[running].set()
    reaches(engine, running, "Cancelled")
    assert execution(engine, running)["statusSummary"] == (
        "The pipeline was updated to version 2 before this execution completed"
    )
    assert actions_of(engine, running) == {"Source": "Succeeded", "Build": "Succeeded"}
    assert stage_state(engine, "Build")["latestExecution"]["status"] == "Cancelled"
    assert actions.deployed == []
    later = start(engine)
    actions.go[later].set()
    reaches(engine, later, "Succeeded")
    assert execution(engine, later)["pipelineVersion"] == 2
