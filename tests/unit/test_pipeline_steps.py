"""Module 2b's pure parts: source changes as zips, the pipeline's declaration compared as AWS
returns it, what a failed build tells a learner to fix, and 02a's task definition reruns."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mysfits_lab import service_bundle
from mysfits_lab.lab import Lab
from mysfits_lab.steps import pipeline, release_problems, service

SHIPPED = service_bundle.zip_files(service_bundle.source_zip())


# -- the source as a commit changes it -------------------------------------------------------
def test_overrides_replace_add_and_remove_files_and_keep_the_rest():
    changed = service_bundle.zip_files(
        service_bundle.source_zip(
            overrides={
                "app/settings.json": '{"backend": "dynamodb"}\n',
                "NOTES.md": b"x",
                "README.md": None,
            }
        )
    )
    assert changed["app/settings.json"] == b'{"backend": "dynamodb"}\n'
    assert changed["NOTES.md"] == b"x"
    assert "README.md" not in changed and "README.md" in SHIPPED
    assert {k: v for k, v in changed.items() if k not in ("app/settings.json", "NOTES.md")} == {
        k: v for k, v in SHIPPED.items() if k not in ("app/settings.json", "README.md")
    }


def test_equal_content_gives_the_same_bytes_so_a_replaced_zip_equals_a_built_one():
    overrides = {"app/settings.json": "{}\n"}
    assert service_bundle.source_zip(overrides=overrides) == service_bundle.replace_files(
        service_bundle.source_zip(), overrides
    )
    assert service_bundle.replace_files(service_bundle.source_zip(), {}) == (
        service_bundle.source_zip()
    )


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "", ".", "app/../../x"])
def test_paths_outside_the_source_are_refused(path):
    with pytest.raises(ValueError, match="not a file of the source"):
        service_bundle.source_zip(overrides={path: "x"})


def test_removing_a_file_the_source_lacks_is_an_error():
    with pytest.raises(KeyError, match="no such file"):
        service_bundle.replace_files(service_bundle.source_zip(), {"nothing.txt": None})
    with pytest.raises(ValueError, match="not a zip"):
        service_bundle.zip_files(b"plain text")


# -- the pipeline as AWS reports it ---------------------------------------------------------
@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.Session(
            region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        lab = Lab("aws", "us-east-1", "ana", session, "123456789012")
        lab.outputs.record(
            "02a-service",
            {
                "network.codebuild_role_arn": "arn:aws:iam::123456789012:role/build",
                "network.codepipeline_role_arn": "arn:aws:iam::123456789012:role/pipeline",
                "network.execution_role_arn": "arn:aws:iam::123456789012:role/execution",
                "network.task_role_arn": "arn:aws:iam::123456789012:role/task",
            },
        )
        yield lab


def test_the_declaration_names_only_this_learners_resources(lab):
    declared = pipeline.declaration(lab)
    text = json.dumps(declared)
    assert declared["name"] == "ana-MythicalMysfitsServiceCICDPipeline"
    assert [s["name"] for s in declared["stages"]] == ["Source", "Build", "Deploy"]
    source, build, deploy = (s["actions"][0] for s in declared["stages"])
    assert source["configuration"]["PollForSourceChanges"] == "true"
    assert source["configuration"]["S3Bucket"] == lab.bucket_name("source")
    assert build["configuration"]["ProjectName"] == "ana-MythicalMysfitsServiceCodeBuildProject"
    assert deploy["configuration"]["ClusterName"] == "ana-MythicalMysfits-Cluster"
    assert deploy["configuration"]["FileName"] == "imagedefinitions.json"
    assert "mysfit-" not in text


def test_a_declaration_as_aws_returns_it_is_not_a_change_but_a_new_setting_is(lab):
    wanted = pipeline.declaration(lab)
    returned = json.loads(json.dumps(wanted)) | {"version": 3, "executionMode": "SUPERSEDED"}
    for stage in returned["stages"]:
        for action in stage["actions"]:
            action["region"] = "us-east-1"
    assert pipeline._shape(returned) == pipeline._shape(wanted)
    returned["stages"][2]["actions"][0]["configuration"]["ServiceName"] = "someone-else"
    assert pipeline._shape(returned) != pipeline._shape(wanted)


def test_the_artifacts_policy_grants_the_two_roles_read_and_write(lab):
    read, write = pipeline.artifacts_policy(lab, "bucket")["Statement"]
    roles = {"arn:aws:iam::123456789012:role/build", "arn:aws:iam::123456789012:role/pipeline"}
    assert set(read["Principal"]["AWS"]) == set(write["Principal"]["AWS"]) == roles
    assert set(read["Action"]) == {"s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"}
    assert write["Action"] == "s3:PutObject"
    assert read["Resource"] == write["Resource"] == ["arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket"]


# -- what a failed build says -----------------------------------------------------------------
def _build(phase: str, code: str, message: str) -> dict[str, Any]:
    return {
        "phases": [
            {"phaseType": "DOWNLOAD_SOURCE", "phaseStatus": "SUCCEEDED"},
            {
                "phaseType": phase,
                "phaseStatus": "FAILED",
                "contexts": [{"statusCode": code, "message": message}],
            },
        ]
    }


@pytest.mark.parametrize(
    ("build", "lines", "says", "file"),
    [
        (
            _build("DOWNLOAD_SOURCE", "YAML_FILE_ERROR", "stat /src/buildspec.yml: no such file"),
            [],
            "no buildspec.yml at its root",
            "buildspec.yml",
        ),
        (
            _build("DOWNLOAD_SOURCE", "YAML_FILE_ERROR", "line 3: mapping values are not allowed"),
            [],
            "not a valid buildspec",
            "buildspec.yml",
        ),
        (
            _build(
                "BUILD", "COMMAND_EXECUTION_ERROR", "Error while executing command: docker build ."
            ),
            ["Dockerfile:3: COPY failed"],
            "The Dockerfile does not build",
            "Dockerfile",
        ),
        (
            _build("PRE_BUILD", "COMMAND_EXECUTION_ERROR", "Error while executing command: exit 3"),
            [],
            "failed in its PRE_BUILD phase",
            "buildspec.yml",
        ),
    ],
)
def test_a_failed_build_says_what_to_fix(build, lines, says, file):
    advice = release_problems.build_advice(build, lines)
    assert says in advice
    assert f"pipeline.shipped_file({file!r})" in advice


class _Logs:
    """get_log_events over fixed lines, two to a page, as CloudWatch Logs pages them."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def get_log_events(self, nextToken: str | None = None, **_: Any) -> dict[str, Any]:
        start = int(nextToken or 0)
        page = self.lines[start : start + 2]
        return {
            "events": [{"message": m + "\n"} for m in page],
            "nextForwardToken": str(start + len(page)),
        }


