"""A build as the CodeBuild API reports it: its settings and its record (pure, no I/O)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ...constants import ACCOUNT_ID
from .buildspec import truthy

DEFAULT_TIMEOUT_MINUTES = 60
DEFAULT_QUEUED_TIMEOUT_MINUTES = 480
INITIATOR = "mysfits-lab"
SOURCE_TYPES = (
    "S3",
    "NO_SOURCE",
    "CODECOMMIT",
    "CODEPIPELINE",
    "GITHUB",
    "BITBUCKET",
    "GITHUB_ENTERPRISE",
)


@dataclass(frozen=True)
class LogSettings:
    """Where a build's CloudWatch Logs go (``enabled=False``: nowhere)."""

    enabled: bool
    group: str
    stream: str

    @classmethod
    def of(cls, logs_config: dict[str, Any], project: str, build_uuid: str) -> LogSettings:
        cloudwatch = logs_config.get("cloudWatchLogs") or {}
        prefix = cloudwatch.get("streamName")
        return cls(
            enabled=cloudwatch.get("status", "ENABLED") == "ENABLED",
            group=cloudwatch.get("groupName") or f"/aws/codebuild/{project}",
            stream=f"{prefix}/{build_uuid}" if prefix else build_uuid,
        )

    def to_api(self, region: str) -> dict[str, Any]:
        s3_logs = {"status": "DISABLED", "encryptionDisabled": False}
        if not self.enabled:
            return {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": s3_logs}
        group, stream = self.group, self.stream
        return {
            "groupName": group,
            "streamName": stream,
            "deepLink": (
                f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                f"#logEvent:group={group};stream={stream}"
            ),
            "cloudWatchLogsArn": (
                f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}:log-stream:{stream}"
            ),
            "cloudWatchLogs": {"status": "ENABLED", "groupName": group, "streamName": stream},
            "s3Logs": s3_logs,
        }


@dataclass(frozen=True)
class BuildConfig:
    """What a build runs with: the project's settings under StartBuild's overrides."""

    id: str
    region: str
    number: int
    project: dict[str, Any]
    params: dict[str, Any]  # StartBuild's parameters, as given (RetryBuild repeats them)

    @property
    def uuid(self) -> str:
        return self.id.split(":", 1)[1]

    @property
    def arn(self) -> str:
        return f"arn:aws:codebuild:{self.region}:{ACCOUNT_ID}:build/{self.id}"

    @property
    def project_name(self) -> str:
        return self.project["name"]

    @property
    def source(self) -> dict[str, Any]:
        source = copy.deepcopy(self.project.get("source") or {})
        for key, override in (
            ("type", "sourceTypeOverride"),
            ("location", "sourceLocationOverride"),
            ("buildspec", "buildspecOverride"),
        ):
            if self.params.get(override):
                source[key] = self.params[override]
        return source

    @property
    def source_version(self) -> str:
        return self.params.get("sourceVersion") or self.project.get("sourceVersion") or ""

    @property
    def artifacts(self) -> dict[str, Any]:
        return self.params.get("artifactsOverride") or self.project.get("artifacts") or {}

    @property
    def environment(self) -> dict[str, Any]:
        environment = copy.deepcopy(self.project.get("environment") or {})
        environment["environmentVariables"] = [
            *environment.get("environmentVariables", []),
            *self.params.get("environmentVariablesOverride", []),
        ]
        for key, override in (
            ("image", "imageOverride"),
            ("computeType", "computeTypeOverride"),
            ("type", "environmentTypeOverride"),
        ):
            if self.params.get(override):
                environment[key] = self.params[override]
        return environment

    @property
    def timeout_minutes(self) -> int:
        return int(
            self.params.get("timeoutInMinutesOverride")
            or self.project.get("timeoutInMinutes")
            or DEFAULT_TIMEOUT_MINUTES
        )

    @property
    def logs(self) -> LogSettings:
        config = self.params.get("logsConfigOverride") or self.project.get("logsConfig") or {}
        return LogSettings.of(config, self.project_name, self.uuid)

    def artifact_target(self, buildspec_name: str | None = None) -> tuple[str, str] | None:
        """(bucket, key) of S3 artifacts; the buildspec's artifacts name wins when the project
        sets ``overrideArtifactName``."""
        config = self.artifacts
        if config.get("type") != "S3" or not config.get("location"):
            return None
        namespace = self.uuid if config.get("namespaceType") == "BUILD_ID" else ""
        name = config.get("name") or self.project_name
        if truthy(config.get("overrideArtifactName")) and buildspec_name:
            name = buildspec_name
        parts = [p.strip("/") for p in (config.get("path", ""), namespace, name) if p]
        return config["location"], "/".join(p for p in parts if p)


