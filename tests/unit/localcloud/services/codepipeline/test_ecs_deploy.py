from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.codepipeline.ecs_deploy import (
    image_definitions,
    new_revision,
    rollout,
    timed_out,
)
from mysfits_lab.localcloud.services.codepipeline.jobs import ActionFailed

URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mythicalmysfits/service"
CURRENT = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/mysfits:3",
    "family": "mysfits",
    "revision": 3,
    "status": "ACTIVE",
    "registeredAt": 1.0,
    "requiresAttributes": [{"name": "ecs.capability.task-eni"}],
    "compatibilities": ["EC2", "FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "requiresCompatibilities": ["FARGATE"],
    "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
    "containerDefinitions": [
        {
            "name": "MythicalMysfits-Service",
            "image": f"{URI}:v1",
            "portMappings": [{"containerPort": 8080}],
        },
        {"name": "sidecar", "image": "sidecar:1"},
    ],
}


def test_image_definitions_name_the_containers_images():
    text = b'[{"name": "MythicalMysfits-Service", "imageUri": "repo:v2"}]'
    assert image_definitions(text, "imagedefinitions.json") == {
        "MythicalMysfits-Service": "repo:v2"
    }


@pytest.mark.parametrize(
    "text", [b"not json", b"{}", b"[]", b'[{"name": "web"}]', b'[{"name": 1, "imageUri": "x"}]']
)
def test_malformed_image_definitions_say_what_is_expected(text):
    with pytest.raises(ActionFailed, match=r"imagedefinitions\.json .*\[\{\"name\""):
        image_definitions(text, "imagedefinitions.json")


def test_a_new_revision_copies_the_task_definition_with_the_new_image():
    registration = new_revision(CURRENT, {"MythicalMysfits-Service": f"{URI}:v2"})
    assert set(registration) == {
        "family",
        "networkMode",
        "cpu",
        "memory",
        "requiresCompatibilities",
        "executionRoleArn",
        "containerDefinitions",
    }
    web, sidecar = registration["containerDefinitions"]
    assert web["image"] == f"{URI}:v2" and web["portMappings"] == [{"containerPort": 8080}]
    assert sidecar["image"] == "sidecar:1"
    assert CURRENT["containerDefinitions"][0]["image"] == f"{URI}:v1"  # a copy


def test_an_image_for_a_container_the_task_definition_lacks_fails_the_deploy():
    with pytest.raises(ActionFailed) as failed:
        new_revision(CURRENT, {"web": f"{URI}:v2"})
    assert failed.value.message == (
        "The AWS ECS container web does not exist in task definition mysfits:3 "
        "(its containers: MythicalMysfits-Service, sidecar)"
    )


def _service(*deployments: dict) -> dict:
    return {"deployments": list(deployments)}


def _deployment(id_: str, status: str, state: str, running: int, desired: int = 2) -> dict:
    return {
        "id": id_,
        "status": status,
        "rolloutState": state,
        "runningCount": running,
        "pendingCount": 0,
        "desiredCount": desired,
    }


def test_the_deploy_waits_for_the_new_tasks_and_for_the_old_ones_to_go():
    new, old = (
        _deployment("d2", "PRIMARY", "IN_PROGRESS", 1),
        _deployment("d1", "ACTIVE", "COMPLETED", 2),
    )
    assert rollout(_service(new, old), "d2") == (
        "waiting",
        "Deployment d2 in progress: 1 of 2 new task(s) running, 2 old task(s) still running",
    )
    steady = _deployment("d2", "PRIMARY", "COMPLETED", 2)
    assert rollout(_service(steady, old), "d2")[0] == "waiting"  # old tasks still draining
    assert rollout(_service(steady), "d2") == ("done", "Deployment d2 completed: 2 task(s) running")


def test_a_deployment_that_fails_or_is_replaced_fails_the_deploy():
    failed = _deployment("d2", "PRIMARY", "FAILED", 0) | {"rolloutStateReason": "circuit breaker"}
    assert rollout(_service(failed), "d2") == ("failed", "circuit breaker")
    other = _deployment("d3", "PRIMARY", "IN_PROGRESS", 0)
    assert rollout(_service(other), "d2") == (
        "failed",
        "deployment d2 was replaced by deployment d3 before it completed",
    )


def test_a_timed_out_deployment_says_why_its_tasks_stopped():
    text = timed_out(
        15,
        "Deployment d2 in progress: 0 of 1 new task(s) running, 1 old task(s) still running",
        ["(service web) is unable to consistently start tasks successfully."],
        ["CannotPullContainerError: pull image manifest has been retried 1 time(s)"],
    )
    assert text.startswith("The deployment did not complete within 15 minute(s). Deployment d2")
    assert "Stopped new task(s): CannotPullContainerError" in text
    assert text.endswith(
        "Latest service events: (service web) is unable to consistently start tasks successfully."
    )
