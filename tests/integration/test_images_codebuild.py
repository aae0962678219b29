"""CodeBuild on a fresh local cloud: buildspecs run, images land in ECR, logs in CloudWatch."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from mysfits_lab.localcloud import control
from mysfits_lab.localcloud.shims import SHIMS_DIR
from mysfits_lab.steps.image_build import BUILD_PHASES as PHASES

ROLE = "arn:aws:iam::123456789012:role/mysfits-codebuild"
SERVICE = Path(__file__).resolve().parents[2] / "assets" / "service"

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


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


def _buckets(lab) -> tuple[str, str]:
    s3 = lab.client("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in ("cb-sources", "cb-artifacts"):
        if bucket not in names:
            s3.create_bucket(Bucket=bucket)
    return "cb-sources", "cb-artifacts"


def _project(
    lab,
    name: str,
    files: dict[str, str],
    repository: str | None = None,
    artifacts: bool = True,
    variables: dict[str, str] | None = None,
) -> str:
    source_bucket, artifact_bucket = _buckets(lab)
    lab.client("s3").put_object(Bucket=source_bucket, Key=f"{name}.zip", Body=_zip(files))
    env = dict(variables or {})
    if repository:
        uri = lab.client("ecr").create_repository(repositoryName=repository)["repository"][
            "repositoryUri"
        ]
        env.update(REGISTRY=uri.split("/")[0], REPOSITORY_URI=uri)
    lab.client("codebuild").create_project(
        name=name,
        source={"type": "S3", "location": f"{source_bucket}/{name}.zip"},
        artifacts={"type": "S3", "location": artifact_bucket, "name": name, "packaging": "NONE"}
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


def _wait(lab, build_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = lab.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(0.1)
    raise AssertionError(f"build {build_id} did not finish in {timeout}s")


def _run(lab, project: str, **overrides) -> dict:
    started = lab.client("codebuild").start_build(projectName=project, **overrides)["build"]
    return _wait(lab, started["id"])


def _log(lab, build: dict) -> str:
    events = lab.client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"],
        logStreamName=build["logs"]["streamName"],
        startFromHead=True,
    )["events"]
    return "\n".join(e["message"] for e in events)


def _phase(build: dict, name: str) -> dict:
    return next(p for p in build["phases"] if p["phaseType"] == name)


def _resolve(ref: str) -> dict:
    return control.control_get(f"images/resolve?ref={quote(ref, safe='')}")


def test_a_build_pushes_the_image_to_ecr_and_uploads_its_artifact(lab):
    project = _project(lab, "tiny", {**TINY_APP, "buildspec.yml": PUSH_BUILDSPEC}, "tiny")
    started = lab.client("codebuild").start_build(projectName=project)["build"]
    assert started["buildStatus"] == "IN_PROGRESS"
    assert started["currentPhase"] == "QUEUED"
    build = _wait(lab, started["id"])

    assert build["buildStatus"] == "SUCCEEDED", _log(lab, build)
    assert build["currentPhase"] == "COMPLETED"
    assert [p["phaseType"] for p in build["phases"]] == PHASES
    for phase in build["phases"][:-1]:
        assert phase["phaseStatus"] == "SUCCEEDED"
        assert phase["endTime"] >= phase["startTime"] and phase["durationInSeconds"] >= 0
    assert "phaseStatus" not in build["phases"][-1]
    assert build["buildNumber"] == 1 and build["endTime"] >= build["startTime"]

    uri = json.loads(
        lab.client("s3")
        .get_object(Bucket="cb-artifacts", Key="tiny/imagedefinitions.json")["Body"]
        .read()
    )[0]["imageUri"]
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
    listed = control.control_get("images")["images"]
    assert any(uri in i["refs"] and "tiny:build" in i["refs"] for i in listed)

    assert build["logs"]["groupName"] == "/aws/codebuild/tiny"
    assert build["logs"]["streamName"] == build["id"].split(":", 1)[1]
    log = _log(lab, build)
    for expected in (
        "Login Succeeded",
        "Step 4/6 : COPY app/ ./",
        "Successfully built",
        f"{image['id']}: Pushed",
        "Phase complete: POST_BUILD State: SUCCEEDED",
        "Running command docker build -t tiny:build .",
    ):
        assert expected in log
    assert (
        build["id"] in lab.client("codebuild").list_builds_for_project(projectName=project)["ids"]
    )


def test_concurrent_builds_of_equal_sources_give_one_image(lab):
    project = _project(lab, "twins", {**TINY_APP, "buildspec.yml": PUSH_BUILDSPEC}, "twins")
    codebuild = lab.client("codebuild")
    ids = [codebuild.start_build(projectName=project)["build"]["id"] for _ in range(2)]
    builds = [_wait(lab, build_id) for build_id in ids]
    assert [b["buildStatus"] for b in builds] == ["SUCCEEDED", "SUCCEEDED"]
    assert sorted(b["buildNumber"] for b in builds) == [1, 2]
    assert codebuild.list_builds_for_project(projectName=project)["ids"] == ids[::-1]
    details = lab.client("ecr").describe_images(repositoryName="twins")["imageDetails"]
    assert len(details) == 1 and details[0]["imageTags"] == ["v1"]


def test_a_failing_command_fails_its_phase_and_skips_to_finalizing(lab):
    buildspec = """\
        version: 0.2
        phases:
          install:
            commands:
              - echo installing
          pre_build:
            commands:
              - echo checking
              - ls /no/such/folder
              - echo never-printed
          build:
            commands:
              - echo build-ran
        """
    build = _run(lab, _project(lab, "fails", {"buildspec.yml": buildspec}))
    assert build["buildStatus"] == "FAILED"
    assert [p["phaseType"] for p in build["phases"]] == [
        "SUBMITTED",
        "QUEUED",
        "PROVISIONING",
        "DOWNLOAD_SOURCE",
        "INSTALL",
        "PRE_BUILD",
        "FINALIZING",
        "COMPLETED",
    ]
    pre_build = _phase(build, "PRE_BUILD")
    assert pre_build["phaseStatus"] == "FAILED"
    assert pre_build["contexts"] == [
        {
            "statusCode": "COMMAND_EXECUTION_ERROR",
            "message": "Error while executing command: ls /no/such/folder. Reason: exit status 2",
        }
    ]
    log = _log(lab, build)
    assert "checking" in log and "No such file or directory" in log
    assert "never-printed" not in log and "build-ran" not in log
    assert "Phase complete: PRE_BUILD State: FAILED" in log


def test_build_failure_still_runs_post_build_in_one_shell_with_the_codebuild_environment(lab):
    buildspec = """\
        version: 0.2
        env:
          variables:
            FROM_BUILDSPEC: buildspec
            OVERRIDDEN: by-buildspec
        phases:
          install:
            commands:
              - mkdir -p work && cd work && export CARRIED=over
          build:
            commands:
              - echo "dir=$(basename $PWD) carried=$CARRIED"
              - echo "vars=$FROM_BUILDSPEC,$OVERRIDDEN,$FROM_START"
              - echo "id=$CODEBUILD_BUILD_ID src=$CODEBUILD_SRC_DIR"
              - echo "region=$AWS_DEFAULT_REGION,$AWS_REGION endpoint=$AWS_ENDPOINT_URL"
              - echo "docker=$(command -v docker) aws=$(command -v aws)"
              - python -c "import sys; sys.exit(3)"
          post_build:
            commands:
              - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
        """
    project = _project(
        lab,
        "envcheck",
        {"buildspec.yml": buildspec},
        artifacts=False,
        variables={"OVERRIDDEN": "by-project"},
    )
    build = _run(
        lab,
        project,
        environmentVariablesOverride=[
            {"name": "FROM_START", "value": "start-build", "type": "PLAINTEXT"}
        ],
    )
    assert build["buildStatus"] == "FAILED"
    assert [(p["phaseType"], p.get("phaseStatus")) for p in build["phases"][6:]] == [
        ("BUILD", "FAILED"),
        ("POST_BUILD", "SUCCEEDED"),
        ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ]
    assert _phase(build, "BUILD")["contexts"][0]["message"].endswith("Reason: exit status 3")
    log = _log(lab, build)
    edge = control.status().edge_url
    assert "dir=work carried=over" in log
    assert "vars=buildspec,by-project,start-build" in log
    assert f"id={build['id']} src=" in log
    assert f"region=us-east-1,us-east-1 endpoint={edge}" in log
    assert f"docker={SHIMS_DIR}/docker aws={SHIMS_DIR}/aws" in log
    assert "succeeding=0" in log


def test_pushing_to_a_missing_repository_fails_like_docker(lab):
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    buildspec = PUSH_BUILDSPEC.replace("$REPOSITORY_URI", f"{registry}/does-not-exist")
    project = _project(
        lab, "nowhere", {**TINY_APP, "buildspec.yml": buildspec}, variables={"REGISTRY": registry}
    )
    build = _run(lab, project)
    assert build["buildStatus"] == "FAILED"
    post_build = _phase(build, "POST_BUILD")
    assert post_build["phaseStatus"] == "FAILED"
    assert "docker push" in post_build["contexts"][0]["message"]
    assert (
        "name unknown: The repository with name 'does-not-exist' does not exist in the registry"
    ) in _log(lab, build)


def test_source_and_buildspec_problems_fail_in_download_source(lab):
    _buckets(lab)
    project = _project(lab, "nobuildspec", {"README.md": "no buildspec here"})
    build = _run(lab, project)
    download = _phase(build, "DOWNLOAD_SOURCE")
    assert (build["buildStatus"], download["phaseStatus"]) == ("FAILED", "FAILED")
    assert download["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
    assert "buildspec.yml: no such file or directory" in download["contexts"][0]["message"]

    missing = _run(lab, project, sourceLocationOverride="cb-sources/absent.zip")
    context = _phase(missing, "DOWNLOAD_SOURCE")["contexts"][0]
    assert context["statusCode"] == "CLIENT_ERROR" and "NoSuchKey" in context["message"]


def test_stop_build_kills_the_running_command(lab):
    buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n"
    project = _project(lab, "sleeper", {"buildspec.yml": buildspec}, artifacts=False)
    codebuild = lab.client("codebuild")
    build_id = codebuild.start_build(projectName=project)["build"]["id"]
    deadline = time.monotonic() + 20
    while codebuild.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] != "BUILD":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    stopped = codebuild.stop_build(id=build_id)["build"]
    assert time.monotonic() - started < 5
    assert stopped["buildStatus"] == "STOPPED" and stopped["buildComplete"]
    assert _phase(stopped, "BUILD")["phaseStatus"] == "STOPPED"


def _shim(name: str, *args: str, stdin: str = "", home: Path | None = None):
    env = {
        "PATH": os.environ["PATH"],
        "MYSFITS_LOCALCLOUD_URL": control.status().edge_url,
        "MYSFITS_LOCALCLOUD_PYTHON": sys.executable,
        "AWS_ENDPOINT_URL": control.status().edge_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DOCKER_CONFIG": str(home or "/nonexistent"),
    }
    return subprocess.run(
        [str(SHIMS_DIR / name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


def test_shims_answer_like_the_real_commands(lab, tmp_path):
    version = _shim("docker", "--version")
    assert version.returncode == 0 and version.stdout.startswith("Docker version")
    run = _shim("docker", "run", "--rm", "alpine")
    assert run.returncode == 1
    assert "not supported by the local cloud's docker shim" in run.stderr
    s3 = _shim("aws", "s3", "ls")
    assert s3.returncode == 1 and "not supported by the local cloud's aws shim" in s3.stderr
    assert _shim("aws", "--version").stdout.startswith("aws-cli/2.")

    password = _shim("aws", "ecr", "get-login-password", "--region", "us-east-1").stdout.strip()
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    wrong = _shim(
        "docker", "login", "-u", "AWS", "--password-stdin", registry, stdin="nope\n", home=tmp_path
    )
    assert wrong.returncode == 1 and "400 Bad Request" in wrong.stderr
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text('FROM scratch\nCMD ["true"]\n')
    assert (
        _shim(
            "docker", "build", "-q", "-t", f"{registry}/tiny:shim", str(tmp_path / "ctx")
        ).returncode
        == 0
    )
    unauthenticated = _shim("docker", "push", f"{registry}/tiny:shim", home=tmp_path)
    assert unauthenticated.returncode == 1
    assert "no basic auth credentials" in unauthenticated.stderr
    login = _shim(
        "docker",
        "login",
        "-u",
        "AWS",
        "--password-stdin",
        registry,
        stdin=password + "\n",
        home=tmp_path,
    )
    assert login.returncode == 0 and "Login Succeeded" in login.stdout
    pushed = _shim("docker", "push", f"{registry}/tiny:shim", home=tmp_path)
    assert pushed.returncode == 0 and "shim: digest: sha256:" in pushed.stdout
    listed = _shim("docker", "images")
    assert f"{registry}/tiny" in listed.stdout and "shim" in listed.stdout


@pytest.mark.skipif(not (SERVICE / "Dockerfile").is_file(), reason="no service Dockerfile yet")
def test_the_mysfits_service_builds_with_its_own_buildspec(lab):
    files = {
        p.relative_to(SERVICE).as_posix(): p.read_text()
        for p in SERVICE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    project = _project(lab, "service", files, "mysfits/service")
    build = _run(lab, project)
    assert build["buildStatus"] == "SUCCEEDED", _log(lab, build)
    definitions = json.loads(
        lab.client("s3")
        .get_object(Bucket="cb-artifacts", Key="service/imagedefinitions.json")["Body"]
        .read()
    )
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
