"""Container images built by a one-off CodeBuild build from an S3 source zip.

A learner needs no local Docker: CodeBuild runs the project's buildspec (docker build, tag,
push) and the image lands in ECR. The image tag is the source's content hash, so building the
same source twice reuses the first image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .. import show
from ..lab import Lab, LabError
from ..waiting import wait_until
from .logs import LogTail

BUILD_IMAGE = "aws/codebuild/standard:7.0"
# CodeBuild's phases in order; a build's progress is how many it has reached.
BUILD_PHASES = [
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
    "COMPLETED",
]


@dataclass
class BuiltImage:
    uri: str
    digest: str
    tag: str
    built: bool  # False when an image of the same source already existed

    @property
    def pinned_uri(self) -> str:
        return f"{self.uri.rsplit(':', 1)[0]}@{self.digest}"


def ensure_repository(lab: Lab, name: str, pusher_role_arn: str | None = None) -> str:
    """Get or create an ECR repository; returns its URI."""
    ecr = lab.client("ecr")
    try:
        repo = ecr.create_repository(repositoryName=name, tags=lab.tag_list())["repository"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "RepositoryAlreadyExistsException":
            raise
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    if pusher_role_arn:
        ecr.set_repository_policy(repositoryName=name, policyText=_push_policy(pusher_role_arn))
    return repo["repositoryUri"]


def _push_policy(role_arn: str) -> str:
    import json

    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "BuildRolePushPull",
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn},
                    "Action": [
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage",
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:PutImage",
                        "ecr:InitiateLayerUpload",
                        "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload",
                    ],
                }
            ],
        }
    )


def source_tag(source: bytes) -> str:
    return "src-" + hashlib.sha256(source).hexdigest()[:12]


def existing_image(lab: Lab, repository: str, tag: str) -> str | None:
    try:
        images = lab.client("ecr").describe_images(
            repositoryName=repository, imageIds=[{"imageTag": tag}]
        )["imageDetails"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ImageNotFoundException":
            return None
        raise
    return images[0]["imageDigest"] if images else None


def docker_build_environment(variables: dict[str, str]) -> dict[str, Any]:
    """A CodeBuild project's ``environment`` for building container images."""
    return {
        "type": "LINUX_CONTAINER",
        "image": BUILD_IMAGE,
        "computeType": "BUILD_GENERAL1_SMALL",
        "privilegedMode": True,  # docker build needs it on AWS
        "environmentVariables": [
            {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in variables.items()
        ],
    }


def ensure_build_project(
    lab: Lab, project: str, role_arn: str, source_location: str, environment: dict[str, str]
) -> None:
    """Create or update a CodeBuild project that builds from an S3 zip, without artifacts."""
    codebuild = lab.client("codebuild")
    spec: dict[str, Any] = {
        "name": project,
        "source": {"type": "S3", "location": source_location},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": docker_build_environment(environment),
        "serviceRole": role_arn,
        "timeoutInMinutes": 20,
    }
    found = codebuild.batch_get_projects(names=[project]).get("projects", [])
    if found:
        codebuild.update_project(**spec)
    else:
        codebuild.create_project(**spec, tags=lab.tag_list("key", "value"))


def run_build(lab: Lab, project: str, timeout: float = 1800) -> dict[str, Any]:
    """Start a build and follow it: phases as progress, new log lines as they arrive."""
    codebuild = lab.client("codebuild")
    tail = LogTail(lab.client("logs"))
    build_id = codebuild.start_build(projectName=project)["build"]["id"]
    bar = show.progress(total=len(BUILD_PHASES), desc=f"Build {project}", unit="phases")

    def finished() -> dict[str, Any] | None:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        bar.update(max(0, len(build.get("phases", [])) - bar.n))
        _print_new_log_lines(tail, build)
        return build if build["buildStatus"] != "IN_PROGRESS" else None

    try:
        build = wait_until(
            finished,
            f"build {build_id} to finish",
            timeout=timeout,
            interval=lab.poll_interval,
            hint="The log lines above show what it was doing.",
            progress=False,  # the phases are the progress
        )
        _print_new_log_lines(tail, build)  # the lines written after the last poll
    finally:
        bar.close()
    if build["buildStatus"] != "SUCCEEDED":
        failed = [p for p in build.get("phases", []) if p.get("phaseStatus") == "FAILED"]
        reason = "; ".join(c.get("message", "") for p in failed for c in p.get("contexts", []))
        raise LabError(
            f"build {build_id} {build['buildStatus']}"
            + (f" in {failed[0]['phaseType']}: {reason}" if failed else "")
            + ". The log lines above show the failing command."
        )
    return build


def _print_new_log_lines(tail: LogTail, build: dict[str, Any]) -> None:
    where = build.get("logs", {})
    tail.stream(where.get("groupName"), where.get("streamName"))


def build_image(
    lab: Lab,
    *,
    repository: str,
    project: str,
    source: bytes,
    source_bucket: str,
    source_key: str,
    role_arn: str,
    container_name: str,
) -> BuiltImage:
    """Build ``source`` (a zip with a Dockerfile and buildspec) into ``repository``."""
    repo_uri = ensure_repository(lab, repository, pusher_role_arn=role_arn)
    tag = source_tag(source)
    digest = existing_image(lab, repository, tag)
    if digest:
        return BuiltImage(f"{repo_uri}:{tag}", digest, tag, built=False)
    lab.client("s3").put_object(Bucket=source_bucket, Key=source_key, Body=source)
    ensure_build_project(
        lab,
        project,
        role_arn,
        f"{source_bucket}/{source_key}",
        {
            "REGISTRY": repo_uri.split("/", 1)[0],
            "REPOSITORY_URI": repo_uri,
            "IMAGE_TAG": tag,
            "CONTAINER_NAME": container_name,
        },
    )
    run_build(lab, project)
    digest = existing_image(lab, repository, tag)
    if not digest:
        raise LabError(f"the build succeeded but {repo_uri}:{tag} is not in ECR")
    return BuiltImage(f"{repo_uri}:{tag}", digest, tag, built=True)
