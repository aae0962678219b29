"""CodeBuild projects for the integration tests: an S3 source zip, a project, a finished build
and its log, all through the public API."""

from __future__ import annotations

import io
import textwrap
import zipfile
from typing import Any

from tests.helpers import wait_for

ROLE = "arn:aws:iam::123456789012:role/mysfits-codebuild"
SOURCE_BUCKET, ARTIFACT_BUCKET = "cb-sources", "cb-artifacts"


def source_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


def buckets(lab: Any) -> None:
    s3 = lab.client("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in (SOURCE_BUCKET, ARTIFACT_BUCKET):
        if bucket not in names:
            s3.create_bucket(Bucket=bucket)


def project(
    lab: Any,
    name: str,
    files: dict[str, str],
    repository: str | None = None,
    artifacts: bool = True,
    variables: dict[str, str] | None = None,
) -> str:
    """A project building ``files`` (its source zip in S3); ``repository``: an ECR repository
    whose URI the build gets as REPOSITORY_URI (and its registry as REGISTRY)."""
    buckets(lab)
    lab.client("s3").put_object(Bucket=SOURCE_BUCKET, Key=f"{name}.zip", Body=source_zip(files))
    env = dict(variables or {})
    if repository:
        created = lab.client("ecr").create_repository(repositoryName=repository)
        uri = created["repository"]["repositoryUri"]
        env.update(REGISTRY=uri.split("/")[0], REPOSITORY_URI=uri)
    lab.client("codebuild").create_project(
        name=name,
        source={"type": "S3", "location": f"{SOURCE_BUCKET}/{name}.zip"},
        artifacts={"type": "S3", "location": ARTIFACT_BUCKET, "name": name, "packaging": "NONE"}
        if artifacts
        else {"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": True,
            "environmentVariables": [
                {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()
            ],
        },
        serviceRole=ROLE,
    )
    return name


def finished(lab: Any, build_id: str, timeout: float = 60) -> dict[str, Any]:
    def complete() -> dict[str, Any] | None:
        build = lab.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        return build if build["buildComplete"] else None

    return wait_for(complete, f"build {build_id} to finish", timeout)


def run(lab: Any, name: str, **overrides: Any) -> dict[str, Any]:
    started = lab.client("codebuild").start_build(projectName=name, **overrides)["build"]
    return finished(lab, started["id"])


def build_log(lab: Any, build: dict[str, Any]) -> str:
    events = lab.client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return "\n".join(e["message"] for e in events)


def phase(build: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in build["phases"] if p["phaseType"] == name)
