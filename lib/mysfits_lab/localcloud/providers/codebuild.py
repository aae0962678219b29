"""CodeBuild builds that really run their buildspec.

moto keeps the projects, and answers StartBuild by jumping to SUCCEEDED without running anything.
Here StartBuild still goes through moto (it validates the project and names the build), then a
thread runs the build as CodeBuild does: the phases SUBMITTED → QUEUED → PROVISIONING →
DOWNLOAD_SOURCE → INSTALL → PRE_BUILD → BUILD → POST_BUILD → UPLOAD_ARTIFACTS → FINALIZING →
COMPLETED with their statuses and times; the S3 source zip unpacked into a workspace under the
cloud's state directory; the buildspec's commands run in one bash session (buildspec 0.2 keeps
the working directory and variables from one command to the next), with the ``docker`` and
``aws`` shims first on PATH; every output line in CloudWatch Logs; artifacts uploaded to S3.

As on CodeBuild, a failure in INSTALL or PRE_BUILD skips to FINALIZING, while a failure in BUILD
still runs POST_BUILD (with ``CODEBUILD_BUILD_SUCCEEDING=0``) and UPLOAD_ARTIFACTS.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.wrappers import Request, Response

from ..awsrequest import AwsRequest
from ..edge import Forward, json_error, json_response
from ..shims import SHIMS_DIR

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.codebuild")

ACCOUNT_ID = "123456789012"
COMMAND_PHASES = {
    "INSTALL": "install",
    "PRE_BUILD": "pre_build",
    "BUILD": "build",
    "POST_BUILD": "post_build",
}
DEFAULT_TIMEOUT_MINUTES = 60
_LOG_BATCH = 500


class PhaseError(Exception):
    """A phase failed; ``code``/``message`` become the phase's context, as AWS reports it."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class BuildInterrupted(Exception):
    """The build timed out or was stopped: ``status`` is TIMED_OUT or STOPPED."""

    def __init__(self, status: str, message: str = ""):
        super().__init__(message or status)
        self.status, self.message = status, message


# ----------------------------------------------------------------------------- buildspec


@dataclass
class PhaseSpec:
    commands: list[str] = field(default_factory=list)
    finally_: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"
    runtime_versions: dict[str, Any] = field(default_factory=dict)


@dataclass
class Buildspec:
    version: str
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    phases: dict[str, PhaseSpec] = field(default_factory=dict)
    artifacts: dict[str, Any] | None = None


def _yaml_error(message: str) -> PhaseError:
    return PhaseError("YAML_FILE_ERROR", message)


