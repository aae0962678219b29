"""A build's processes do not outlive the cloud, even when the cloud is killed with SIGKILL and
has no chance to stop them: the launcher's supervisor ends the build's whole process group."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from mysfits_lab.localcloud import control
from tests.helpers import edge_client, free_port, pids_alive, wait_for
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


def test_killing_the_cloud_ends_the_running_build(doomed_cloud, tmp_path):
    edge = doomed_cloud.edge_url
    assert edge is not None and doomed_cloud.pid is not None
    shell_pid, sleep_pid = tmp_path / "shell.pid", tmp_path / "sleep.pid"
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
    wait_for(lambda: sleep_pid.exists() and sleep_pid.read_text().strip(), "the build's sleep")
    pids = [int(shell_pid.read_text()), int(sleep_pid.read_text())]
    assert pids_alive(pids) == pids

    os.kill(doomed_cloud.pid, signal.SIGKILL)
    wait_for(lambda: not pids_alive(pids), "the build's shell and sleep to die", timeout=10)
