"""Pipeline executions as the CodePipeline API reports them, and the stage locks that decide
which execution runs, waits or is superseded. Pure state (no I/O, no threads): ``engine.py``
moves executions through it under one lock.

Statuses, as AWS names them:
- execution: InProgress → Succeeded | Failed | Stopping → Stopped | Superseded | Cancelled
- stage: InProgress → Succeeded | Failed | Stopped | Cancelled
- action: InProgress → Succeeded | Failed | Abandoned
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .definition import S3_SOURCE, ActionSpec, PipelineSpec

Location = tuple[str, str, str]  # artifact name, bucket, key


def new_id() -> str:
    return str(uuid.uuid4())


def _present(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def _artifacts(locations: list[Location]) -> list[dict[str, Any]]:
    return [{"name": n, "s3location": {"bucket": b, "key": k}} for n, b, k in locations]


@dataclass
class ActionRun:
    """One run of an action in an execution (a retried stage runs its actions again)."""

    execution_id: str
    pipeline_version: int
    stage: str
    spec: ActionSpec
    region: str
    role_arn: str
    started: float
    id: str = field(default_factory=new_id)
    status: str = "InProgress"
    updated: float = 0.0
    summary: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    log_stream_arn: str | None = None
    error: tuple[str, str] | None = None  # (code, message)
    inputs: list[Location] = field(default_factory=list)
    outputs: list[Location] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    revision: dict[str, Any] | None = None  # a source action's currentRevision

    def __post_init__(self) -> None:
        self.updated = self.updated or self.started

    def finish(self, status: str, now: float, error: tuple[str, str] | None = None) -> None:
        self.status, self.updated, self.error = status, now, error

    def _error(self) -> dict[str, str] | None:
        return {"code": self.error[0], "message": self.error[1]} if self.error else None

    def to_state(self) -> dict[str, Any]:
        """GetPipelineState's ``latestExecution`` of the action."""
        return _present(
            {
                "actionExecutionId": self.id,
                "status": self.status,
                "summary": self.summary,
                "lastStatusChange": self.started if self.status == "InProgress" else self.updated,
                "externalExecutionId": self.external_id,
                "externalExecutionUrl": self.external_url,
                "errorDetails": self._error(),
                "logStreamARN": self.log_stream_arn,
            }
        )

    def to_detail(self) -> dict[str, Any]:
        """ListActionExecutions' ``actionExecutionDetails`` item."""
        config = dict(self.spec.configuration)
        result = _present(
            {
                "externalExecutionId": self.external_id,
                "externalExecutionSummary": self.summary,
                "externalExecutionUrl": self.external_url,
                "errorDetails": self._error(),
                "logStreamARN": self.log_stream_arn,
            }
        )
        output: dict[str, Any] = {"outputArtifacts": _artifacts(self.outputs)}
        if result:
            output["executionResult"] = result
        if self.variables:
            output["outputVariables"] = dict(self.variables)
        return {
            "pipelineExecutionId": self.execution_id,
            "actionExecutionId": self.id,
            "pipelineVersion": self.pipeline_version,
            "stageName": self.stage,
            "actionName": self.spec.name,
            "startTime": self.started,
            "lastUpdateTime": self.updated,
            "status": self.status,
            "input": {
                "actionTypeId": self.spec.type_id(),
                "configuration": config,
                "resolvedConfiguration": config,
                "roleArn": self.role_arn,
                "region": self.region,
                "inputArtifacts": _artifacts(self.inputs),
            },
            "output": output,
        }


@dataclass
class Execution:
    """One execution, run with the pipeline's version (``spec``) of the moment it started."""

    id: str
    spec: PipelineSpec
    trigger_type: str
    trigger_detail: str
    started: float
    pinned: dict[str, str] = field(default_factory=dict)  # source action -> S3 version id
    variables: list[dict[str, str]] = field(default_factory=list)
    status: str = "InProgress"
    summary: str | None = None
    stop_reason: str | None = None
    abandon: bool = False  # a stop that does not wait for running actions
    cancelled: bool = False  # the pipeline was updated: end once the running actions have
    updated: float = 0.0
    artifacts: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (bucket, key)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)  # stage entered -> its status
    actions: list[ActionRun] = field(default_factory=list)
    running_stage: str | None = None  # the stage it holds; None while between stages

    def __post_init__(self) -> None:
        self.updated = self.updated or self.started

    @property
    def pipeline(self) -> str:
        return self.spec.name

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def mode(self) -> str:
        return self.spec.mode

    @property
    def active(self) -> bool:
        return self.status in ("InProgress", "Stopping")

    def set(self, status: str, now: float, summary: str | None = None) -> None:
        self.status, self.updated = status, now
        if summary is not None:
            self.summary = summary

    def to_api(self) -> dict[str, Any]:
        """GetPipelineExecution's ``pipelineExecution``."""
        execution: dict[str, Any] = {
            "pipelineName": self.pipeline,
            "pipelineVersion": self.version,
            "pipelineExecutionId": self.id,
            "status": self.status,
            "artifactRevisions": [
                {k: v for k, v in r.items() if k != "actionName"} for r in self.revisions
            ],
            "variables": [{"name": v["name"], "resolvedValue": v["value"]} for v in self.variables],
            "trigger": self._trigger(),
            "executionMode": self.mode,
            "executionType": "STANDARD",
        }
        if self.summary:
            execution["statusSummary"] = self.summary
        return execution

    def to_summary(self) -> dict[str, Any]:
        """ListPipelineExecutions' ``pipelineExecutionSummaries`` item."""
        return _present(
            {
                "pipelineExecutionId": self.id,
                "status": self.status,
                "statusSummary": self.summary,
                "startTime": self.started,
                "lastUpdateTime": self.updated,
                "sourceRevisions": [
                    _present(
                        {
                            "actionName": r["actionName"],
                            "revisionId": r.get("revisionId"),
                            "revisionSummary": r.get("revisionSummary"),
                            "revisionUrl": r.get("revisionUrl"),
                        }
                    )
                    for r in self.revisions
                ],
                "trigger": self._trigger(),
                "stopTrigger": {"reason": self.stop_reason} if self.stop_reason else None,
                "executionMode": self.mode,
                "executionType": "STANDARD",
            }
        )

    def _trigger(self) -> dict[str, str]:
        return {"triggerType": self.trigger_type, "triggerDetail": self.trigger_detail}


