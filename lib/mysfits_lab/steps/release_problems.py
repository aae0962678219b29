"""When a release of module 02b's pipeline goes wrong: what failed, in words a learner can act
on, with the log lines that show it — and putting the version that served before back.

``pipeline.wait_for_release`` uses these; they take what they need (the build, the service's
names) as arguments, so they do not depend on how the pipeline was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..lab import Lab, LabError
from . import service
from .aws_errors import error_code

LOG_LINES = 12  # log lines a failure message quotes
MAX_LOG_EVENTS = 5000  # lines read to find where a build failed
CRASHED_TASKS = 2  # new tasks stopped during a deployment: they crash on start
SETTINGS = "app/settings.json"
TASK_STREAM_PREFIX = "awslogs-mythicalmysfits-service"  # service.container_definition's


# -- log lines ----------------------------------------------------------------------------
def _events(lab: Lab, group: str, stream: str) -> list[str]:
    """The stream's lines, oldest first (at most MAX_LOG_EVENTS)."""
    logs, lines, token = lab.client("logs"), [], None
    while len(lines) < MAX_LOG_EVENTS:
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = logs.get_log_events(**kwargs)
        lines += [e["message"].rstrip() for e in page.get("events", [])]
        if not page.get("events") or page.get("nextForwardToken") in (None, token):
            break
        token = page["nextForwardToken"]
    return lines


def failure_lines(lab: Lab, group: str | None, stream: str | None) -> list[str]:
    """The lines up to the first failure a build log reports (CodeBuild runs its post_build
    phase after a failed build, so the last lines rarely show what failed); else the last."""
    if not group or not stream:
        return []
    try:
        lines = _events(lab, group, stream)
    except ClientError:
        return []
    for index, line in enumerate(lines):
        if "State: FAILED" in line or "Command did not exit successfully" in line:
            return lines[max(0, index + 1 - LOG_LINES) : index + 1]
    return lines[-LOG_LINES:]


def last_lines(lab: Lab, group: str | None, stream: str | None) -> list[str]:
    if not group or not stream:
        return []
    try:
        return _events(lab, group, stream)[-LOG_LINES:]
    except ClientError:
        return []


def quoted(lines: list[str], where: str) -> str:
    if not lines:
        return f"\n({where} has no lines.)\n"
    return f"\nLog lines of {where}:\n" + "\n".join(f"  | {line}" for line in lines) + "\n"


def push_hint(path: str) -> str:
    return (
        f"Fix {path} and push again: pipeline.push_source(lab, {{{path!r}: <fixed text>}}); "
        f"to put back the file as the workshop ships it: "
        f"pipeline.push_source(lab, {{{path!r}: pipeline.shipped_file({path!r})}})."
    )


# -- a failed build -------------------------------------------------------------------------
def failed_phase(build: dict[str, Any]) -> tuple[str, str, str]:
    """(phase, status code, message) of the build's first phase that did not succeed."""
    failed = next(
        (p for p in build.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED")),
        {},
    )
    context = (failed.get("contexts") or [{}])[0]
    return failed.get("phaseType", ""), context.get("statusCode", ""), context.get("message", "")


def build_advice(build: dict[str, Any], lines: list[str]) -> str:
    """What to fix, from the failed phase, its message and the log lines before it."""
    phase, code, message = failed_phase(build)
    if code == "YAML_FILE_ERROR" and "no such file" in message:
        return (
            "The source has no buildspec.yml at its root, so CodeBuild does not know what to "
            "run. " + push_hint("buildspec.yml")
        )
    if code == "YAML_FILE_ERROR":
        return f"buildspec.yml is not a valid buildspec ({message}). " + push_hint("buildspec.yml")
    if "docker build" in message or any(line.startswith("Dockerfile") for line in lines):
        return (
            "The Dockerfile does not build: the log lines above name the instruction that "
            "failed. " + push_hint("Dockerfile")
        )
    return (
        f"A command of buildspec.yml failed in its {phase or 'build'} phase: the log lines above "
        "show which and why. " + push_hint("buildspec.yml")
    )


def build_failure(lab: Lab, build: dict[str, Any]) -> str:
    logs = build.get("logs") or {}
    lines = failure_lines(lab, logs.get("groupName"), logs.get("streamName"))
    where = f"build {build.get('id', '?')} (log group {logs.get('groupName')})"
    return quoted(lines, where) + build_advice(build, lines)


# -- a deployment whose tasks crash ------------------------------------------------------------
@dataclass
class Crash:
    """New tasks of a deployment that stopped: why, and what the last one logged."""

    stopped: int
    reason: str
    exit_codes: list[str]
    task_id: str
    lines: list[str]

    def describe(self, log_group: str) -> str:
        codes = f", exit code {', '.join(self.exit_codes)}" if self.exit_codes else ""
        return (
            f"the new version's tasks stop right after they start ({self.stopped} stopped: "
            f"{self.reason}{codes}).\n"
            + quoted(self.lines, f"task {self.task_id} (log group {log_group})")
            + "The service's code or app/settings.json in this source does not start: the log "
            "lines above say why. " + push_hint(SETTINGS)
        )


def crash(lab: Lab, deployment: str) -> Crash | None:
    """The crash of ``deployment``'s tasks once CRASHED_TASKS of them have stopped, else None."""
    ecs, names = lab.client("ecs"), service.Names.of(lab)
    arns = ecs.list_tasks(cluster=names.cluster, startedBy=deployment, desiredStatus="STOPPED")[
        "taskArns"
    ]
    if len(arns) < CRASHED_TASKS:
        return None
    tasks = ecs.describe_tasks(cluster=names.cluster, tasks=arns[-100:])["tasks"]
    tasks.sort(key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""))
    reason = next((t["stoppedReason"] for t in tasks if t.get("stoppedReason")), "stopped")
    codes = sorted(
        {str(c["exitCode"]) for t in tasks for c in t.get("containers", []) if "exitCode" in c}
    )
    task_id = tasks[-1]["taskArn"].rsplit("/", 1)[-1]
    stream = f"{TASK_STREAM_PREFIX}/{service.CONTAINER_NAME}/{task_id}"
    return Crash(len(arns), reason, codes, task_id, last_lines(lab, names.log_group, stream))


