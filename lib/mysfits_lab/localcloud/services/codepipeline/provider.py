"""AWS CodePipeline whose executions really run: S3 source → CodeBuild → ECS deploy.

moto keeps the pipeline declarations (CreatePipeline, GetPipeline, UpdatePipeline,
DeletePipeline, ListPipelines, tags); its executions succeed at once without running anything
and it has no GetPipelineState. Here:

- **CreatePipeline/UpdatePipeline** are checked as AWS checks them (first stage only source
  actions, input artifacts produced upstream, required action configuration, unique names)
  before moto records them; answers carry ``executionMode``/``pipelineType`` as AWS reports
  them. CreatePipeline starts an execution (trigger ``CreatePipeline``), as on AWS.
- **Executions** are ours (``engine.py``): StartPipelineExecution (``clientRequestToken``,
  ``sourceRevisions`` with an S3 version id), StopPipelineExecution (stop and wait, or abandon),
  RetryStageExecution, GetPipelineExecution, ListPipelineExecutions, GetPipelineState,
  ListActionExecutions.
- **Source changes**: a new version of an S3 source action's object starts an execution. The
  S3 writes (PutObject, CopyObject, CompleteMultipartUpload) pass through this provider, which
  lets moto store the object and then reads the new ``VersionId`` from moto's answer — so the
  execution is started, in upload order, before the upload's answer reaches the uploader, and
  runs that exact version even if another one follows a moment later. A poller would lag by its
  interval and, reading the latest version, could skip one of two quick uploads. It applies to
  actions with ``PollForSourceChanges`` true (the default; trigger ``PollForSourceChanges``)
  and, when false, to pipelines an enabled EventBridge rule targets (trigger
  ``CloudWatchEvent``; the rule's pattern is not evaluated).

UpdatePipeline starts no execution (as on AWS); the executions in progress finish their
running actions and are then ``Cancelled``.

Not modelled: stage transitions (always enabled), manual approvals and other action providers
(their actions fail saying so), variables and namespaces, rollbacks, browser form (POST)
uploads as source changes.

Control: ``GET /_localcloud/codepipeline`` lists pipelines and their executions.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Response

from ...constants import ACCOUNT_ID
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from .definition import problem, with_defaults
from .engine import Engine

log = logging.getLogger("mysfits_lab.localcloud.codepipeline")

CALLER = f"arn:aws:sts::{ACCOUNT_ID}:user/moto"  # who the edge's callers are, as STS says
PAGE = 100
S3_WRITES = ("PutObject", "CopyObject", "CompleteMultipartUpload")


class CodePipelineProvider(Provider):
    name = "codepipeline"
    # Stopped before the builds and services its actions drive.
    requires = ("codebuild", "ecs")

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.engine = Engine(ctx)

    def routes(self) -> list[Route]:
        handlers = {
            "CreatePipeline": self._create_pipeline,
            "UpdatePipeline": self._update_pipeline,
            "GetPipeline": self._get_pipeline,
            "DeletePipeline": self._delete_pipeline,
            "StartPipelineExecution": self._start_execution,
            "StopPipelineExecution": self._stop_execution,
            "RetryStageExecution": self._retry_stage,
            "GetPipelineExecution": self._get_execution,
            "ListPipelineExecutions": self._list_executions,
            "GetPipelineState": self._get_state,
            "ListActionExecutions": self._list_action_executions,
        }
        return [
            *(Route("codepipeline", op, handler) for op, handler in handlers.items()),
            *(Route("s3", op, self._s3_write) for op in S3_WRITES),
        ]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", lambda _request: self.engine.describe())]

    # -- pipelines -------------------------------------------------------------------------
    @staticmethod
    def _check(declaration: dict[str, Any]) -> None:
        found = problem(declaration)
        if found:
            raise ServiceError(*found)

    def _create_pipeline(self, call: Call) -> dict[str, Any]:
        declaration = call.params["pipeline"]
        self._check(declaration)
        name = declaration["name"]
        if self.engine.exists(call.region, name):
            raise ServiceError(
                "PipelineNameInUseException",
                f"A pipeline with the name '{name}' already exists in account '{ACCOUNT_ID}'",
            )
        answer = call.moto()
        with_defaults(answer["pipeline"])
        self.engine.define(answer["pipeline"], call.region)
        self.engine.start(call.region, name, ("CreatePipeline", CALLER))
        return answer

    def _update_pipeline(self, call: Call) -> dict[str, Any]:
        self._check(call.params["pipeline"])
        answer = call.moto()
        with_defaults(answer["pipeline"])
        self.engine.define(answer["pipeline"], call.region)
        return answer

    def _get_pipeline(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with_defaults(answer["pipeline"])
        return answer

    def _delete_pipeline(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self.engine.forget(call.region, call.params["name"])
        return answer

    # -- executions --------------------------------------------------------------------------
    def _start_execution(self, call: Call) -> dict[str, Any]:
        params = call.params
        name = params["name"]
        sources = self.engine.read(
            call.region, name, lambda run: {w.action for w in run.spec.s3_watches()}
        )
        pinned = {}
        for revision in params.get("sourceRevisions") or []:
            action, kind = revision["actionName"], revision["revisionType"]
            if action not in sources or kind != "S3_OBJECT_VERSION_ID":
                raise ServiceError(
                    "ValidationException",
                    f"source revision {kind} for action {action}: the local cloud takes "
                    "S3_OBJECT_VERSION_ID revisions of the pipeline's Amazon S3 source actions",
                )
            pinned[action] = revision["revisionValue"]
        execution_id = self.engine.start(
            call.region,
            name,
            ("StartPipelineExecution", CALLER),
            pinned,
            params.get("variables"),
            params.get("clientRequestToken"),
        )
        return {"pipelineExecutionId": execution_id}

    def _stop_execution(self, call: Call) -> dict[str, Any]:
        params = call.params
        self.engine.stop(
            call.region,
            params["pipelineName"],
            params["pipelineExecutionId"],
            bool(params.get("abandon")),
            params.get("reason") or "",
        )
        return {"pipelineExecutionId": params["pipelineExecutionId"]}

    def _retry_stage(self, call: Call) -> dict[str, Any]:
        params = call.params
        self.engine.retry(
            call.region,
            params["pipelineName"],
            params["stageName"],
            params["pipelineExecutionId"],
            params["retryMode"],
        )
        return {"pipelineExecutionId": params["pipelineExecutionId"]}

    def _get_execution(self, call: Call) -> dict[str, Any]:
        name, wanted = call.params["pipelineName"], call.params["pipelineExecutionId"]
        found = self.engine.read(
            call.region,
            name,
            lambda run: run.executions[wanted].to_api() if wanted in run.executions else None,
        )
        if found is None:
            raise _execution_not_found(name, wanted)
        return {"pipelineExecution": found}

    def _list_executions(self, call: Call) -> dict[str, Any]:
        params = call.params
        stage = ((params.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        summaries = self.engine.read(
            call.region,
            params["pipelineName"],
            lambda run: [
                e.to_summary()
                for e in reversed(run.executions.values())
                if stage is None or e.stages.get(stage) == "Succeeded"
            ],
        )
        return _page(summaries, params, "pipelineExecutionSummaries")

    def _get_state(self, call: Call) -> dict[str, Any]:
        return self.engine.read(call.region, call.params["name"], lambda run: run.state_api())

    def _list_action_executions(self, call: Call) -> dict[str, Any]:
        params = call.params
        chosen = params.get("filter") or {}
        wanted = chosen.get("pipelineExecutionId") or (
            chosen.get("latestInPipelineExecution") or {}
        ).get("pipelineExecutionId")

        def details(run: Any) -> list[dict[str, Any]] | None:
            if wanted and wanted not in run.executions:
                return None
            runs = [a for e in run.executions.values() if wanted in (None, e.id) for a in e.actions]
            return [a.to_detail() for a in sorted(runs, key=lambda a: a.started, reverse=True)]

        found = self.engine.read(call.region, params["pipelineName"], details)
        if found is None:
            raise _execution_not_found(params["pipelineName"], wanted or "")
        return _page(found, params, "actionExecutionDetails")

    # -- source changes ----------------------------------------------------------------------
    def _s3_write(self, call: Call) -> Response:
        """moto stores the object; a new version of a watched object starts its pipelines."""
        response = call.forward()
        if response.status_code == 200:
            try:
                self._source_changed(call, response.headers.get("x-amz-version-id"))
            except Exception:  # a trigger must never fail the upload itself
                log.exception("starting pipelines for an S3 change failed")
        return response

    def _source_changed(self, call: Call, version: str | None) -> None:
        params = call.params
        watchers = self.engine.watchers(params.get("Bucket", ""), params.get("Key", ""))
        for region, name, watch in watchers:
            trigger = ("PollForSourceChanges", watch.action) if watch.polls else None
            if trigger is None:
                rule = self._rule_targeting(region, name)
                trigger = ("CloudWatchEvent", rule) if rule else None
            if trigger is not None:
                pinned = {watch.action: version} if version and version != "null" else {}
                self.engine.start(region, name, trigger, pinned)

    def _rule_targeting(self, region: str, pipeline: str) -> str | None:
        """The ARN of an enabled EventBridge rule whose target is the pipeline."""
        events = self.ctx.client("events", region)
        arn = f"arn:aws:codepipeline:{region}:{ACCOUNT_ID}:{pipeline}"
        try:
            for rule in events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]:
                described = events.describe_rule(Name=rule)
                if described.get("State") == "ENABLED":
                    return described["Arn"]
        except ClientError:
            log.exception("looking up EventBridge rules for pipeline %s", pipeline)
        return None

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        self.engine.close()

    def status(self) -> dict[str, Any]:
        pipelines = self.engine.describe()
        running = [
            e["id"]
            for p in pipelines.values()
            for e in p["executions"]
            if e["status"] == "InProgress"
        ]
        return {"codepipeline": {"pipelines": len(pipelines), "running": running}}


def _execution_not_found(name: str, execution_id: str) -> ServiceError:
    return ServiceError(
        "PipelineExecutionNotFoundException",
        f"Account '{ACCOUNT_ID}' does not have an execution with id '{execution_id}' for "
        f"pipeline '{name}'",
    )


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    size = int(params.get("maxResults") or PAGE)
    token = params.get("nextToken")
    start = int(token) if token and token.isdigit() else 0
    if token and (not token.isdigit() or start > len(items)):
        raise ServiceError("InvalidNextTokenException", "The next token is not valid")
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page