@dataclass
class Phase:
    phase_type: str
    start_time: float
    end_time: float | None = None
    status: str | None = None
    contexts: list[dict[str, str]] | None = None

    def finish(self, status: str, now: float, context: tuple[str, str] | None = None) -> None:
        self.status, self.end_time = status, now
        if context is not None:
            self.contexts = [{"statusCode": context[0], "message": context[1]}]

    def to_api(self) -> dict[str, Any]:
        phase: dict[str, Any] = {"phaseType": self.phase_type, "startTime": self.start_time}
        if self.status is not None:
            phase["phaseStatus"] = self.status
        if self.end_time is not None:
            phase["endTime"] = self.end_time
            phase["durationInSeconds"] = int(round(self.end_time - self.start_time))
        if self.contexts is not None:
            phase["contexts"] = copy.deepcopy(self.contexts)
        return phase


@dataclass
class BuildRecord:
    """A build's progress: SUBMITTED → QUEUED → ... → COMPLETED."""

    config: BuildConfig
    start_time: float
    phases: list[Phase] = field(default_factory=list)
    status: str = "IN_PROGRESS"
    end_time: float | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)
    resolved_source_version: str = ""

    @classmethod
    def submitted(cls, config: BuildConfig, now: float) -> BuildRecord:
        target = config.artifact_target()
        return cls(
            config=config,
            start_time=now,
            phases=[Phase("SUBMITTED", now, now, "SUCCEEDED"), Phase("QUEUED", now)],
            artifacts={"location": f"arn:aws:s3:::{target[0]}/{target[1]}" if target else ""},
        )

    @property
    def current(self) -> Phase:
        return self.phases[-1]

    @property
    def complete(self) -> bool:
        return self.end_time is not None

    def begin(self, phase: str, now: float) -> None:
        self.phases.append(Phase(phase, now))

    def finish(self, status: str, now: float) -> None:
        self.status, self.end_time = status, now

    def codebuild_variables(self, src_dir: str) -> dict[str, str]:
        """The ``CODEBUILD_*`` variables of the build's commands."""
        config = self.config
        location = str(config.source.get("location", ""))
        return {
            "CODEBUILD_BUILD_ID": config.id,
            "CODEBUILD_BUILD_ARN": config.arn,
            "CODEBUILD_BUILD_NUMBER": str(config.number),
            "CODEBUILD_BUILD_IMAGE": str(config.environment.get("image", "")),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": INITIATOR,
            "CODEBUILD_SRC_DIR": src_dir,
            "CODEBUILD_SOURCE_VERSION": config.source_version or location,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": self.resolved_source_version,
            "CODEBUILD_SOURCE_REPO_URL": f"s3://{location}" if location else "",
            "CODEBUILD_START_TIME": str(int(self.start_time * 1000)),
            "CODEBUILD_LOG_PATH": config.logs.stream,
            "CODEBUILD_KMS_KEY_ID": config.project.get("encryptionKey", ""),
            "CODEBUILD_BUILD_URL": (
                f"https://{config.region}.console.aws.amazon.com/codesuite/"
                f"codebuild/projects/{config.project_name}/build/{config.id}"
            ),
        }

    def to_api(self) -> dict[str, Any]:
        """The build as BatchGetBuilds reports it."""
        config, project = self.config, self.config.project
        build: dict[str, Any] = {
            "id": config.id,
            "arn": config.arn,
            "buildNumber": config.number,
            "startTime": self.start_time,
            "currentPhase": self.current.phase_type,
            "buildStatus": self.status,
            "projectName": config.project_name,
            "phases": [phase.to_api() for phase in self.phases],
            "source": config.source,
            "secondarySources": [],
            "secondarySourceVersions": [],
            "artifacts": copy.deepcopy(self.artifacts),
            "secondaryArtifacts": [],
            "cache": copy.deepcopy(project.get("cache") or {"type": "NO_CACHE"}),
            "environment": config.environment,
            "serviceRole": project.get("serviceRole", ""),
            "logs": config.logs.to_api(config.region),
            "timeoutInMinutes": config.timeout_minutes,
            "queuedTimeoutInMinutes": int(
                project.get("queuedTimeoutInMinutes") or DEFAULT_QUEUED_TIMEOUT_MINUTES
            ),
            "buildComplete": self.complete,
            "initiator": INITIATOR,
            "encryptionKey": project.get("encryptionKey", ""),
        }
        if config.source_version:
            build["sourceVersion"] = config.source_version
        if self.end_time is not None:
            build["endTime"] = self.end_time
            if self.resolved_source_version:
                build["resolvedSourceVersion"] = self.resolved_source_version
        return build