class _LogsLab:
    def __init__(self, lines: list[str]):
        self._logs = _Logs(lines)

    def client(self, name: str) -> Any:
        return self._logs


def test_a_failed_builds_quoted_lines_end_where_it_failed_not_after_post_build():
    lines = [f"line {n}" for n in range(30)]
    lines[20] = "[Container] Phase complete: BUILD State: FAILED"
    quoted = release_problems.failure_lines(_LogsLab(lines), "group", "stream")
    assert quoted == lines[20 - release_problems.LOG_LINES + 1 : 21]
    assert release_problems.failure_lines(_LogsLab(lines[:5]), "group", "stream") == lines[:5]
    assert release_problems.failure_lines(_LogsLab(lines), None, "stream") == []


# -- 02a's task definition: the settings file chooses the backend -------------------------------
def test_the_task_definition_sets_no_backend_and_a_rerun_registers_nothing(lab):
    ecs = lab.client("ecs")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ana/mythicalmysfits/service:src-1"
    old = service.register_task_definition(lab, image, {"MYSFITS_BACKEND": "catalogue"})
    first = service.register_task_definition(lab, image)
    assert first != old, "a task definition that overrides settings.json is replaced"
    container = ecs.describe_task_definition(taskDefinition=first)["taskDefinition"][
        "containerDefinitions"
    ][0]
    assert not container.get("environment")
    assert service.register_task_definition(lab, image) == first
    assert service.register_task_definition(lab, image, {}) == first
