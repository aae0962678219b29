from __future__ import annotations

from mysfits_lab.localcloud.services.codepipeline.definition import PipelineSpec
from mysfits_lab.localcloud.services.codepipeline.models import (
    ActionRun,
    Execution,
    Lanes,
    PipelineRun,
)

from .pipelines import ROLE, workshop

SPEC = PipelineSpec.of(workshop(version=1), "us-east-1")


def test_a_newer_execution_supersedes_the_one_waiting_for_a_locked_stage():
    lanes = Lanes("SUPERSEDED")
    assert lanes.arrive("Build", "a") == [] and lanes.may_enter("Build", "a")
    lanes.enter("Build", "a")
    assert lanes.arrive("Build", "b") == []
    assert not lanes.may_enter("Build", "b")  # the stage is locked: b waits
    assert lanes.arrive("Build", "c") == ["b"]  # c overtakes b
    assert lanes.inbound("Build") == ["c"]
    lanes.leave("Build", "a")
    assert lanes.may_enter("Build", "c")
    lanes.enter("Build", "c")
    assert lanes.holder == {"Build": "c"} and lanes.inbound("Build") == []


def test_a_stage_locks_even_an_execution_that_entered_no_stage_yet():
    lanes = Lanes("SUPERSEDED")
    lanes.arrive("Source", "a")
    lanes.enter("Source", "a")
    lanes.arrive("Source", "b")
    assert lanes.arrive("Source", "c") == ["b"]


def test_queued_executions_wait_in_order_and_parallel_ones_do_not_wait():
    queued = Lanes("QUEUED")
    queued.arrive("Build", "a")
    queued.enter("Build", "a")
    assert queued.arrive("Build", "b") == [] and queued.arrive("Build", "c") == []
    queued.leave("Build", "a")
    assert queued.may_enter("Build", "b") and not queued.may_enter("Build", "c")

    parallel = Lanes("PARALLEL")
    for execution in "abc":
        assert parallel.arrive("Build", execution) == []
        assert parallel.may_enter("Build", execution)
        parallel.enter("Build", execution)
    assert parallel.holder == {}


def test_an_execution_that_stops_waiting_leaves_the_queue():
    lanes = Lanes("QUEUED")
    lanes.arrive("Build", "a")
    lanes.enter("Build", "a")
    lanes.arrive("Build", "b")
    lanes.leave("Build", "b")
    lanes.leave("Build", "a")
    assert lanes.inbound("Build") == [] and lanes.holder == {}


def _action(status: str = "InProgress") -> ActionRun:
    run = ActionRun("e1", 1, "Build", SPEC.stages[1].actions[0], "us-east-1", ROLE, started=10.0)
    run.inputs = [("SourceArtifact", "artifacts", "web-pipeline/SourceArti/abc")]
    if status != "InProgress":
        run.finish(status, 15.0, ("JobFailed", "boom") if status == "Failed" else None)
    return run


def test_an_action_run_as_get_pipeline_state_and_list_action_executions_report_it():
    running = _action()
    running.updated = 12.0  # a progress report is no status change
    assert running.to_state() == {
        "actionExecutionId": running.id,
        "status": "InProgress",
        "lastStatusChange": 10.0,
    }
    failed = _action("Failed")
    failed.external_id = "build:1"
    assert failed.to_state()["errorDetails"] == {"code": "JobFailed", "message": "boom"}
    assert failed.to_state()["lastStatusChange"] == 15.0
    detail = failed.to_detail()
    assert (detail["startTime"], detail["lastUpdateTime"], detail["status"]) == (
        10.0,
        15.0,
        "Failed",
    )
    assert detail["input"]["actionTypeId"]["provider"] == "CodeBuild"
    assert detail["input"]["inputArtifacts"] == [
        {
            "name": "SourceArtifact",
            "s3location": {"bucket": "artifacts", "key": "web-pipeline/SourceArti/abc"},
        }
    ]
    assert detail["output"] == {
        "outputArtifacts": [],
        "executionResult": {
            "externalExecutionId": "build:1",
            "errorDetails": {"code": "JobFailed", "message": "boom"},
        },
    }


def test_an_execution_as_get_and_list_report_it():
    execution = Execution("e1", SPEC, "PollForSourceChanges", "Source", started=5.0)
    execution.revisions = [{"actionName": "Source", "name": "SourceArtifact", "revisionId": "v1"}]
    api = execution.to_api()
    assert api["status"] == "InProgress" and "statusSummary" not in api
    assert api["artifactRevisions"] == [{"name": "SourceArtifact", "revisionId": "v1"}]
    assert api["trigger"] == {"triggerType": "PollForSourceChanges", "triggerDetail": "Source"}
    execution.set("Superseded", 9.0, "Superseded by pipeline execution e2")
    summary = execution.to_summary()
    assert (summary["status"], summary["startTime"], summary["lastUpdateTime"]) == (
        "Superseded",
        5.0,
        9.0,
    )
    assert summary["statusSummary"] == "Superseded by pipeline execution e2"
    assert summary["sourceRevisions"] == [{"actionName": "Source", "revisionId": "v1"}]
    assert execution.version == 1 and execution.pipeline == "web-pipeline"


def test_pipeline_state_shows_stages_entered_and_executions_waiting():
    run = PipelineRun(SPEC, 1.0, 1.0)
    first = Execution("e1", SPEC, "CreatePipeline", "me", started=2.0)
    second = Execution("e2", SPEC, "PollForSourceChanges", "Source", started=3.0)
    run.executions = {"e1": first, "e2": second}
    first.stages = {"Source": "Succeeded", "Build": "InProgress"}
    run.entered = {"Source": "e2", "Build": "e1"}
    second.stages = {"Source": "Succeeded"}
    run.lanes.arrive("Build", "e1")
    run.lanes.enter("Build", "e1")
    run.lanes.arrive("Build", "e2")
    source = _action("Succeeded")
    source.revision = {"revisionId": "v2", "revisionChangeId": "etag"}
    run.latest_actions[("Build", "Build")] = _action()

    state = run.state_api()
    source_stage, build, deploy = state["stageStates"]
    assert "inboundTransitionState" not in source_stage
    assert source_stage["latestExecution"]["pipelineExecutionId"] == "e2"
    assert build["latestExecution"] == {
        "pipelineExecutionId": "e1",
        "status": "InProgress",
        "type": "STANDARD",
    }
    assert build["inboundExecution"]["pipelineExecutionId"] == "e2"
    assert build["inboundTransitionState"] == {"enabled": True}
    assert build["actionStates"][0]["latestExecution"]["status"] == "InProgress"
    assert "latestExecution" not in deploy and "latestExecution" not in deploy["actionStates"][0]
    assert deploy["actionStates"][0]["entityUrl"].endswith("/clusters/cluster/services/web/details")
    assert (state["pipelineName"], state["pipelineVersion"]) == ("web-pipeline", 1)