# -- the version that serves ------------------------------------------------------------------
def running_digest(lab: Lab, task_definition: str) -> str | None:
    """The image digest that the service's running tasks of ``task_definition`` run."""
    ecs, names = lab.client("ecs"), service.Names.of(lab)
    arns = ecs.list_tasks(cluster=names.cluster, serviceName=names.service)["taskArns"]
    if not arns:
        return None
    for task in ecs.describe_tasks(cluster=names.cluster, tasks=arns)["tasks"]:
        if task["taskDefinitionArn"] != task_definition or task.get("lastStatus") != "RUNNING":
            continue
        for container in task.get("containers", []):
            if container.get("name") == service.CONTAINER_NAME and container.get("imageDigest"):
                return container["imageDigest"]
    return None


def tag_release(lab: Lab, digest: str, tag: str) -> str | None:
    """Give the released image a tag of its own (ECR's retag: its manifest put again under
    ``tag``), so that it stays in the registry, findable, when ``latest`` moves on."""
    ecr, repository = lab.client("ecr"), service.Names.of(lab).repository
    try:
        image = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])
        found = image["images"][0]
        extra = (
            {"imageManifestMediaType": found["imageManifestMediaType"]}
            if found.get("imageManifestMediaType")
            else {}
        )
        ecr.put_image(
            repositoryName=repository,
            imageManifest=found["imageManifest"],
            imageTag=tag,
            imageDigest=digest,
            **extra,
        )
    except ClientError as exc:  # already tagged so; else the release is just not tagged
        return tag if error_code(exc) == "ImageAlreadyExistsException" else None
    except (IndexError, KeyError):  # the registry does not hold that digest
        return None
    return tag


def _in_registry(lab: Lab, digest: str) -> bool:
    try:
        lab.client("ecr").describe_images(
            repositoryName=service.Names.of(lab).repository, imageIds=[{"imageDigest": digest}]
        )
    except ClientError:
        return False
    return True


def roll_back(lab: Lab, failed_deployment: str) -> str:
    """Point the service at the task definition that served before ``failed_deployment``, its
    image pinned to the digest the old tasks run (a tag such as ``latest`` names the failed
    image by now), and wait until it is healthy again. Returns the task definition's
    ``family:revision``."""
    ecs, names = lab.client("ecs"), service.Names.of(lab)
    current = ecs.describe_services(cluster=names.cluster, services=[names.service])["services"][0]
    older = [d for d in current["deployments"] if d["id"] != failed_deployment]
    serving = next((d for d in older if d.get("runningCount")), None)
    if serving is None:
        raise LabError(
            f"the service {names.service} has no earlier version running to roll back to"
        )
    previous = serving["taskDefinition"]
    container = ecs.describe_task_definition(taskDefinition=previous)["taskDefinition"][
        "containerDefinitions"
    ][0]
    target, image = previous, container["image"]
    digest = running_digest(lab, previous)
    if "@" not in image:
        if not digest or not _in_registry(lab, digest):
            raise LabError(
                f"the image the old tasks run ({digest or image}) is no longer in ECR, so the "
                "service cannot be rolled back; the old tasks keep serving until a fixed "
                "source is released"
            )
        environment = {v["name"]: v["value"] for v in container.get("environment", [])}
        pinned = f"{image.rsplit(':', 1)[0]}@{digest}"
        target = service.register_task_definition(lab, pinned, environment)
    ecs.update_service(cluster=names.cluster, service=names.service, taskDefinition=target)
    service.wait_until_healthy(lab, lab.outputs.get("service.target_group_arn"))
    return target.rsplit("/", 1)[-1]
