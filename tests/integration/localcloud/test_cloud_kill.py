"""Nothing the cloud started outlives it, even when it is killed with SIGKILL and has no chance
to stop anything: the launcher's supervisors end each child's whole process group."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mysfits_lab.localcloud import control
from tests.helpers import descendants, edge_client, free_port, pids_alive, wait_for
from tests.integration.localcloud.codebuild_projects import ROLE, source_zip


@pytest.fixture
def doomed_cloud(tmp_path, monkeypatch) -> Iterator[control.CloudStatus]:
    """A cloud process of its own (this test kills it), in a fresh lab home."""
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYSFITS_LAB_EDGE_PORT", str(free_port()))
    monkeypatch.setenv("MYSFITS_LAB_RUNS", str(tmp_path / "home" / "runs"))
    status = control.up()
    try:
        yield status
    finally:
        control.down()
        assert not control.status().running


APP = Path(__file__).parent / "ecs_app"


def start_build(edge: str, shell_pid: Path, sleep_pid: Path) -> None:
    buildspec = f"""\
        version: 0.2
        phases:
          build:
            commands:
              - echo $$ > {shell_pid}; sleep 300 & echo $! > {sleep_pid}; wait
        """
    s3 = edge_client(edge, "s3")
    s3.create_bucket(Bucket="src")
    s3.put_object(Bucket="src", Key="src.zip", Body=source_zip({"buildspec.yml": buildspec}))
    codebuild = edge_client(edge, "codebuild")
    codebuild.create_project(
        name="orphan",
        source={"type": "S3", "location": "src/src.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=ROLE,
    )
    codebuild.start_build(projectName="orphan")


def run_task(edge: str) -> str:
    built = requests.post(
        f"{edge}/_localcloud/images/build",
        json={"context": str(APP), "tags": ["kill-tests/app:v1"]},
        timeout=30,
    )
    assert built.status_code == 200, built.text
    ecs = edge_client(edge, "ecs")
    ecs.create_cluster(clusterName="kill")
    ecs.register_task_definition(
        family="app",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "app",
                "image": "kill-tests/app:v1",
                "portMappings": [{"containerPort": 8080}],
            }
        ],
    )
    [task] = ecs.run_task(cluster="kill", taskDefinition="app", launchType="FARGATE")["tasks"]
    ecs.get_waiter("tasks_running").wait(
        cluster="kill", tasks=[task["taskArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    return task["taskArn"]


def test_killing_the_cloud_ends_its_builds_and_tasks(doomed_cloud, tmp_path):
    edge, cloud_pid = doomed_cloud.edge_url, doomed_cloud.pid
    assert edge is not None and cloud_pid is not None
    shell_pid, sleep_pid = tmp_path / "shell.pid", tmp_path / "sleep.pid"
    start_build(edge, shell_pid, sleep_pid)
    run_task(edge)
    wait_for(lambda: sleep_pid.exists() and sleep_pid.read_text().strip(), "the build's sleep")
    build = [int(shell_pid.read_text()), int(sleep_pid.read_text())]
    children = descendants(cloud_pid)  # supervisors, the build shell and sleep, the task
    assert set(build) <= set(children) and len(children) >= 5, children

    os.kill(cloud_pid, signal.SIGKILL)
    wait_for(lambda: not pids_alive(children), "every child of the cloud to die", timeout=10)
