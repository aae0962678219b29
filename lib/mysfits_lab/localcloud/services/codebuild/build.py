"""One build, run as CodeBuild runs it, on a thread of its own.

The phases SUBMITTED → QUEUED → PROVISIONING → DOWNLOAD_SOURCE → INSTALL → PRE_BUILD → BUILD →
POST_BUILD → UPLOAD_ARTIFACTS → FINALIZING → COMPLETED, with their statuses and times; the
source unpacked into a workspace; the buildspec's commands in one bash session with the
``docker`` and ``aws`` shims first on PATH; every line in CloudWatch Logs; artifacts in S3.

As on CodeBuild, a failure in INSTALL or PRE_BUILD skips to FINALIZING (unless the phase says
``on-failure: CONTINUE``), while a failure in BUILD still runs POST_BUILD (with
``CODEBUILD_BUILD_SUCCEEDING=0``) and UPLOAD_ARTIFACTS.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...core.provider import Context
from ...shims import SHIMS_DIR
from . import artifacts
from .buildspec import COMMAND_PHASES, Buildspec, PhaseError, PhaseSpec
from .models import BuildConfig, BuildRecord
from .output import BuildOutput
from .shell import BuildShell, ShellInterrupted
from .source import download_source, load_buildspec
from .variables import user_variables

log = logging.getLogger("mysfits_lab.localcloud.codebuild")

# Phases whose end CodeBuild's agent writes to the build log.
_REPORTED = {*COMMAND_PHASES, "DOWNLOAD_SOURCE", "UPLOAD_ARTIFACTS"}


class BuildInterrupted(Exception):
    """The build timed out or was stopped: ``status`` is TIMED_OUT or STOPPED."""

    def __init__(self, status: str, message: str = ""):
        super().__init__(message or status)
        self.status, self.message = status, message


class _SkipToFinalizing(Exception):
    """A phase failed and the build does not go on."""


class Build:
    """A build's record, and the thread that runs it once started."""

    def __init__(self, ctx: Context, config: BuildConfig, workspace: Path):
        self._ctx = ctx
        self.config = config
        self.workspace = workspace
        self._src, self._home = workspace / "src", workspace / "home"
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()
        self.done = threading.Event()
        self._failed = False
        self._record = BuildRecord.submitted(config, ctx.clock.now())
        self._deadline = ctx.clock.timeout_deadline(60 * config.timeout_minutes)
        self._output = BuildOutput(ctx.logs, ctx.clock, config.region, config.logs)
        self._resources = contextlib.ExitStack()  # closed in FINALIZING
        self._thread = threading.Thread(
            target=self._run, name=f"codebuild-{config.uuid[:8]}", daemon=True
        )

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def start_time(self) -> float:
        return self._record.start_time

    def snapshot(self) -> dict[str, Any]:
        """The build as BatchGetBuilds reports it."""
        with self._lock:
            return self._record.to_api()

    def start(self) -> dict[str, Any]:
        """Start running; the build as StartBuild reports it (QUEUED)."""
        queued = self.snapshot()
        self._thread.start()
        return queued

    def stop(self) -> None:
        self._stop_requested.set()

    # -- phases -----------------------------------------------------------------------------
    def _say(self, message: str) -> None:
        self._output.container(message)

    def _begin(self, phase: str) -> None:
        with self._lock:
            self._record.begin(phase, self._ctx.clock.now())

    def _end(self, status: str, code: str = "", message: str = "") -> None:
        with self._lock:
            phase = self._record.current
            phase.finish(status, self._ctx.clock.now(), (code, message))
        if phase.phase_type in _REPORTED:
            self._say(f"Phase complete: {phase.phase_type} State: {status}")
            self._say(f"Phase context status code: {code} Message: {message}")

    def _check(self) -> None:
        if self._stop_requested.is_set():
            raise BuildInterrupted("STOPPED")
        if self._ctx.clock.monotonic() >= self._deadline:
            raise BuildInterrupted("TIMED_OUT", "Build has timed out. ")

    @contextlib.contextmanager
    def _phase(self, phase: str, continue_on_failure: bool = False) -> Iterator[None]:
        """Run the body as ``phase``; a PhaseError fails the phase and, unless the build goes
        on, skips to FINALIZING."""
        self._check()
        self._begin(phase)
        if phase in COMMAND_PHASES:
            self._say(f"Entering phase {phase}")
        try:
            yield
        except PhaseError as exc:
            self._failed = True
            self._end("FAILED", exc.code, exc.message)
            if not continue_on_failure:
                raise _SkipToFinalizing from None
            return
        except ShellInterrupted as exc:
            interrupted = (
                BuildInterrupted("TIMED_OUT", "Build has timed out. ")
                if exc.reason == "timeout"
                else BuildInterrupted("STOPPED")
            )
            self._interrupted(interrupted)
            raise interrupted from None
        except BuildInterrupted as exc:
            self._interrupted(exc)
            raise
        self._end("SUCCEEDED")

    def _interrupted(self, exc: BuildInterrupted) -> None:
        self._end(exc.status, "BUILD_TIMED_OUT" if exc.status == "TIMED_OUT" else "", exc.message)

    def _run(self) -> None:
        final = "FAULT"
        try:
            with self._lock:
                self._record.current.finish("SUCCEEDED", self._ctx.clock.now())  # QUEUED
            self._execute()
            final = "FAILED" if self._failed else "SUCCEEDED"
        except _SkipToFinalizing:
            final = "FAILED"
        except BuildInterrupted as exc:
            final = exc.status
            if exc.status == "TIMED_OUT":
                self._say(f"Build timed out after {self.config.timeout_minutes} minutes")
        except Exception as exc:  # our bug: report FAULT like CodeBuild's service errors
            log.exception("build %s crashed", self.id)
            self._say(f"Local cloud error: {exc}")
            if self._record.current.status is None:
                self._end("FAULT", "INTERNAL_ERROR", str(exc))
        finally:
            self._finalize(final)

    def _execute(self) -> None:
        with self._phase("PROVISIONING"):
            self._provision()
        with self._phase("DOWNLOAD_SOURCE"):
            buildspec, env = self._download_source()
        shell = BuildShell(
            self._ctx.launcher,
            self._src,
            env,
            self._output.line,
            self.workspace / "commands",
            isolated=buildspec.version == "0.1",
            name=f"codebuild-{self.config.uuid[:8]}",
        )
        self._resources.callback(shell.close)
        for phase in ("INSTALL", "PRE_BUILD"):
            spec = buildspec.phase(phase)
            with self._phase(phase, spec is not None and spec.on_failure == "CONTINUE"):
                self._commands(shell, spec)
        # From BUILD on, a failure does not skip POST_BUILD nor the artifact upload.
        for phase in ("BUILD", "POST_BUILD"):
            with self._phase(phase, continue_on_failure=True):
                self._commands(shell, buildspec.phase(phase))
        with self._phase("UPLOAD_ARTIFACTS", continue_on_failure=True):
            self._upload_artifacts(buildspec)

    def _finalize(self, final: str) -> None:
        self._begin("FINALIZING")
        self._resources.close()  # the shell, and whatever its commands left running
        self._end("SUCCEEDED")
        self._begin("COMPLETED")
        self._output.flush()  # every line is in CloudWatch before the build reads as complete
        with self._lock:
            self._record.finish(final, self._ctx.clock.now())
        self.done.set()
        self._ctx.changes.notify()  # a pipeline's build action reads it now
        log.info("build %s %s", self.id, final)

    # -- what the phases do -----------------------------------------------------------------
    def _provision(self) -> None:
        self._say(
            "Running on CodeBuild On-demand (mysfits-lab local cloud: the build "
            "runs on this machine, with docker and aws shims)"
        )
        for folder in (self._src, self._home / ".docker"):
            folder.mkdir(parents=True, exist_ok=True)
        self._say("Waiting for agent ping")
        self._say("Waiting for DOWNLOAD_SOURCE")

    def _client(self, service: str) -> Any:
        return self._ctx.client(service, self.config.region)

    def _download_source(self) -> tuple[Buildspec, dict[str, str]]:
        self._say("Phase is DOWNLOAD_SOURCE")
        source = self.config.source
        version = download_source(self._client("s3"), source, self._src, self.config.source_version)
        with self._lock:
            self._record.resolved_source_version = version
        self._say(f"CODEBUILD_SRC_DIR={self._src}")
        buildspec = load_buildspec(
            self._client("s3"), str(source.get("buildspec") or ""), self._src, self._say
        )
        self._say("Processing environment variables")
        env = self._environment(buildspec)
        self._say(f"Moving to directory {self._src}")
        return buildspec, env

    def _environment(self, buildspec: Buildspec) -> dict[str, str]:
        variables = user_variables(
            buildspec, self.config.environment["environmentVariables"], self._client
        )
        with self._lock:
            codebuild = self._record.codebuild_variables(str(self._src))
        edge = self._ctx.edge_url
        return self._ctx.child_environment(
            self.config.region,
            path_first=[str(SHIMS_DIR)],
            extra={
                "HOME": str(self._home),
                "DOCKER_CONFIG": str(self._home / ".docker"),
                "MYSFITS_LOCALCLOUD_URL": edge,
                "MYSFITS_LOCALCLOUD_PYTHON": sys.executable,
                **variables,
                **codebuild,
            },
        )

    def _commands(self, shell: BuildShell, spec: PhaseSpec | None) -> None:
        if spec is None:
            return
        if spec.runtime_versions:
            self._say(
                f"Skipping runtime-versions {spec.runtime_versions}: the local cloud builds with "
                f"this machine's runtimes (python {sys.version.split()[0]})"
            )
        shell.export("CODEBUILD_BUILD_SUCCEEDING", "0" if self._failed else "1")
        failure: PhaseError | None = None
        for command in spec.commands:
            failure = self._run_command(shell, command)
            if failure:
                break
        for command in spec.finally_:
            failure = self._run_command(shell, command) or failure
        if failure:
            raise failure

    def _run_command(self, shell: BuildShell, command: str) -> PhaseError | None:
        self._say(f"Running command {command}")
        status = shell.run(command, self._deadline, self._stop_requested.is_set)
        if status == 0:
            return None
        self._say(f"Command did not exit successfully {command} exit status {status}")
        return PhaseError(
            "COMMAND_EXECUTION_ERROR",
            f"Error while executing command: {command}. Reason: exit status {status}",
        )

    def _upload_artifacts(self, buildspec: Buildspec) -> None:
        kind = self.config.artifacts.get("type", "NO_ARTIFACTS")
        if kind == "NO_ARTIFACTS":
            self._say("Skipping artifact upload: the project has no artifacts")
            return
        spec = buildspec.artifacts
        if kind != "S3":
            raise PhaseError(
                "CLIENT_ERROR",
                f"artifacts type {kind} is not supported by the "
                "local cloud's CodeBuild outside a pipeline: use S3 or NO_ARTIFACTS",
            )
        if not spec:
            raise PhaseError(
                "CLIENT_ERROR",
                "no artifacts section in the buildspec: the "
                "project's S3 artifacts need artifacts.files",
            )
        files = artifacts.collect(spec, self._src, self._say)
        target = self.config.artifact_target(str(spec.get("name") or "") or None)
        if target is None:
            raise PhaseError("CLIENT_ERROR", "the project's S3 artifacts have no location")
        bucket, key = target
        zipped = self.config.artifacts.get("packaging", "NONE") == "ZIP"
        uploaded = artifacts.upload(self._client("s3"), files, bucket, key, zipped)
        with self._lock:
            self._record.artifacts = uploaded
        self._say(f"Uploaded {len(files)} artifact file(s) to s3://{bucket}/{key}")
