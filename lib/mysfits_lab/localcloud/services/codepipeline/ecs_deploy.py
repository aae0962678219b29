"""The ECS (standard) deploy action: the image definitions file of the input artifact becomes a
new revision of the service's task definition, the service is updated, and the action succeeds
once the rolling deployment has completed — the new tasks running and healthy, the old ones
drained and stopped — or fails after ``DeploymentTimeout`` minutes (60 by default) saying what
the service is stuck on.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from botocore.exceptions import ClientError

from ...edge.catalog import operation_model
from .definition import DEFAULT_IMAGE_FILE
from .jobs import ActionFailed, Job, aws_error, read_artifact_file

DEFAULT_TIMEOUT_MINUTES = 60
EVENTS_REPORTED = 3
# What RegisterTaskDefinition takes: DescribeTaskDefinition also reports ARN, revision, status...
_REGISTERED = frozenset(operation_model("ecs", "RegisterTaskDefinition").input_shape.members)


def image_definitions(text: bytes, file_name: str) -> dict[str, str]:
    """Container name → image URI, from ``imagedefinitions.json``."""
    example = '[{"name": "<container name>", "imageUri": "<image URI>"}]'
    try:
        found = json.loads(text)
    except ValueError:
        raise ActionFailed(f"{file_name} is not valid JSON: expected {example}") from None
    if (
        not isinstance(found, list)
        or not found
        or not all(
            isinstance(d, dict)
            and isinstance(d.get("name"), str)
            and isinstance(d.get("imageUri"), str)
            for d in found
        )
    ):
        raise ActionFailed(f"{file_name} must be a JSON list like {example}")
    return {d["name"]: d["imageUri"] for d in found}


def new_revision(current: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    """RegisterTaskDefinition's parameters: ``current`` with the containers' new images."""
    registration = {
        k: copy.deepcopy(v) for k, v in current.items() if k in _REGISTERED and v is not None
    }
    containers = registration.get("containerDefinitions") or []
    names = {c.get("name") for c in containers}
    for name in images:
        if name not in names:
            raise ActionFailed(
                f"The AWS ECS container {name} does not exist in task definition "
                f"{current.get('family')}:{current.get('revision')} (its containers: "
                f"{', '.join(sorted(str(n) for n in names))})"
            )
    for container in containers:
        container["image"] = images.get(container["name"], container.get("image"))
    return registration


def rollout(service: dict[str, Any], deployment_id: str) -> tuple[str, str]:
    """("done" | "failed" | "waiting", what to say) of the deployment ``deployment_id``."""
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None or primary["id"] != deployment_id:
        other = primary["id"] if primary else "none"
        return "failed", (
            f"deployment {deployment_id} was replaced by deployment {other} before it completed"
        )
    if primary.get("rolloutState") == "FAILED":
        return "failed", primary.get("rolloutStateReason") or f"deployment {deployment_id} failed"
    old = sum(d.get("runningCount", 0) + d.get("pendingCount", 0) for d in deployments[1:])
    running, desired = primary.get("runningCount", 0), primary.get("desiredCount", 0)
    if len(deployments) == 1 and primary.get("rolloutState") == "COMPLETED":
        return "done", f"Deployment {deployment_id} completed: {running} task(s) running"
    return "waiting", (
        f"Deployment {deployment_id} in progress: {running} of {desired} new task(s) running, "
        f"{old} old task(s) still running"
    )


def timed_out(minutes: float, progress: str, events: list[str], stopped_reasons: list[str]) -> str:
    text = f"The deployment did not complete within {minutes:g} minute(s). {progress}."
    if stopped_reasons:
        text += f" Stopped new task(s): {'; '.join(stopped_reasons)}."
    if events:
        text += f" Latest service events: {' | '.join(events)}"
    return text


def ecs_deploy(job: Job) -> None:
    config = job.run.spec.configuration
    cluster, name = config["ClusterName"], config["ServiceName"]
    file_name = config.get("FileName") or DEFAULT_IMAGE_FILE
    try:
        minutes = float(config.get("DeploymentTimeout") or DEFAULT_TIMEOUT_MINUTES)
    except ValueError:
        raise ActionFailed(
            f"DeploymentTimeout {config['DeploymentTimeout']!r} is not a number of minutes"
        ) from None
    images = image_definitions(
        read_artifact_file(job.client("s3"), job.run.inputs[0], file_name), file_name
    )
    ecs = job.client("ecs")
    service = _service(ecs, cluster, name)
    try:
        current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
        registered = ecs.register_task_definition(
            **new_revision(current["taskDefinition"], images)
        )["taskDefinition"]["taskDefinitionArn"]
        updated = ecs.update_service(
            cluster=cluster, service=name, taskDefinition=registered, forceNewDeployment=True
        )["service"]
    except ClientError as exc:
        raise ActionFailed(f"could not update ECS service {name}: {aws_error(exc)}") from None
    deployment = next(d["id"] for d in updated["deployments"] if d["status"] == "PRIMARY")
    job.report(
        external_id=deployment,
        external_url=(
            f"https://console.aws.amazon.com/ecs/home?region={job.run.region}#/clusters/"
            f"{cluster}/services/{name}/deployments"
        ),
        summary=f"Deploying {registered.rsplit('/', 1)[-1]} to service {name}",
    )
    deadline = job.clock.timeout_deadline(minutes * 60)
    while True:
        job.wait()
        if job.cancelled():
            return  # abandoned: the service's deployment goes on, as on AWS
        service = _service(ecs, cluster, name)
        state, message = rollout(service, deployment)
        if state == "done":
            job.report(summary=message)
            return
        if state == "failed":
            raise ActionFailed(message)
        if job.clock.monotonic() >= deadline:
            events = [e["message"] for e in service.get("events", [])[:EVENTS_REPORTED]]
            raise ActionFailed(
                timed_out(minutes, message, events, _stopped(ecs, cluster, deployment))
            )
        job.report(summary=message)


def _service(ecs: Any, cluster: str, name: str) -> dict[str, Any]:
    try:
        found = ecs.describe_services(cluster=cluster, services=[name])
    except ClientError as exc:
        raise ActionFailed(f"cannot describe ECS service {name}: {aws_error(exc)}") from None
    for service in found.get("services", []):
        if service.get("status") == "ACTIVE":
            return service
    raise ActionFailed(
        f"The ECS service {name} does not exist or is not active in cluster {cluster}"
    )


def _stopped(ecs: Any, cluster: str, deployment: str) -> list[str]:
    """Why the deployment's tasks stopped (the last three), for a timed-out deployment."""
    try:
        arns = ecs.list_tasks(cluster=cluster, startedBy=deployment, desiredStatus="STOPPED")
        if not arns["taskArns"]:
            return []
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns["taskArns"][-EVENTS_REPORTED:])
    except ClientError:
        return []
    return [t.get("stoppedReason", "") for t in tasks.get("tasks", []) if t.get("stoppedReason")]
