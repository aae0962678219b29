"""A build's settings and record as the API reports them (no cloud needed)."""

from __future__ import annotations

from mysfits_lab.localcloud.services.codebuild.models import BuildConfig, BuildRecord

BUILD_ID = "web:0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
PROJECT = {
    "name": "web",
    "source": {"type": "S3", "location": "src/web.zip", "buildspec": "ci/buildspec.yml"},
    "artifacts": {"type": "S3", "location": "out", "path": "builds", "namespaceType": "BUILD_ID"},
    "environment": {
        "type": "LINUX_CONTAINER",
        "image": "aws/codebuild/standard:7.0",
        "computeType": "BUILD_GENERAL1_SMALL",
        "environmentVariables": [{"name": "A", "value": "project", "type": "PLAINTEXT"}],
    },
    "serviceRole": "arn:aws:iam::123456789012:role/cb",
    "timeoutInMinutes": 20,
    "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "streamName": "ci"}},
}


def _config(**params) -> BuildConfig:
    return BuildConfig(BUILD_ID, "eu-west-1", 3, PROJECT, {"projectName": "web", **params})


def test_start_build_overrides_win_over_the_project():
    config = _config(
        sourceLocationOverride="src/other.zip",
        imageOverride="aws/codebuild/standard:8.0",
        timeoutInMinutesOverride=7,
        environmentVariablesOverride=[{"name": "A", "value": "start", "type": "PLAINTEXT"}],
    )
    assert config.source == {
        "type": "S3",
        "location": "src/other.zip",
        "buildspec": "ci/buildspec.yml",
    }
    assert config.environment["image"] == "aws/codebuild/standard:8.0"
    assert [v["value"] for v in config.environment["environmentVariables"]] == [
        "project",
        "start",
    ]
    assert config.timeout_minutes == 7
    assert PROJECT["source"]["location"] == "src/web.zip"  # the project is left alone
    assert _config().timeout_minutes == 20


def test_artifact_target_and_logs():
    config = _config()
    uuid = BUILD_ID.split(":", 1)[1]
    assert config.artifact_target() == ("out", f"builds/{uuid}/web")
    assert config.artifact_target("from-buildspec") == ("out", f"builds/{uuid}/web")
    renamed = _config(artifactsOverride={**PROJECT["artifacts"], "overrideArtifactName": True})
    assert renamed.artifact_target("from-buildspec") == ("out", f"builds/{uuid}/from-buildspec")
    assert _config(artifactsOverride={"type": "NO_ARTIFACTS"}).artifact_target() is None
    assert (config.logs.group, config.logs.stream) == ("/aws/codebuild/web", f"ci/{uuid}")


def test_the_record_reports_phases_and_completion():
    record = BuildRecord.submitted(_config(), now=100.0)
    queued = record.to_api()
    assert queued["buildStatus"] == "IN_PROGRESS" and queued["currentPhase"] == "QUEUED"
    assert queued["arn"] == f"arn:aws:codebuild:eu-west-1:123456789012:build/{BUILD_ID}"
    assert queued["buildComplete"] is False and "endTime" not in queued
    assert queued["phases"][0] == {
        "phaseType": "SUBMITTED",
        "phaseStatus": "SUCCEEDED",
        "startTime": 100.0,
        "endTime": 100.0,
        "durationInSeconds": 0,
    }
    assert queued["phases"][1] == {"phaseType": "QUEUED", "startTime": 100.0}
    assert queued["logs"]["cloudWatchLogs"]["status"] == "ENABLED"

    record.current.finish("SUCCEEDED", 101.0)
    record.begin("BUILD", 101.0)
    record.current.finish("FAILED", 103.6, ("COMMAND_EXECUTION_ERROR", "exit status 2"))
    record.resolved_source_version = "etag"
    record.finish("FAILED", 104.0)
    done = record.to_api()
    assert done["phases"][-1] == {
        "phaseType": "BUILD",
        "phaseStatus": "FAILED",
        "startTime": 101.0,
        "endTime": 103.6,
        "durationInSeconds": 3,
        "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "exit status 2"}],
    }
    assert (done["buildStatus"], done["buildComplete"], done["endTime"]) == ("FAILED", True, 104.0)
    assert done["resolvedSourceVersion"] == "etag"
    variables = record.codebuild_variables("/work/src")
    assert variables["CODEBUILD_BUILD_NUMBER"] == "3"
    assert variables["CODEBUILD_SOURCE_REPO_URL"] == "s3://src/web.zip"
    assert variables["CODEBUILD_LOG_PATH"] == f"ci/{BUILD_ID.split(':', 1)[1]}"


def test_disabled_logs_are_reported_disabled():
    config = _config(logsConfigOverride={"cloudWatchLogs": {"status": "DISABLED"}})
    assert config.logs.enabled is False
    assert BuildRecord.submitted(config, 1.0).to_api()["logs"]["cloudWatchLogs"] == {
        "status": "DISABLED"
    }
