"""CodeBuild builds images on a fresh local cloud: they land in ECR, their logs in CloudWatch."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from mysfits_lab.localcloud import control
from mysfits_lab.steps.image_build import BUILD_PHASES as PHASES
from tests.integration.localcloud.codebuild_projects import (
    ARTIFACT_BUCKET,
    build_log,
    finished,
    phase,
    project,
    run,
)

SERVICE = Path(__file__).resolve().parents[3] / "assets" / "service"

TINY_APP = {
    "Dockerfile": """\
        FROM python:3.12-slim
        ENV GREETING=hello
        WORKDIR /app
        COPY app/ ./
        EXPOSE 8000
        CMD ["python", "app.py"]
        """,
    "app/app.py": "print('hello from the tiny app')\n",
}

PUSH_BUILDSPEC = """\
    version: 0.2
    env:
      variables:
        IMAGE_TAG: v1
    phases:
      pre_build:
        commands:
          - PASSWORD=$(aws ecr get-login-password --region $AWS_REGION)
          - echo "$PASSWORD" | docker login -u AWS --password-stdin $REGISTRY
      build:
        commands:
          - docker build -t tiny:build .
          - docker tag tiny:build $REPOSITORY_URI:$IMAGE_TAG
      post_build:
        commands:
          - URI=$REPOSITORY_URI:$IMAGE_TAG
          - docker push $URI
          - printf '[{"name":"web","imageUri":"%s"}]' "$URI" > imagedefinitions.json
    artifacts:
      files:
        - imagedefinitions.json
    """


def _resolve(ref: str) -> dict:
    return control.control_get(f"images/resolve?ref={quote(ref, safe='')}")


def _artifact(lab, key: str) -> list[dict]:
    body = lab.client("s3").get_object(Bucket=ARTIFACT_BUCKET, Key=key)["Body"].read()
    return json.loads(body)


def test_a_build_pushes_the_image_to_ecr_and_uploads_its_artifact(lab):
    name = project(lab, "tiny", {**TINY_APP, "buildspec.yml": PUSH_BUILDSPEC}, "tiny")
    started = lab.client("codebuild").start_build(projectName=name)["build"]
    assert started["buildStatus"] == "IN_PROGRESS"
    assert started["currentPhase"] == "QUEUED"
    build = finished(lab, started["id"])

    assert build["buildStatus"] == "SUCCEEDED", build_log(lab, build)
    assert build["currentPhase"] == "COMPLETED"
    assert [p["phaseType"] for p in build["phases"]] == PHASES
    for step in build["phases"][:-1]:
        assert step["phaseStatus"] == "SUCCEEDED"
        assert step["endTime"] >= step["startTime"] and step["durationInSeconds"] >= 0
    assert "phaseStatus" not in build["phases"][-1]
    assert build["buildNumber"] == 1 and build["endTime"] >= build["startTime"]

    uri = _artifact(lab, "tiny/imagedefinitions.json")[0]["imageUri"]
    assert uri.endswith(".dkr.ecr.us-east-1.amazonaws.com/tiny:v1")

    image = _resolve(uri)
    ecr = lab.client("ecr")
    details = ecr.describe_images(repositoryName="tiny")["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(image["digest"], ["v1"])]
    manifest = json.loads(
        ecr.batch_get_image(repositoryName="tiny", imageIds=[{"imageTag": "v1"}])["images"][0][
            "imageManifest"
        ]
    )
    assert manifest["config"]["digest"] == image["digest"]
    assert image["workdir"] == "/app" and image["command"] == ["python", "app.py"]
    assert image["env"] == {"GREETING": "hello"} and image["exposed_ports"] == [8000]
    assert (Path(image["root"]) / "app" / "app.py").read_text().startswith("print(")
    # The build's local tags belong to the build's own docker daemon, not to the cloud's.
    listed = control.control_get(f"images?daemon={quote(build['id'], safe='')}")["images"]
    assert any(uri in i["refs"] and "tiny:build" in i["refs"] for i in listed)
    assert not any("tiny:build" in i["refs"] for i in control.control_get("images")["images"])

    assert build["logs"]["groupName"] == "/aws/codebuild/tiny"
    assert build["logs"]["streamName"] == build["id"].split(":", 1)[1]
    log = build_log(lab, build)
    for expected in (
        "Login Succeeded",
        "Step 4/6 : COPY app/ ./",
        "Successfully built",
        f"{image['id']}: Pushed",
        "Phase complete: POST_BUILD State: SUCCEEDED",
        "Running command docker build -t tiny:build .",
    ):
        assert expected in log
    listed_ids = lab.client("codebuild").list_builds_for_project(projectName=name)["ids"]
    assert build["id"] in listed_ids


def test_concurrent_builds_of_equal_sources_give_one_image(lab):
    name = project(lab, "twins", {**TINY_APP, "buildspec.yml": PUSH_BUILDSPEC}, "twins")
    codebuild = lab.client("codebuild")
    ids = [codebuild.start_build(projectName=name)["build"]["id"] for _ in range(2)]
    builds = [finished(lab, build_id) for build_id in ids]
    assert [b["buildStatus"] for b in builds] == ["SUCCEEDED", "SUCCEEDED"]
    assert sorted(b["buildNumber"] for b in builds) == [1, 2]
    assert codebuild.list_builds_for_project(projectName=name)["ids"] == ids[::-1]
    details = lab.client("ecr").describe_images(repositoryName="twins")["imageDetails"]
    assert len(details) == 1 and details[0]["imageTags"] == ["v1"]


def test_pushing_to_a_missing_repository_fails_like_docker(lab):
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    buildspec = PUSH_BUILDSPEC.replace("$REPOSITORY_URI", f"{registry}/does-not-exist")
    name = project(
        lab, "nowhere", {**TINY_APP, "buildspec.yml": buildspec}, variables={"REGISTRY": registry}
    )
    build = run(lab, name)
    assert build["buildStatus"] == "FAILED"
    post_build = phase(build, "POST_BUILD")
    assert post_build["phaseStatus"] == "FAILED"
    assert "docker push" in post_build["contexts"][0]["message"]
    assert (
        "name unknown: The repository with name 'does-not-exist' does not exist in the registry"
    ) in build_log(lab, build)


@pytest.mark.skipif(not (SERVICE / "Dockerfile").is_file(), reason="no service Dockerfile yet")
def test_the_mysfits_service_builds_with_its_own_buildspec(lab):
    files = {
        p.relative_to(SERVICE).as_posix(): p.read_text()
        for p in SERVICE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    build = run(lab, project(lab, "service", files, "mysfits/service"))
    assert build["buildStatus"] == "SUCCEEDED", build_log(lab, build)
    definitions = _artifact(lab, "service/imagedefinitions.json")
    assert definitions[0]["name"] == "MythicalMysfits-Service"
    image = _resolve(definitions[0]["imageUri"])
    assert image["command"] and 8080 in image["exposed_ports"]
    workdir = Path(image["root"]) / image["workdir"].lstrip("/")
    assert (workdir / "mysfits_service.py").is_file()
    digests = [
        d["imageDigest"]
        for d in lab.client("ecr").describe_images(repositoryName="mysfits/service")["imageDetails"]
    ]
    assert digests == [image["digest"]]
