"""CodeBuild builds that really run their buildspec.

moto keeps the projects, and answers StartBuild by jumping to SUCCEEDED without running
anything. Here StartBuild still goes through moto (it validates the project and names the
build), then a ``Build`` (build.py) runs it on this machine. The builds live here, so
BatchGetBuilds, ListBuilds, ListBuildsForProject, StopBuild and RetryBuild answer from them;
UpdateProject, which moto lacks, re-creates the project in moto with the change merged in.
CODEPIPELINE projects (source and artifacts come from the pipeline, so they have no location)
are recorded in moto, which requires a location, with a placeholder that answers leave out; a
pipeline runs them with S3 source and artifacts overrides.

Control: ``GET /_localcloud/codebuild`` lists the builds with their status and workspace folder.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from .build import Build
from .models import SOURCE_TYPES, BuildConfig

log = logging.getLogger("mysfits_lab.localcloud.codebuild")

# Fields CreateProject accepts, i.e. what an updated project is re-created from.
_PROJECT_FIELDS = (
    "description",
    "source",
    "sourceVersion",
    "artifacts",
    "cache",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
    "queuedTimeoutInMinutes",
    "tags",
    "logsConfig",
)
MIN_TIMEOUT_MINUTES = 5  # CodeBuild's least timeoutInMinutes and queuedTimeoutInMinutes
STOP_WAIT_SECONDS = 10.0
PIPELINE_PLACEHOLDER = "codepipeline"  # moto's location of a CODEPIPELINE source or artifacts


def _not_found(what: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"{what} does not exist")


def _with_placeholders(project: dict[str, Any]) -> dict[str, Any] | None:
    """``project`` with a location for its CODEPIPELINE settings that lack one (None: none
    lacks one)."""
    placed = dict(project)
    for key in ("source", "artifacts"):
        setting = project.get(key) or {}
        if setting.get("type") == "CODEPIPELINE" and not setting.get("location"):
            placed[key] = setting | {"location": PIPELINE_PLACEHOLDER}
    return placed if placed != project else None


def _recreatable(project: dict[str, Any]) -> dict[str, Any]:
    """The CreateProject fields of ``project``; moto reports 0 for a timeout that was never
    set (CodeBuild's minimum is 5), so such a timeout is left unset again."""
    fields = {k: v for k, v in project.items() if k in _PROJECT_FIELDS}
    for key in ("timeoutInMinutes", "queuedTimeoutInMinutes"):
        if fields.get(key, MIN_TIMEOUT_MINUTES) < MIN_TIMEOUT_MINUTES:
            del fields[key]
    return fields


def _without_placeholders(project: dict[str, Any]) -> dict[str, Any]:
    for key in ("source", "artifacts"):
        setting = project.get(key) or {}
        if (
            setting.get("type") == "CODEPIPELINE"
            and setting.get("location") == PIPELINE_PLACEHOLDER
        ):
            del setting["location"]
    return project


class CodeBuildProvider(Provider):
    name = "codebuild"
    requires = ("images",)  # builds run `docker build/push` against the image store

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self._builds: dict[str, Build] = {}
        self._numbers: dict[str, int] = {}  # the last build number of each project
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("codebuild", "StartBuild", self._start_build),
            Route("codebuild", "RetryBuild", self._retry_build),
            Route("codebuild", "BatchGetBuilds", self._batch_get_builds),
            Route("codebuild", "ListBuildsForProject", self._list_builds_for_project),
            Route("codebuild", "ListBuilds", self._list_builds),
            Route("codebuild", "StopBuild", self._stop_build),
            Route("codebuild", "UpdateProject", self._update_project),
            Route("codebuild", "CreateProject", self._create_project),
            Route("codebuild", "BatchGetProjects", self._batch_get_projects),
        ]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._list_control)]

    def _codebuild(self, region: str) -> Any:
        return self.ctx.client("codebuild", region)

    def _build(self, build_id: str) -> Build:
        with self._lock:
            build = self._builds.get(build_id)
        if build is None:
            raise _not_found(f"Build {build_id}")
        return build

    # -- builds -----------------------------------------------------------------------------
    def _start_build(self, call: Call) -> dict[str, Any]:
        params = call.params
        override = params.get("sourceTypeOverride")
        if override and override not in SOURCE_TYPES:
            raise ServiceError("InvalidInputException", f"Invalid source type: {override}")
        build_id = call.moto()["build"]["id"]  # moto checks the project and names the build
        name = params["projectName"]
        found = self._codebuild(call.region).batch_get_projects(names=[name])["projects"]
        if not found:
            raise _not_found(f"Project {name}")
        with self._lock:
            number = self._numbers[name] = self._numbers.get(name, 0) + 1
        config = BuildConfig(build_id, call.region, number, found[0], params)
        build = Build(self.ctx, config, self.workdir() / config.uuid)
        with self._lock:
            self._builds[build_id] = build
        queued = build.start()
        log.info("build %s started", build_id)
        return {"build": queued}

    def _retry_build(self, call: Call) -> dict[str, Any]:
        previous = self._build(call.params.get("id", ""))  # optional in the API
        # A new build with the same settings, started through StartBuild like any other.
        params = {k: v for k, v in previous.config.params.items() if k != "idempotencyToken"}
        started = self._codebuild(previous.config.region).start_build(**params)
        return {"build": started["build"]}

    def _batch_get_builds(self, call: Call) -> dict[str, Any]:
        ids = call.params.get("ids") or []
        if any(":" not in i for i in ids):
            raise ServiceError("InvalidInputException", "Invalid build ID provided")
        with self._lock:
            found = {i: self._builds[i] for i in ids if i in self._builds}
        return {
            "builds": [found[i].snapshot() for i in ids if i in found],
            "buildsNotFound": [i for i in ids if i not in found],
        }

    def _ids(self, project: str | None, order: str | None) -> list[str]:
        with self._lock:
            builds = [b for b in self._builds.values() if project in (None, b.config.project_name)]
        builds.sort(key=lambda b: b.start_time, reverse=order != "ASCENDING")
        return [b.id for b in builds]

    def _list_builds_for_project(self, call: Call) -> dict[str, Any]:
        params = call.params
        call.moto()  # moto answers ResourceNotFoundException for an unknown project
        return {"ids": self._ids(params["projectName"], params.get("sortOrder"))}

    def _list_builds(self, call: Call) -> dict[str, Any]:
        return {"ids": self._ids(None, call.params.get("sortOrder"))}

    def _stop_build(self, call: Call) -> dict[str, Any]:
        build = self._build(call.params["id"])
        build.stop()
        build.done.wait(STOP_WAIT_SECONDS)
        return {"build": build.snapshot()}

    # -- projects ---------------------------------------------------------------------------
    def _create_project(self, call: Call) -> dict[str, Any]:
        placed = _with_placeholders(call.params)
        if placed is None:
            answer = call.moto()
        else:  # comes back here with the placeholders, for moto to record
            try:
                answer = self._codebuild(call.region).create_project(**placed)
            except ClientError as exc:
                error = exc.response["Error"]
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                raise ServiceError(error["Code"], error.get("Message", ""), status) from None
        answer["project"] = _without_placeholders(answer["project"])
        return answer

    def _batch_get_projects(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        answer["projects"] = [_without_placeholders(p) for p in answer.get("projects", [])]
        return answer

    def _update_project(self, call: Call) -> dict[str, Any]:
        """moto has no UpdateProject: merge the change and re-create the project in moto."""
        update = call.params
        codebuild = self._codebuild(call.region)
        found = codebuild.batch_get_projects(names=[update["name"]])["projects"]
        if not found:
            raise _not_found(f"Project {update['name']}")
        name = found[0]["name"]
        merged = _recreatable(found[0] | update)
        codebuild.delete_project(name=name)
        try:
            return {"project": codebuild.create_project(name=name, **merged)["project"]}
        except ClientError as exc:  # refused: the project stays as it was
            codebuild.create_project(name=name, **_recreatable(found[0]))
            error = exc.response["Error"]
            status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
            raise ServiceError(error["Code"], error.get("Message", ""), status) from None

    # -- control and lifecycle --------------------------------------------------------------
    def _list_control(self, _request: Request) -> dict[str, Any]:
        with self._lock:
            builds = sorted(self._builds.values(), key=lambda b: b.start_time)
        return {
            "builds": [
                {
                    "id": b.id,
                    "status": snapshot["buildStatus"],
                    "phase": snapshot["currentPhase"],
                    "workspace": str(b.workspace),
                }
                for b in builds
                for snapshot in [b.snapshot()]
            ]
        }

    def stop(self) -> None:
        with self._lock:
            builds = list(self._builds.values())
        for build in builds:
            build.stop()
        for build in builds:
            build.done.wait(timeout=5)

    def status(self) -> dict[str, Any]:
        with self._lock:
            builds = list(self._builds.values())
        running = [b.id for b in builds if not b.done.is_set()]
        return {"codebuild": {"builds": len(builds), "running": running}}
