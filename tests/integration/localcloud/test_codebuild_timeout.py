"""A build that outlives its timeout is killed and reported TIMED_OUT.

CodeBuild's shortest timeout is 5 minutes, so the cloud runs in-process with a clock whose
user-set timeouts are 200 times shorter (5 minutes → 1.5 s); what the test checks is what a user
sees: the API's statuses, and no process left behind.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Iterator

import pytest

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from tests.helpers import assert_dead, edge_client, wait_for

# 5 minutes last 6 s: long enough for a busy machine to reach the BUILD phase first.
TIMEOUT_SCALE = 6 / 300


@pytest.fixture
def edge_url(tmp_path) -> Iterator[str]:
    cloud = LocalCloud(
        0, tmp_path / "cloud", providers=["codebuild"], clock=Clock(timeout_scale=TIMEOUT_SCALE)
    )
    thread = threading.Thread(target=cloud.serve_forever, daemon=True)
    thread.start()
    try:
        yield cloud.edge_url
    finally:
        cloud.shutdown()
        thread.join(timeout=10)


def test_a_build_past_its_timeout_is_killed_and_timed_out(edge_url, tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    buildspec = (
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - sleep 60 & echo $! > {pid_file}; wait\n"
        "  post_build:\n    commands:\n      - echo never\n"
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("buildspec.yml", buildspec)
    s3 = edge_client(edge_url, "s3")
    s3.create_bucket(Bucket="src")
    s3.put_object(Bucket="src", Key="s.zip", Body=archive.getvalue())
    codebuild = edge_client(edge_url, "codebuild")
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
    started = time.monotonic()
    build_id = codebuild.start_build(projectName="slow")["build"]["id"]
    wait_for(pid_file.exists, "the build's sleep to start")

    def completed() -> dict | None:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        return build if build["buildComplete"] else None

    build = wait_for(completed, "the build to time out", timeout=30)
    assert 6 <= time.monotonic() - started < 30
    assert build["buildStatus"] == "TIMED_OUT"
    assert build["timeoutInMinutes"] == 5
    phases = {p["phaseType"]: p for p in build["phases"]}
    assert phases["BUILD"]["phaseStatus"] == "TIMED_OUT"
    assert phases["BUILD"]["contexts"][0]["statusCode"] == "BUILD_TIMED_OUT"
    assert "POST_BUILD" not in phases and phases["FINALIZING"]["phaseStatus"] == "SUCCEEDED"
    assert_dead(int(pid_file.read_text()))
