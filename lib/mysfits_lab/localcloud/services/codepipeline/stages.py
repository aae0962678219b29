"""One stage of one execution: its actions by runOrder (those of a runOrder in parallel, on
threads of their own), each with its ActionRun record and a ``Job`` for its runner.

Records change under the engine's lock only; a runner reports through ``Job.report``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ...core.provider import Context
from .definition import CODEBUILD, ECS_DEPLOY, S3_SOURCE, ActionSpec, StageSpec
from .ecs_deploy import ecs_deploy
from .jobs import ActionFailed, Job, codebuild, s3_source
from .models import ActionRun, Execution, PipelineRun

log = logging.getLogger("mysfits_lab.localcloud.codepipeline")

RUNNERS: dict[tuple[str, str, str], Callable[[Job], None]] = {
    S3_SOURCE: s3_source,
    CODEBUILD[0]: codebuild,
    CODEBUILD[1]: codebuild,
    ECS_DEPLOY: ecs_deploy,
}


class StageRunner:
    def __init__(self, ctx: Context, lock: threading.Condition, closing: threading.Event):
        self._ctx = ctx
        self._lock = lock
        self._closing = closing

    def run(self, run: PipelineRun, execution: Execution, stage: StageSpec, done: set[str]) -> str:
        """The stage's outcome: Succeeded, Failed, Stopped or Cancelled. ``done``: actions that
        succeeded in an earlier attempt of this stage, not run again (a retry of failed ones)."""
        for group in stage.groups():
            with self._lock:
                if execution.cancelled:
                    return "Cancelled"
                if execution.status != "InProgress":
                    return "Stopped"
            results: list[str] = []

            def act(action: ActionSpec, results: list[str] = results) -> None:
                results.append(self._run_action(run, execution, stage, action))

            threads = [
                threading.Thread(
                    target=act,
                    args=(action,),
                    name=f"codepipeline-{execution.id[:8]}-{action.name[:16]}",
                    daemon=True,
                )
                for action in group
                if action.name not in done
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if "Failed" in results:
                return "Failed"
            if "Abandoned" in results:
                return "Stopped"
        if execution.cancelled:
            return "Cancelled"
        return "Stopped" if execution.status == "Stopping" else "Succeeded"

    def _run_action(
        self, run: PipelineRun, execution: Execution, stage: StageSpec, action: ActionSpec
    ) -> str:
        spec, now = execution.spec, self._ctx.clock.now
        region = action.region or spec.region
        with self._lock:
            record = ActionRun(
                execution_id=execution.id,
                pipeline_version=execution.version,
                stage=stage.name,
                spec=action,
                region=region,
                role_arn=action.role_arn or spec.role_arn,
                started=now(),
            )
            record.inputs = [
                (n, *execution.artifacts[n]) for n in action.inputs if n in execution.artifacts
            ]
            execution.actions.append(record)
            run.latest_actions[(stage.name, action.name)] = record

        def cancelled() -> bool:
            return execution.abandon or self._closing.is_set()

        job = Job(
            run=record,
            pipeline=spec.name,
            store=spec.store(region),
            pinned=execution.pinned.get(action.name),
            client=lambda service: self._ctx.client(service, region),
            clock=self._ctx.clock,
            report=lambda **fields: self._report(execution, record, fields),
            cancelled=cancelled,
            changes=self._ctx.changes,
        )
        status, error = "Succeeded", None
        try:
            _check(job, action)
            RUNNERS[action.kind](job)
        except ActionFailed as exc:
            status, error = "Failed", (exc.code, exc.message)
        except Exception as exc:  # our bug: the action fails and says so
            log.exception("pipeline %s: action %s crashed", spec.name, action.name)
            status, error = "Failed", ("JobFailed", f"local cloud error: {exc}")
        with self._lock:
            if cancelled():
                status, error = "Abandoned", None
            record.finish(status, now(), error)
            if status == "Succeeded":
                execution.artifacts.update({n: (b, k) for n, b, k in record.outputs})
            execution.updated = record.updated
        return status

    def _report(self, execution: Execution, record: ActionRun, fields: dict[str, Any]) -> None:
        with self._lock:
            revision = fields.pop("execution_revision", None)
            if revision is not None:
                entry = {"actionName": record.spec.name} | {
                    k: v for k, v in revision.items() if v is not None
                }
                execution.revisions = [
                    r for r in execution.revisions if r["actionName"] != record.spec.name
                ] + [entry]
            for name, value in fields.items():
                if value is not None:
                    setattr(record, name, value)
            record.updated = execution.updated = self._ctx.clock.now()


def _check(job: Job, action: ActionSpec) -> None:
    if action.kind not in RUNNERS:
        raise ActionFailed(
            f"{action.category} action provider {action.owner}/{action.provider} is not "
            "supported by the local cloud, which runs Amazon S3 source, CodeBuild build and "
            "test, and Amazon ECS deploy actions"
        )
    missing = [n for n in action.inputs if n not in {i[0] for i in job.run.inputs}]
    if missing:
        raise ActionFailed(f"input artifact {missing[0]} was not produced in this execution")
    if not job.store and (action.outputs or action.inputs):
        raise ActionFailed(f"the pipeline has no artifact store for region {job.run.region}")