def _commands(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _yaml_error(f"Expected {where} to be a list of commands")
    commands = []
    for index, item in enumerate(value):
        # An unquoted "- echo a: b" is a mapping in YAML; CodeBuild rejects it the same way.
        if isinstance(item, dict | list):
            raise _yaml_error(
                f"Expected {where}[{index}] to be of string type: found subkeys "
                "instead (quote the command)"
            )
        commands.append(str(item))
    return commands


def parse_buildspec(text: str) -> Buildspec:
    """Read a buildspec (version 0.2, or 0.1 where each command runs in its own shell)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(f"the buildspec is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise _yaml_error("the buildspec must be a YAML mapping with version and phases")
    version = str(document.get("version", ""))
    if version not in ("0.2", "0.1"):
        raise _yaml_error(f"invalid buildspec version {version or '(missing)'!r}: use 0.2")
    env = document.get("env") or {}
    if not isinstance(env, dict):
        raise _yaml_error("env must be a mapping")
    spec = Buildspec(
        version=version,
        variables={str(k): _scalar(v) for k, v in (env.get("variables") or {}).items()},
        parameter_store={str(k): str(v) for k, v in (env.get("parameter-store") or {}).items()},
        secrets_manager={str(k): str(v) for k, v in (env.get("secrets-manager") or {}).items()},
    )
    phases = document.get("phases") or {}
    if not isinstance(phases, dict):
        raise _yaml_error("phases must be a mapping")
    known = set(COMMAND_PHASES.values())
    for name, body in phases.items():
        if name not in known:
            raise _yaml_error(f"unknown phase {name!r} (phases are {', '.join(sorted(known))})")
        body = body or {}
        if not isinstance(body, dict):
            raise _yaml_error(f"phase {name} must be a mapping with commands")
        on_failure = str(body.get("on-failure", "ABORT")).upper()
        if on_failure not in ("ABORT", "CONTINUE"):
            raise _yaml_error(f"phase {name}: on-failure must be ABORT or CONTINUE")
        spec.phases[name] = PhaseSpec(
            commands=_commands(body.get("commands"), "Commands"),
            finally_=_commands(body.get("finally"), "Finally"),
            on_failure=on_failure,
            runtime_versions=dict(body.get("runtime-versions") or {}),
        )
    artifacts = document.get("artifacts")
    if artifacts is not None:
        if not isinstance(artifacts, dict) or not artifacts.get("files"):
            raise _yaml_error("artifacts needs a files list")
        spec.artifacts = artifacts
    return spec


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("yes", "true", "1")


# ----------------------------------------------------------------------------- the shell


class ShellInterrupted(Exception):
    def __init__(self, reason: str):  # "timeout" or "stopped"
        super().__init__(reason)
        self.reason = reason


class BuildShell:
    """One bash session that runs commands one at a time and reports each exit status.

    Each command is written to a file and sourced, so ``cd`` and variables carry over to the
    next command (buildspec 0.2); ``isolated=True`` runs each in a subshell instead (0.1). After
    a command, bash prints a marker with its status on a copy of stdout (fd 9), so the marker
    arrives after all of the command's output and survives ``exec >file`` in a command.
    """

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        on_line: Callable[[str], None],
        script_dir: Path,
        isolated: bool = False,
    ):
        self.cwd, self.env, self.on_line = cwd, env, on_line
        self.script_dir, self.isolated = script_dir, isolated
        self.script_dir.mkdir(parents=True, exist_ok=True)
        self._marker = f"__mysfits_codebuild_{uuid.uuid4().hex}_"
        self._count = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._statuses: queue.Queue[int | None] = queue.Queue()
        self._reader: threading.Thread | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        self._statuses = queue.Queue()
        proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: a timeout kills every child
        )
        assert proc.stdin is not None
        proc.stdin.write(b"exec 9>&1\n")
        proc.stdin.flush()
        self._reader = threading.Thread(
            target=self._read, args=(proc, self._statuses), name="codebuild-output", daemon=True
        )
        self._reader.start()
        self.proc = proc
        return proc

    def _read(self, proc: subprocess.Popen[bytes], statuses: queue.Queue[int | None]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n").rstrip("\r")
            at = line.find(self._marker)
            if at >= 0:
                if line[:at]:
                    self.on_line(line[:at])  # output that did not end with a newline
                statuses.put(int(line[at + len(self._marker) :] or 1))
                continue
            self.on_line(line)
        statuses.put(None)

    def export(self, name: str, value: str) -> None:
        proc = self.proc if self.proc and self.proc.poll() is None else self._start()
        assert proc.stdin is not None
        proc.stdin.write(f"export {name}={shlex.quote(value)}\n".encode())
        proc.stdin.flush()

    def run(
        self,
        command: str,
        deadline: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> int:
        """Run ``command``; its exit status. Raises ShellInterrupted on deadline or stop."""
        proc = self.proc if self.proc and self.proc.poll() is None else self._start()
        statuses = self._statuses
        self._count += 1
        script = self.script_dir / f"command-{self._count}.sh"
        script.write_text(command + "\n", encoding="utf-8")
        source = f". {shlex.quote(str(script))} 9>&- </dev/null"
        if self.isolated:
            source = f"( {source} )"
        wrapper = f"{source}\nprintf '%s%d\\n' {shlex.quote(self._marker)} \"$?\" >&9\n"
        assert proc.stdin is not None
        try:
            proc.stdin.write(wrapper.encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return proc.wait()
        while True:
            if should_stop():
                self.kill()
                raise ShellInterrupted("stopped")
            wait = 0.1
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise ShellInterrupted("timeout")
                wait = min(wait, remaining)
            try:
                status = statuses.get(timeout=wait)
            except queue.Empty:
                continue
            if status is None:  # the shell itself exited (`exit 3` in a command)
                return proc.wait()
            return status

    def kill(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def close(self) -> None:
        """End the session and anything it left running in the background."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self._reader is not None:
            self._reader.join(timeout=2)


# ----------------------------------------------------------------------------- logs


class LogSink:
    """Build output to a CloudWatch Logs stream, flushed in the background in order."""

    def __init__(self, client: Any | None, group: str, stream: str):
        self.client, self.group, self.stream = client, group, stream
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._last = 0
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        if self.client is None:
            return
        for call, kwargs in (
            (self.client.create_log_group, {"logGroupName": self.group}),
            (
                self.client.create_log_stream,
                {"logGroupName": self.group, "logStreamName": self.stream},
            ),
        ):
            try:
                call(**kwargs)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    raise
        self._thread = threading.Thread(target=self._flush_loop, name="codebuild-logs", daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        if self.client is None or not line.strip():
            return  # CloudWatch rejects empty messages
        with self._lock:
            # Strictly ordered timestamps: PutLogEvents wants them chronological.
            self._last = max(self._last, int(time.time() * 1000))
            self._events.append({"timestamp": self._last, "message": line[:200_000]})

    def container(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        self.write(f"[Container] {stamp} {message}")

    def flush(self) -> None:
        if self.client is None:
            return
        with self._send_lock:
            with self._lock:
                events, self._events = self._events, []
            for start in range(0, len(events), _LOG_BATCH):
                try:
                    self.client.put_log_events(
                        logGroupName=self.group,
                        logStreamName=self.stream,
                        logEvents=events[start : start + _LOG_BATCH],
                    )
                except (ClientError, BotoCoreError):
                    log.exception("could not write build logs to %s", self.group)

    def _flush_loop(self) -> None:
        while not self._closed.wait(0.25):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


# ----------------------------------------------------------------------------- a build


def _stamp() -> float:
    return time.time()


class Build:
    """One build: its AWS-shaped record and the thread that runs it."""

    def __init__(
        self,
        provider: CodeBuildProvider,
        build_id: str,
        region: str,
        project: dict[str, Any],
        params: dict[str, Any],
        number: int,
    ):
        self.provider, self.cloud = provider, provider.cloud
        self.id, self.region, self.project, self.params = build_id, region, project, params
        self.uuid = build_id.split(":", 1)[1]
        self.workspace = provider.workspace / self.uuid
        self.src = self.workspace / "src"
        self.home = self.workspace / "home"
        self.lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.done = threading.Event()
        self.failed = False
        self.shell: BuildShell | None = None
        self.buildspec: Buildspec | None = None
        self.env: dict[str, str] = {}
        self.resolved_version = ""
        self.queued_record: dict[str, Any] = {}
        self.started = time.monotonic()
        self.source = self._effective_source()
        self.artifacts_config = params.get("artifactsOverride") or project.get("artifacts") or {}
        self.timeout_minutes = int(
            params.get("timeoutInMinutesOverride")
            or project.get("timeoutInMinutes")
            or DEFAULT_TIMEOUT_MINUTES
        )
        self.deadline = self.started + 60 * self.timeout_minutes
        self.sink = self._log_sink()
        now = _stamp()
        environment = copy.deepcopy(project.get("environment") or {})
        environment["environmentVariables"] = [
            *environment.get("environmentVariables", []),
            *params.get("environmentVariablesOverride", []),
        ]
        for key, override in (
            ("image", "imageOverride"),
            ("computeType", "computeTypeOverride"),
            ("type", "environmentTypeOverride"),
        ):
            if params.get(override):
                environment[key] = params[override]
        self.record: dict[str, Any] = {
            "id": build_id,
            "arn": f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:build/{build_id}",
            "buildNumber": number,
            "startTime": now,
            "currentPhase": "QUEUED",
            "buildStatus": "IN_PROGRESS",
            "projectName": project["name"],
            "phases": [
                {
                    "phaseType": "SUBMITTED",
                    "phaseStatus": "SUCCEEDED",
                    "startTime": now,
                    "endTime": now,
                    "durationInSeconds": 0,
                },
                {"phaseType": "QUEUED", "startTime": now},
            ],
            "source": self.source,
            "secondarySources": [],
            "secondarySourceVersions": [],
            "artifacts": {"location": self._artifact_location()},
            "secondaryArtifacts": [],
            "cache": project.get("cache") or {"type": "NO_CACHE"},
            "environment": environment,
            "serviceRole": project.get("serviceRole", ""),
            "logs": self._logs_field(),
            "timeoutInMinutes": self.timeout_minutes,
            "queuedTimeoutInMinutes": int(project.get("queuedTimeoutInMinutes") or 480),
            "buildComplete": False,
            "initiator": "mysfits-lab",
            "encryptionKey": project.get("encryptionKey", ""),
        }
        version = self.source_version
        if version:
            self.record["sourceVersion"] = version
        self.thread = threading.Thread(
            target=self._run, name=f"codebuild-{self.uuid[:8]}", daemon=True
        )

    # -- settings ---------------------------------------------------------------------------
    def _effective_source(self) -> dict[str, Any]:
        source = copy.deepcopy(self.project.get("source") or {})
        if self.params.get("sourceTypeOverride"):
            source["type"] = self.params["sourceTypeOverride"]
        if self.params.get("sourceLocationOverride"):
            source["location"] = self.params["sourceLocationOverride"]
        if self.params.get("buildspecOverride"):
            source["buildspec"] = self.params["buildspecOverride"]
        return source

    @property
    def source_version(self) -> str:
        return self.params.get("sourceVersion") or self.project.get("sourceVersion") or ""

    def _logs_settings(self) -> tuple[bool, str, str]:
        config = self.params.get("logsConfigOverride") or self.project.get("logsConfig") or {}
        cloudwatch = config.get("cloudWatchLogs") or {}
        enabled = cloudwatch.get("status", "ENABLED") == "ENABLED"
        group = cloudwatch.get("groupName") or f"/aws/codebuild/{self.project['name']}"
        stream = (
            f"{cloudwatch['streamName']}/{self.uuid}" if cloudwatch.get("streamName") else self.uuid
        )
        return enabled, group, stream

    def _log_sink(self) -> LogSink:
        enabled, group, stream = self._logs_settings()
        client = self.cloud.client("logs", self.region) if enabled else None
        return LogSink(client, group, stream)

    def _logs_field(self) -> dict[str, Any]:
        enabled, group, stream = self._logs_settings()
        s3_logs = {"status": "DISABLED", "encryptionDisabled": False}
        if not enabled:
            return {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": s3_logs}
        return {
            "groupName": group,
            "streamName": stream,
            "deepLink": (
                f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}"
                f"#logEvent:group={group};stream={stream}"
            ),
            "cloudWatchLogsArn": (
                f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{group}:log-stream:{stream}"
            ),
            "cloudWatchLogs": {"status": "ENABLED", "groupName": group, "streamName": stream},
            "s3Logs": s3_logs,
        }

    def _artifact_target(self) -> tuple[str, str] | None:
        """(bucket, key) of S3 artifacts."""
        config = self.artifacts_config
        if config.get("type") != "S3" or not config.get("location"):
            return None
        namespace = self.uuid if config.get("namespaceType") == "BUILD_ID" else ""
        name = config.get("name") or self.project["name"]
        if (
            _truthy(config.get("overrideArtifactName"))
            and self.buildspec
            and self.buildspec.artifacts
            and self.buildspec.artifacts.get("name")
        ):
            name = str(self.buildspec.artifacts["name"])
        parts = [p.strip("/") for p in (config.get("path", ""), namespace, name) if p]
        return config["location"], "/".join(p for p in parts if p)

    def _artifact_location(self) -> str:
        target = self._artifact_target()
        return f"arn:aws:s3:::{target[0]}/{target[1]}" if target else ""

    # -- the record -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.record)

    def _begin(self, phase: str) -> None:
        with self.lock:
            self.record["currentPhase"] = phase
            self.record["phases"].append({"phaseType": phase, "startTime": _stamp()})

    def _end(self, phase: str, status: str, code: str = "", message: str = "") -> None:
        now = _stamp()
        with self.lock:
            entry = self.record["phases"][-1]
            assert entry["phaseType"] == phase
            entry.update(
                phaseStatus=status,
                endTime=now,
                durationInSeconds=int(round(now - entry["startTime"])),
                contexts=[{"statusCode": code, "message": message}],
            )
        if phase in COMMAND_PHASES or phase in ("DOWNLOAD_SOURCE", "UPLOAD_ARTIFACTS"):
            self.sink.container(f"Phase complete: {phase} State: {status}")
            self.sink.container(f"Phase context status code: {code} Message: {message}")

    # -- running ----------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Start running; returns the record as StartBuild reports it (QUEUED)."""
        self.sink.open()  # the log stream exists as soon as StartBuild answers
        record = self.snapshot()
        self.thread.start()
        return record

    def stop(self) -> None:
        self.stop_requested.set()

    def _check(self) -> None:
        if self.stop_requested.is_set():
            raise BuildInterrupted("STOPPED")
        if time.monotonic() >= self.deadline:
            raise BuildInterrupted("TIMED_OUT", "Build has timed out. ")

    def _phase(self, phase: str, action: Callable[[], None]) -> bool:
        """Run one phase; False when the build must skip ahead to FINALIZING."""
        self._check()
        self._begin(phase)
        if phase in COMMAND_PHASES:
            self.sink.container(f"Entering phase {phase}")
        try:
            action()
        except PhaseError as exc:
            self.failed = True
            self._end(phase, "FAILED", exc.code, exc.message)
            spec = (
                self.buildspec.phases.get(COMMAND_PHASES.get(phase, "")) if self.buildspec else None
            )
            return spec is not None and spec.on_failure == "CONTINUE"
        except (BuildInterrupted, ShellInterrupted) as exc:
            if isinstance(exc, ShellInterrupted):
                exc = (
                    BuildInterrupted("TIMED_OUT", "Build has timed out. ")
                    if exc.reason == "timeout"
                    else BuildInterrupted("STOPPED")
                )
            code = "BUILD_TIMED_OUT" if exc.status == "TIMED_OUT" else ""
            self._end(phase, exc.status, code, exc.message)
            raise exc from None
        self._end(phase, "SUCCEEDED")
        return True

    def _run(self) -> None:
        final = "FAULT"
        try:
            with self.lock:
                queued = self.record["phases"][-1]
                now = _stamp()
                queued.update(
                    phaseStatus="SUCCEEDED",
                    endTime=now,
                    durationInSeconds=int(round(now - queued["startTime"])),
                )
            self._execute()
            final = "FAILED" if self.failed else "SUCCEEDED"
        except BuildInterrupted as exc:
            final = exc.status
            if exc.status == "TIMED_OUT":
                self.sink.container(f"Build timed out after {self.timeout_minutes} minutes")
        except Exception as exc:  # our bug: report FAULT like CodeBuild's service errors
            log.exception("build %s crashed", self.id)
            self.sink.container(f"Local cloud error: {exc}")
            with self.lock:
                last = self.record["phases"][-1]
            if "phaseStatus" not in last:
                self._end(last["phaseType"], "FAULT", "INTERNAL_ERROR", str(exc))
        finally:
            self._finalize(final)

    def _execute(self) -> None:
        ok = self._phase("PROVISIONING", self._provision)
        ok = ok and self._phase("DOWNLOAD_SOURCE", self._download_source)
        ok = ok and self._phase("INSTALL", lambda: self._commands("install"))
        ok = ok and self._phase("PRE_BUILD", lambda: self._commands("pre_build"))
        if not ok:
            return
        # From BUILD on, a failure does not skip POST_BUILD nor the artifact upload.
        self._phase("BUILD", lambda: self._commands("build"))
        self._phase("POST_BUILD", lambda: self._commands("post_build"))
        self._phase("UPLOAD_ARTIFACTS", self._upload_artifacts)

    def _finalize(self, final: str) -> None:
        self._begin("FINALIZING")
        if self.shell is not None:
            self.shell.close()
        self._end("FINALIZING", "SUCCEEDED")
        self._begin("COMPLETED")
        self.sink.close()  # every line is in CloudWatch before the build reads as complete
        with self.lock:
            self.record.update(buildStatus=final, endTime=_stamp(), buildComplete=True)
            if self.resolved_version:
                self.record["resolvedSourceVersion"] = self.resolved_version
        self.done.set()
        log.info("build %s %s", self.id, final)

    # -- phases -----------------------------------------------------------------------------
    def _provision(self) -> None:
        self.sink.container(
            "Running on CodeBuild On-demand (mysfits-lab local cloud: the build "
            "runs on this machine, with docker and aws shims)"
        )
        for folder in (self.src, self.home / ".docker"):
            folder.mkdir(parents=True, exist_ok=True)
        self.sink.container("Waiting for agent ping")
        self.sink.container("Waiting for DOWNLOAD_SOURCE")

    def _download_source(self) -> None:
        self.sink.container("Phase is DOWNLOAD_SOURCE")
        kind = self.source.get("type")
        if kind == "S3":
            self._fetch_s3(str(self.source.get("location", "")))
        elif kind != "NO_SOURCE":
            raise PhaseError(
                "CLIENT_ERROR",
                f"source type {kind} is not supported by the local "
                "cloud's CodeBuild: use an S3 source (a zip of the source folder), "
                "or NO_SOURCE with an inline buildspec",
            )
        self.sink.container(f"CODEBUILD_SRC_DIR={self.src}")
        self.buildspec = self._load_buildspec()
        self.sink.container("Processing environment variables")
        self.env = self._environment()
        self.sink.container(f"Moving to directory {self.src}")

    def _fetch_s3(self, location: str) -> None:
        bucket, _, key = location.removeprefix("arn:aws:s3:::").partition("/")
        s3 = self.cloud.client("s3", self.region)
        version = self.source_version
        try:
            if not key or key.endswith("/"):
                self._fetch_s3_folder(s3, bucket, key)
                return
            extra = {"VersionId": version} if version else {}
            obj = s3.get_object(Bucket=bucket, Key=key, **extra)
            data = obj["Body"].read()
        except ClientError as exc:
            error = exc.response["Error"]
            raise PhaseError(
                "CLIENT_ERROR",
                f"{error.get('Code')}: {error.get('Message', '')} "
                f"for primary source and source version {version}".rstrip(),
            ) from None
        object_version = obj.get("VersionId")
        self.resolved_version = (
            object_version
            if object_version not in (None, "null")
            else str(obj.get("ETag", "")).strip('"')
        )
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise PhaseError(
                "CLIENT_ERROR",
                f"s3://{bucket}/{key} is not a zip file: an S3 "
                "source is a zip of the source folder",
            )
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                target = Path(archive.extract(info, self.src))
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    target.chmod(mode)  # keep scripts executable, as CodeBuild does

    def _fetch_s3_folder(self, s3: Any, bucket: str, prefix: str) -> None:
        count = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :]
                if not relative or relative.endswith("/"):
                    continue
                target = (self.src / relative).resolve()
                if not target.is_relative_to(self.src.resolve()):
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                count += 1
        if not count:
            raise PhaseError(
                "CLIENT_ERROR", f"no objects under s3://{bucket}/{prefix} for primary source"
            )

    def _load_buildspec(self) -> Buildspec:
        setting = str(self.source.get("buildspec") or "")
        if "\n" in setting or setting.lstrip().startswith("version"):
            self.sink.container("YAML location is the project's inline buildspec")
            return parse_buildspec(setting)
        if setting.startswith("arn:aws:s3:::"):
            bucket, _, key = setting.removeprefix("arn:aws:s3:::").partition("/")
            try:
                text = (
                    self.cloud.client("s3", self.region)
                    .get_object(Bucket=bucket, Key=key)["Body"]
                    .read()
                    .decode()
                )
            except ClientError as exc:
                raise _yaml_error(f"cannot read buildspec {setting}: {exc}") from None
            self.sink.container(f"YAML location is {setting}")
            return parse_buildspec(text)
        path = self.src / (setting or "buildspec.yml")
        if not path.is_file():
            raise _yaml_error(f"stat {path}: no such file or directory")
        self.sink.container(f"YAML location is {path}")
        return parse_buildspec(path.read_text(encoding="utf-8"))

    def _resolve(self, kind: str, value: str) -> str:
        try:
            if kind == "PARAMETER_STORE":
                return self.cloud.client("ssm", self.region).get_parameter(
                    Name=value, WithDecryption=True
                )["Parameter"]["Value"]
            if kind == "SECRETS_MANAGER":
                return self._secret(value)
        except ClientError as exc:
            raise PhaseError(
                "CLIENT_ERROR",
                f"cannot resolve {kind} value {value!r}: "
                f"{exc.response['Error'].get('Message', exc)}",
            ) from None
        return value

    def _secret(self, reference: str) -> str:
        parts = reference.split(":")
        # "secret-id:json-key:version-stage:version-id", where secret-id may be an ARN.
        cut = 7 if parts[0] == "arn" else 1
        secret_id, rest = ":".join(parts[:cut]), parts[cut:] + ["", "", ""]
        json_key, stage, version = rest[0], rest[1], rest[2]
        kwargs: dict[str, str] = {"SecretId": secret_id}
        if stage:
            kwargs["VersionStage"] = stage
        if version:
            kwargs["VersionId"] = version
        secret = self.cloud.client("secretsmanager", self.region).get_secret_value(**kwargs)
        text = secret.get("SecretString", "")
        return str(json.loads(text)[json_key]) if json_key else text

    def _environment(self) -> dict[str, str]:
        assert self.buildspec is not None
        edge = self.cloud.edge_url
        env = {
            "PATH": os.pathsep.join(
                [
                    str(SHIMS_DIR),
                    str(Path(sys.executable).parent),
                    os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                ]
            ),
            "HOME": str(self.home),
            "DOCKER_CONFIG": str(self.home / ".docker"),
            "LANG": "C.UTF-8",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": edge,
            "MYSFITS_LOCALCLOUD_URL": edge,
            "MYSFITS_LOCALCLOUD_PYTHON": sys.executable,
        }
        # Lowest to highest precedence: buildspec, project, StartBuild override.
        env.update(self.buildspec.variables)
        for name, value in self.buildspec.parameter_store.items():
            env[name] = self._resolve("PARAMETER_STORE", value)
        for name, value in self.buildspec.secrets_manager.items():
            env[name] = self._resolve("SECRETS_MANAGER", value)
        for variable in self.record["environment"]["environmentVariables"]:
            env[variable["name"]] = self._resolve(
                variable.get("type", "PLAINTEXT"), str(variable.get("value", ""))
            )
        env.update(self.codebuild_variables())
        return env

    def codebuild_variables(self) -> dict[str, str]:
        _, _, stream = self._logs_settings()
        location = str(self.source.get("location", ""))
        return {
            "CODEBUILD_BUILD_ID": self.id,
            "CODEBUILD_BUILD_ARN": self.record["arn"],
            "CODEBUILD_BUILD_NUMBER": str(self.record["buildNumber"]),
            "CODEBUILD_BUILD_IMAGE": str(self.record["environment"].get("image", "")),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": self.record["initiator"],
            "CODEBUILD_SRC_DIR": str(self.src),
            "CODEBUILD_SOURCE_VERSION": self.source_version or location,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": self.resolved_version,
            "CODEBUILD_SOURCE_REPO_URL": f"s3://{location}" if location else "",
            "CODEBUILD_START_TIME": str(int(self.record["startTime"] * 1000)),
            "CODEBUILD_LOG_PATH": stream,
            "CODEBUILD_KMS_KEY_ID": self.record["encryptionKey"],
            "CODEBUILD_BUILD_URL": (
                f"https://{self.region}.console.aws.amazon.com/codesuite/"
                f"codebuild/projects/{self.project['name']}/build/{self.id}"
            ),
        }

    def _shell(self) -> BuildShell:
        if self.shell is None:
            assert self.buildspec is not None
            self.shell = BuildShell(
                self.src,
                self.env,
                self.sink.write,
                self.workspace / "commands",
                isolated=self.buildspec.version == "0.1",
            )
        return self.shell

    def _commands(self, key: str) -> None:
        assert self.buildspec is not None
        spec = self.buildspec.phases.get(key)
        if spec is None:
            return
        if spec.runtime_versions:
            self.sink.container(
                f"Skipping runtime-versions {spec.runtime_versions}: the local cloud builds with "
                f"this machine's runtimes (python {sys.version.split()[0]})"
            )
        shell = self._shell()
        shell.export("CODEBUILD_BUILD_SUCCEEDING", "0" if self.failed else "1")
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
        self.sink.container(f"Running command {command}")
        status = shell.run(command, self.deadline, self.stop_requested.is_set)
        if status == 0:
            return None
        self.sink.container(f"Command did not exit successfully {command} exit status {status}")
        return PhaseError(
            "COMMAND_EXECUTION_ERROR",
            f"Error while executing command: {command}. Reason: exit status {status}",
        )

    def _upload_artifacts(self) -> None:
        kind = self.artifacts_config.get("type", "NO_ARTIFACTS")
        if kind == "NO_ARTIFACTS":
            self.sink.container("Skipping artifact upload: the project has no artifacts")
            return
        if kind != "S3":
            raise PhaseError(
                "CLIENT_ERROR",
                f"artifacts type {kind} is not supported by the "
                "local cloud's CodeBuild outside a pipeline: use S3 or NO_ARTIFACTS",
            )
        assert self.buildspec is not None
        spec = self.buildspec.artifacts
        if not spec:
            raise PhaseError(
                "CLIENT_ERROR",
                "no artifacts section in the buildspec: the "
                "project's S3 artifacts need artifacts.files",
            )
        files = self._collect(spec)
        target = self._artifact_target()
        assert target is not None
        bucket, key = target
        s3 = self.cloud.client("s3", self.region)
        location = f"arn:aws:s3:::{bucket}/{key}"
        try:
            if self.artifacts_config.get("packaging", "NONE") == "ZIP":
                data = _zip(files)
                s3.put_object(Bucket=bucket, Key=key, Body=data)
                artifacts = {
                    "location": location,
                    "sha256sum": hashlib.sha256(data).hexdigest(),
                    "md5sum": hashlib.md5(data).hexdigest(),
                }
            else:
                for name, path in files.items():
                    s3.put_object(Bucket=bucket, Key=f"{key}/{name}", Body=path.read_bytes())
                artifacts = {"location": location}
        except ClientError as exc:
            error = exc.response["Error"]
            raise PhaseError(
                "CLIENT_ERROR",
                f"{error.get('Code')}: {error.get('Message', '')} "
                f"(uploading artifacts to s3://{bucket}/{key})",
            ) from None
        with self.lock:
            self.record["artifacts"] = artifacts
        self.sink.container(f"Uploaded {len(files)} artifact file(s) to s3://{bucket}/{key}")

    def _collect(self, spec: dict[str, Any]) -> dict[str, Path]:
        base_name = str(spec.get("base-directory") or ".")
        self.sink.container(f"Expanding base directory path: {base_name}")
        base = (self.src / base_name).resolve()
        if not base.is_dir() or not base.is_relative_to(self.src.resolve()):
            raise PhaseError(
                "CLIENT_ERROR", f"no matching base directory path found for {base_name}"
            )
        patterns = spec.get("files")
        patterns = [patterns] if isinstance(patterns, str) else list(patterns or [])
        excludes = spec.get("exclude-paths") or []
        excludes = [excludes] if isinstance(excludes, str) else list(excludes)
        discard = _truthy(spec.get("discard-paths"))
        self.sink.container("Assembling file list")
        found: dict[str, Path] = {}
        for pattern in (str(p).removeprefix("./") for p in patterns):
            self.sink.container(f"Expanding {pattern}")
            if any(c in pattern for c in "*?["):
                matches = sorted(p for p in base.glob(pattern) if p.is_file())
            elif (base / pattern).is_dir():
                matches = sorted(p for p in (base / pattern).rglob("*") if p.is_file())
            else:
                matches = [base / pattern] if (base / pattern).is_file() else []
            for path in matches:
                relative = path.relative_to(base).as_posix()
                if any(Path(relative).match(str(e)) for e in excludes):
                    continue
                found[path.name if discard else relative] = path
        self.sink.container(f"Found {len(found)} file(s)")
        if not found:
            raise PhaseError("CLIENT_ERROR", "no matching artifact paths found")
        return found


def _zip(files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            archive.write(path, name)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- the provider


class CodeBuildProvider:
    name = "codebuild"

    def __init__(self) -> None:
        self.cloud: LocalCloud | None = None
        self.builds: dict[str, Build] = {}
        self._numbers: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def workspace(self) -> Path:
        assert self.cloud is not None
        return self.cloud.state_dir / "codebuild"

    def attach(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        edge = cloud.edge
        edge.on("codebuild", "StartBuild", self._start_build)
        edge.on("codebuild", "RetryBuild", self._retry_build)
        edge.on("codebuild", "BatchGetBuilds", self._batch_get_builds)
        edge.on("codebuild", "ListBuildsForProject", self._list_builds_for_project)
        edge.on("codebuild", "ListBuilds", self._list_builds)
        edge.on("codebuild", "StopBuild", self._stop_build)
        edge.on("codebuild", "UpdateProject", self._update_project)
        edge.control_route("codebuild", self._control)

    # -- API --------------------------------------------------------------------------------
    def start(self, project_name: str, params: dict[str, Any], region: str, build_id: str) -> Build:
        """Run a build of ``project_name`` whose id moto has assigned."""
        assert self.cloud is not None
        projects = self.cloud.client("codebuild", region).batch_get_projects(names=[project_name])[
            "projects"
        ]
        if not projects:
            raise LookupError(project_name)
        with self._lock:
            number = self._numbers.get(project_name, 0) + 1
            self._numbers[project_name] = number
        build = Build(self, build_id, region, projects[0], params, number)
        with self._lock:
            self.builds[build_id] = build
        build.queued_record = build.start()
        log.info("build %s started", build_id)
        return build

    def _start_build(self, req: AwsRequest, forward: Forward) -> Response:
        params = req.json()
        override = params.get("sourceTypeOverride")
        if override and override not in (
            "S3",
            "NO_SOURCE",
            "CODECOMMIT",
            "CODEPIPELINE",
            "GITHUB",
            "BITBUCKET",
            "GITHUB_ENTERPRISE",
        ):
            return json_error(400, "InvalidInputException", f"Invalid source type: {override}")
        response = forward()
        if response.status_code >= 300:
            return response
        build_id = json.loads(response.get_data())["build"]["id"]
        build = self.start(params["projectName"], params, req.region or self.cloud.region, build_id)
        return json_response({"build": build.queued_record})

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

    def _update_project(self, req: AwsRequest, forward: Forward) -> Response:
        """moto has no UpdateProject: merge the change and re-create the project in moto."""
        assert self.cloud is not None
        update = req.json()
        codebuild = self.cloud.client("codebuild", req.region)
        found = codebuild.batch_get_projects(names=[update.get("name", "")])["projects"]
        if not found:
            return json_error(
                400, "ResourceNotFoundException", f"Project {update.get('name')} does not exist"
            )
        merged = {k: v for k, v in (found[0] | update).items() if k in self._PROJECT_FIELDS}
        if merged.get("queuedTimeoutInMinutes", 5) < 5:  # moto reports 0 for "not set"
            merged.pop("queuedTimeoutInMinutes")
        codebuild.delete_project(name=found[0]["name"])
        created = codebuild.create_project(name=found[0]["name"], **merged)["project"]
        return json_response({"project": created})

    def _retry_build(self, req: AwsRequest, forward: Forward) -> Response:
        previous = self.builds.get(req.json().get("id", ""))
        if previous is None:
            return json_error(
                400, "ResourceNotFoundException", f"Build {req.json().get('id')} does not exist"
            )
        # A new build with the same settings, started through StartBuild like any other.
        params = {k: v for k, v in previous.params.items() if k != "idempotencyToken"}
        started = self.cloud.client("codebuild", previous.region).start_build(**params)
        return json_response({"build": started["build"]})

    def _batch_get_builds(self, req: AwsRequest, forward: Forward) -> Response:
        ids = req.json().get("ids") or []
        if any(":" not in i for i in ids):
            return json_error(400, "InvalidInputException", "Invalid build ID provided")
        found, missing = [], []
        for build_id in ids:
            build = self.builds.get(build_id)
            if build is None:
                missing.append(build_id)
            else:
                found.append(build.snapshot())
        return json_response({"builds": found, "buildsNotFound": missing})

    def _ids(self, project: str | None, descending: bool) -> list[str]:
        with self._lock:
            builds = [b for b in self.builds.values() if project in (None, b.project["name"])]
        builds.sort(key=lambda b: b.record["startTime"], reverse=descending)
        return [b.id for b in builds]

    def _list_builds_for_project(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()  # moto checks that the project exists
        if response.status_code >= 300:
            return response
        params = req.json()
        descending = params.get("sortOrder", "DESCENDING") != "ASCENDING"
        return json_response({"ids": self._ids(params["projectName"], descending)})

    def _list_builds(self, req: AwsRequest, forward: Forward) -> Response:
        descending = req.json().get("sortOrder", "DESCENDING") != "ASCENDING"
        return json_response({"ids": self._ids(None, descending)})

    def _stop_build(self, req: AwsRequest, forward: Forward) -> Response:
        build_id = req.json().get("id", "")
        build = self.builds.get(build_id)
        if build is None:
            return json_error(400, "ResourceNotFoundException", f"Build {build_id} does not exist")
        build.stop()
        build.done.wait(timeout=10)
        return json_response({"build": build.snapshot()})

    def _control(self, request: Request) -> Any:
        return {
            "builds": [
                {
                    "id": b.id,
                    "status": b.record["buildStatus"],
                    "phase": b.record["currentPhase"],
                    "workspace": str(b.workspace),
                }
                for b in sorted(self.builds.values(), key=lambda b: b.record["startTime"])
            ]
        }

    # -- provider protocol ------------------------------------------------------------------
    def stop(self) -> None:
        for build in list(self.builds.values()):
            build.stop()
        for build in list(self.builds.values()):
            build.done.wait(timeout=5)

    def status(self) -> dict[str, Any]:
        running = [b.id for b in self.builds.values() if not b.done.is_set()]
        return {"codebuild": {"builds": len(self.builds), "running": running}}
