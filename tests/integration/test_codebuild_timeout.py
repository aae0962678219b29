"""A build that outlives its timeout is killed and reported TIMED_OUT.

CodeBuild's shortest timeout is 5 minutes, so this test runs a cloud in-process and shortens the
running build's deadline; what it checks is what a user sees: the API's statuses and no process
left behind.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile

import boto3
import pytest

from mysfits_lab.localcloud.providers.codebuild import CodeBuildProvider
from mysfits_lab.localcloud.providers.images import ImagesProvider
from mysfits_lab.localcloud.server import LocalCloud
from tests.unit.test_codebuild_shell import assert_dead


@pytest.fixture
def inprocess_cloud(tmp_path):
    provider = CodeBuildProvider()
    cloud = LocalCloud(0, tmp_path, providers=[ImagesProvider(), provider])
    thread = threading.Thread(target=cloud.serve_forever, daemon=True)
    thread.start()
    try:
        yield cloud, provider
    finally:
        cloud.shutdown()
        thread.join(timeout=10)


def test_a_build_past_its_timeout_is_killed_and_timed_out(inprocess_cloud, tmp_path):
    cloud, provider = inprocess_cloud

    def client(name: str):
        return boto3.client(
            name,
            endpoint_url=cloud.edge_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    pid_file = tmp_path / "sleeper.pid"
    buildspec = (
        f"version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - sleep 60 & echo $! > {pid_file}; wait\n"
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("buildspec.yml", buildspec)
    client("s3").create_bucket(Bucket="src")
    client("s3").put_object(Bucket="src", Key="s.zip", Body=archive.getvalue())
    codebuild = client("codebuild")
    codebuild.create_project(
        name="slow",
        source={"type": "S3", "location": "src/s.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        timeoutInMinutes=5,
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/cb",
    )
    build_id = codebuild.start_build(projectName="slow")["build"]["id"]
    provider.builds[build_id].deadline = time.monotonic() + 2.0

    deadline = time.monotonic() + 15
    while not (build := codebuild.batch_get_builds(ids=[build_id])["builds"][0])["buildComplete"]:
        assert time.monotonic() < deadline, build
        time.sleep(0.1)
    assert build["buildStatus"] == "TIMED_OUT"
    assert build["timeoutInMinutes"] == 5
    phases = {p["phaseType"]: p for p in build["phases"]}
    assert phases["BUILD"]["phaseStatus"] == "TIMED_OUT"
    assert phases["BUILD"]["contexts"][0]["statusCode"] == "BUILD_TIMED_OUT"
    assert "POST_BUILD" not in phases and phases["FINALIZING"]["phaseStatus"] == "SUCCEEDED"
    assert_dead(int(pid_file.read_text()))
