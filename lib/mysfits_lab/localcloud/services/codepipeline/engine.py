"""Pipeline executions, each on a thread of its own, moving stage by stage.

An execution arrives in front of each stage and enters it when the stage's lock (``Lanes``)
lets it: one execution per stage at a time, and in the default SUPERSEDED mode a newer
execution arriving in front of a locked stage supersedes the one waiting there (the rules of
"How pipeline executions work" in the CodePipeline user guide). Inside a stage, actions of the
same runOrder run in parallel, the runOrders one after another; a failed action fails the stage
and the execution, and releases the stage.

Stopping: an execution waiting between stages stops at once; one inside a stage is Stopping
until its running actions end (or at once with ``abandon``: they are Abandoned), then Stopped.
A failed (or stopped) stage of the latest execution to enter it can be retried.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ...constants import ACCOUNT_ID
from ...core.provider import Context
from ...edge import ServiceError
from .definition import PipelineSpec, S3Watch
from .models import Execution, PipelineRun, new_id
from .stages import StageRunner

log = logging.getLogger("mysfits_lab.localcloud.codepipeline")

T = TypeVar("T")
MAX_ACTIVE = 50  # executions in progress per pipeline
HISTORY = 100  # finished executions kept per pipeline
WAIT_SECONDS = 0.5
JOIN_SECONDS = 10.0


def not_found(name: str) -> ServiceError:
    return ServiceError(
        "PipelineNotFoundException",
        f"Account '{ACCOUNT_ID}' does not have a pipeline with name '{name}'",
    )


class Engine:
    def __init__(self, ctx: Context):
        self._ctx = ctx
        self._cond = threading.Condition()
        self._runs: dict[tuple[str, str], PipelineRun] = {}
        self._tokens: dict[tuple[str, str, str], str] = {}
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._stages = StageRunner(ctx, self._cond, self._closing)

    def _now(self) -> float:
        return self._ctx.clock.now()

    # -- pipelines ---------------------------------------------------------------------------
    def define(self, declaration: dict[str, Any], region: str) -> None:
        """CreatePipeline / UpdatePipeline recorded by moto: (re)read the declaration (an
        update cancels the executions in progress, see ``PipelineRun.redefine``)."""
        spec, now = PipelineSpec.of(declaration, region), self._now()
        with self._cond:
            run = self._runs.get((region, spec.name))
            if run is None:
                self._runs[(region, spec.name)] = PipelineRun(spec, now, now)
            else:
                run.redefine(spec, now)
                self._cond.notify_all()

    def forget(self, region: str, name: str) -> None:
        """DeletePipeline: its executions are abandoned and forgotten."""
        with self._cond:
            run = self._runs.pop((region, name), None)
            for execution in run.executions.values() if run else []:
                execution.abandon = True
                if execution.active:
                    execution.set("Stopped", self._now())
            self._cond.notify_all()

    def exists(self, region: str, name: str) -> bool:
        with self._cond:
            return (region, name) in self._runs

    def read(self, region: str, name: str, reader: Callable[[PipelineRun], T]) -> T:
        """``reader``'s view of the pipeline, taken under the lock."""
        with self._cond:
            run = self._runs.get((region, name))
            if run is None:
                raise not_found(name)
            return reader(run)

    def watchers(self, bucket: str, key: str) -> list[tuple[str, str, S3Watch]]:
        """(region, pipeline, watch) of the S3 source actions on ``bucket/key``."""
        with self._cond:
            return [
                (region, name, watch)
                for (region, name), run in self._runs.items()
                for watch in run.spec.s3_watches()
                if (watch.bucket, watch.key) == (bucket, key)
            ]

    # -- executions ----------------------------------------------------------------------------
    def start(
        self,
        region: str,
        name: str,
        trigger: tuple[str, str],
        pinned: dict[str, str] | None = None,
        variables: list[dict[str, str]] | None = None,
        token: str | None = None,
    ) -> str:
        with self._cond:
            run = self._runs.get((region, name))
            if run is None:
                raise not_found(name)
            if token and (region, name, token) in self._tokens:
                return self._tokens[(region, name, token)]
            if sum(e.active for e in run.executions.values()) >= MAX_ACTIVE:
                raise ServiceError(
                    "ConcurrentPipelineExecutionsLimitExceededException",
                    f"Pipeline {name} has {MAX_ACTIVE} executions in progress already",
                )
            execution = Execution(
                id=new_id(),
                spec=run.spec,
                trigger_type=trigger[0],
                trigger_detail=trigger[1],
                started=self._now(),
                pinned=dict(pinned or {}),
                variables=list(variables or []),
            )
            run.executions[execution.id] = execution
            self._trim(run)
            if token:
                self._tokens[(region, name, token)] = execution.id
            self._spawn(run, execution, 0, set())
            log.info("pipeline %s: execution %s started (%s)", name, execution.id, trigger[0])
            return execution.id

    def stop(self, region: str, name: str, execution_id: str, abandon: bool, reason: str) -> None:
        with self._cond:
            execution = self._execution(region, name, execution_id)
            if not execution.active:
                raise ServiceError(
                    "PipelineExecutionNotStoppableException",
                    f"Unable to stop pipeline execution {execution_id}: it is {execution.status}",
                )
            if execution.status == "Stopping" and not abandon:
                raise ServiceError(
                    "DuplicatedStopRequestException",
                    f"Pipeline execution {execution_id} is stopping already; stop it with "
                    "abandon to abandon its running actions",
                )
            execution.stop_reason = reason or execution.stop_reason
            execution.abandon = execution.abandon or abandon
            waiting = execution.running_stage is None
            execution.set("Stopped" if waiting else "Stopping", self._now())
            self._cond.notify_all()

    def retry(self, region: str, name: str, stage: str, execution_id: str, mode: str) -> None:
        with self._cond:
            run = self._runs.get((region, name))
            if run is None:
                raise not_found(name)
            execution = self._execution(region, name, execution_id)
            try:
                index = execution.spec.stage_index(stage)
            except KeyError:
                raise ServiceError(
                    "StageNotFoundException", f"Stage {stage} not found in pipeline {name}"
                ) from None
            status = execution.stages.get(stage)
            if execution.status not in ("Failed", "Stopped") or status not in ("Failed", "Stopped"):
                raise ServiceError(
                    "StageNotRetryableException",
                    f"Stage {stage} of pipeline execution {execution_id} cannot be retried: "
                    f"the execution is {execution.status} and the stage "
                    f"{status or 'never ran'}",
                )
            if run.entered.get(stage) != execution_id:
                raise ServiceError(
                    "NotLatestPipelineExecutionException",
                    f"Pipeline execution {execution_id} is not the latest in stage {stage}: "
                    f"{run.entered.get(stage)} entered it since",
                )
            done = set()
            if mode == "FAILED_ACTIONS":
                latest = {a.spec.name: a for a in execution.actions if a.stage == stage}
                done = {n for n, a in latest.items() if a.status == "Succeeded"}
            execution.summary, execution.stop_reason, execution.abandon = None, None, False
            execution.set("InProgress", self._now())
            self._spawn(run, execution, index, done)

    def _execution(self, region: str, name: str, execution_id: str) -> Execution:
        run = self._runs.get((region, name))
        if run is None:
            raise not_found(name)
        execution = run.executions.get(execution_id)
        if execution is None:
            raise ServiceError(
                "PipelineExecutionNotFoundException",
                f"Pipeline execution {execution_id} not found in pipeline {name}",
            )
        return execution

    def _trim(self, run: PipelineRun) -> None:
        """Forget the oldest finished executions beyond HISTORY (and their request tokens)."""
        finished = [i for i, e in run.executions.items() if not e.active]
        dropped = set(finished[: max(0, len(finished) - HISTORY)])
        for execution_id in dropped:
            del run.executions[execution_id]
        if dropped:
            self._tokens = {k: v for k, v in self._tokens.items() if v not in dropped}

    def _spawn(self, run: PipelineRun, execution: Execution, first: int, done: set[str]) -> None:
        """Run ``execution`` from stage ``first`` on a thread (called under the lock, so that
        executions arrive in front of their first stage in the order they started)."""
        self._arrive(run, execution, execution.spec.stages[first].name)
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(
            target=self._drive,
            args=(run, execution, first, done),
            name=f"codepipeline-{execution.id[:8]}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    # -- an execution's thread -------------------------------------------------------------------
    def _drive(self, run: PipelineRun, execution: Execution, first: int, done: set[str]) -> None:
        stages = execution.spec.stages
        try:
            for index in range(first, len(stages)):
                stage = stages[index].name
                if not self._enter(run, execution, stage):
                    return
                outcome = self._stages.run(
                    run, execution, stages[index], done if index == first else set()
                )
                following = stages[index + 1].name if index + 1 < len(stages) else None
                if not self._leave(run, execution, stage, outcome, following):
                    return
            with self._cond:
                execution.set("Succeeded", self._now())
            log.info("pipeline %s: execution %s succeeded", execution.pipeline, execution.id)
        except Exception as exc:  # our bug: the execution fails and says so
            log.exception("pipeline %s: execution %s crashed", execution.pipeline, execution.id)
            with self._cond:
                for stage_spec in stages:
                    run.lanes.leave(stage_spec.name, execution.id)
                execution.running_stage = None
                execution.set("Failed", self._now(), f"local cloud error: {exc}")
                self._cond.notify_all()

    def _arrive(self, run: PipelineRun, execution: Execution, stage: str) -> None:
        """``execution`` waits in front of ``stage`` now, superseding whom it overtakes (under
        the lock)."""
        for other_id in run.lanes.arrive(stage, execution.id):
            other = run.executions.get(other_id)
            if other is not None and other.status == "InProgress":
                log.info("pipeline %s: execution %s superseded", other.pipeline, other.id)
                other.set(
                    "Superseded", self._now(), f"Superseded by pipeline execution {execution.id}"
                )
        self._cond.notify_all()

    def _enter(self, run: PipelineRun, execution: Execution, stage: str) -> bool:
        """Wait in front of ``stage`` until it is this execution's turn; False when it was
        superseded or stopped while waiting (or the cloud is stopping)."""
        with self._cond:
            while not run.lanes.may_enter(stage, execution.id):
                if execution.status != "InProgress" or self._closing.is_set():
                    run.lanes.leave(stage, execution.id)
                    if execution.status == "Stopping":
                        execution.set("Stopped", self._now())
                    self._cond.notify_all()
                    return False
                self._cond.wait(WAIT_SECONDS)
            if execution.status != "InProgress":
                run.lanes.leave(stage, execution.id)
                self._cond.notify_all()
                return False
            run.lanes.enter(stage, execution.id)
            run.entered[stage] = execution.id
            execution.running_stage = stage
            execution.stages[stage] = "InProgress"
            execution.updated = self._now()
            return True

    def _leave(
        self,
        run: PipelineRun,
        execution: Execution,
        stage: str,
        outcome: str,
        following: str | None,
    ) -> bool:
        """Release ``stage`` with its outcome and, when the execution goes on, arrive in front
        of the ``following`` stage at the same moment: no newer execution can get there first."""
        with self._cond:
            now = self._now()
            execution.stages[stage], execution.running_stage = outcome, None
            run.lanes.leave(stage, execution.id)
            self._cond.notify_all()
            if outcome == "Failed":
                failed = [a for a in execution.actions if a.stage == stage and a.status == "Failed"]
                reason = f": {failed[-1].error[1]}" if failed and failed[-1].error else ""
                execution.set("Failed", now, f"Stage {stage} failed{reason}")
                log.info(
                    "pipeline %s: execution %s failed in %s", run.spec.name, execution.id, stage
                )
                return False
            if outcome == "Cancelled" or execution.cancelled:
                execution.stages[stage] = "Cancelled"
                execution.set("Cancelled", now)
                log.info("pipeline %s: execution %s cancelled", run.spec.name, execution.id)
                return False
            if outcome == "Stopped" or execution.status == "Stopping":
                execution.set("Stopped", now)
                log.info("pipeline %s: execution %s stopped", run.spec.name, execution.id)
                return False
            execution.updated = now
            if execution.status != "InProgress":
                return False
            if following is not None:
                self._arrive(run, execution, following)
            return True

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=JOIN_SECONDS)

    def describe(self) -> dict[str, Any]:
        """The pipelines and their executions, for the control route and ``status()``."""
        with self._cond:
            return {
                f"{region}/{name}": {
                    "version": run.spec.version,
                    "executions": [
                        {"id": e.id, "status": e.status, "stages": dict(e.stages)}
                        for e in run.executions.values()
                    ],
                }
                for (region, name), run in self._runs.items()
            }