class Lanes:
    """Each stage's lock: which execution holds the stage, which wait in front of it.

    SUPERSEDED (AWS's default): one execution waits in front of a locked stage; a newer one
    arriving there supersedes it. QUEUED: they wait in order. PARALLEL: no locks at all.
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.holder: dict[str, str] = {}
        self.waiting: dict[str, list[str]] = {}

    def arrive(self, stage: str, execution_id: str) -> list[str]:
        """``execution_id`` wants to enter ``stage``; the executions it supersedes."""
        if self.mode == "PARALLEL":
            return []
        queue = self.waiting.setdefault(stage, [])
        superseded = list(queue) if self.mode == "SUPERSEDED" else []
        queue[:] = [i for i in queue if i not in superseded] + [execution_id]
        return superseded

    def may_enter(self, stage: str, execution_id: str) -> bool:
        if self.mode == "PARALLEL":
            return True
        queue = self.waiting.get(stage) or []
        return stage not in self.holder and bool(queue) and queue[0] == execution_id

    def enter(self, stage: str, execution_id: str) -> None:
        if self.mode == "PARALLEL":
            return
        self.waiting[stage].remove(execution_id)
        self.holder[stage] = execution_id

    def leave(self, stage: str, execution_id: str) -> None:
        """The execution left ``stage`` (done, failed or stopped), or stopped waiting for it."""
        if self.holder.get(stage) == execution_id:
            del self.holder[stage]
        queue = self.waiting.get(stage) or []
        if execution_id in queue:
            queue.remove(execution_id)

    def inbound(self, stage: str) -> list[str]:
        return list(self.waiting.get(stage) or [])


@dataclass
class PipelineRun:
    """A pipeline's executions and what GetPipelineState reports."""

    spec: PipelineSpec
    created: float
    updated: float
    lanes: Lanes = field(init=False)
    executions: dict[str, Execution] = field(default_factory=dict)  # oldest first
    entered: dict[str, str] = field(default_factory=dict)  # stage -> last execution to enter
    latest_actions: dict[tuple[str, str], ActionRun] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lanes = Lanes(self.spec.mode)

    def redefine(self, spec: PipelineSpec, now: float) -> None:
        """UpdatePipeline: as on AWS, running actions complete, then their executions are
        Cancelled; executions waiting between stages are Cancelled at once."""
        self.spec, self.updated = spec, now
        self.lanes.mode = spec.mode
        summary = (
            f"The pipeline was updated to version {spec.version} before this execution completed"
        )
        for execution in self.executions.values():
            if execution.active:
                execution.cancelled, execution.summary = True, summary
                if execution.running_stage is None:
                    execution.set("Cancelled", now)

    def state_api(self) -> dict[str, Any]:
        """GetPipelineState."""
        stages = []
        for index, stage in enumerate(self.spec.stages):
            entry: dict[str, Any] = {"stageName": stage.name}
            if index:
                entry["inboundTransitionState"] = {"enabled": True}
            inbound = [
                {"pipelineExecutionId": i, "status": "InProgress", "type": "STANDARD"}
                for i in self.lanes.inbound(stage.name)
            ]
            if inbound:
                entry["inboundExecution"] = inbound[-1]
                entry["inboundExecutions"] = inbound
            entry["actionStates"] = [self._action_state(stage.name, a) for a in stage.actions]
            last = self.entered.get(stage.name)
            if last in self.executions:
                entry["latestExecution"] = {
                    "pipelineExecutionId": last,
                    "status": self.executions[last].stages[stage.name],
                    "type": "STANDARD",
                }
            stages.append(entry)
        return {
            "pipelineName": self.spec.name,
            "pipelineVersion": self.spec.version,
            "stageStates": stages,
            "created": self.created,
            "updated": self.updated,
        }

    def _action_state(self, stage: str, action: ActionSpec) -> dict[str, Any]:
        state: dict[str, Any] = {"actionName": action.name}
        run = self.latest_actions.get((stage, action.name))
        if run is not None:
            state["latestExecution"] = run.to_state()
            if run.revision and action.kind == S3_SOURCE:
                state["currentRevision"] = dict(run.revision)
        url = action.entity_url(self.spec.region)
        if url:
            state["entityUrl"] = url
        return state
