"""CodeBuild phases on a fresh local cloud: failures, the build's environment, stopping."""

from __future__ import annotations

import time

from mysfits_lab.localcloud import control
from mysfits_lab.localcloud.shims import SHIMS_DIR
from tests.helpers import wait_for
from tests.integration.localcloud.codebuild_projects import (
    buckets,
    build_log,
    phase,
    project,
    run,
)


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
    build = run(lab, project(lab, "fails", {"buildspec.yml": buildspec}))
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
    pre_build = phase(build, "PRE_BUILD")
    assert pre_build["phaseStatus"] == "FAILED"
    assert pre_build["contexts"] == [
        {
            "statusCode": "COMMAND_EXECUTION_ERROR",
            "message": "Error while executing command: ls /no/such/folder. Reason: exit status 2",
        }
    ]
    log = build_log(lab, build)
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
              - echo "home=$HOME docker_config=$DOCKER_CONFIG"
              - python -c "import sys; sys.exit(3)"
          post_build:
            commands:
              - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
        """
    name = project(
        lab,
        "envcheck",
        {"buildspec.yml": buildspec},
        artifacts=False,
        variables={"OVERRIDDEN": "by-project"},
    )
    build = run(
        lab,
        name,
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
    assert phase(build, "BUILD")["contexts"][0]["message"].endswith("Reason: exit status 3")
    log = build_log(lab, build)
    edge = control.status().edge_url
    workspace = next(
        b["workspace"] for b in control.control_get("codebuild")["builds"] if b["id"] == build["id"]
    )
    assert "dir=work carried=over" in log
    assert "vars=buildspec,by-project,start-build" in log
    assert f"id={build['id']} src={workspace}/src" in log
    assert f"region=us-east-1,us-east-1 endpoint={edge}" in log
    assert f"docker={SHIMS_DIR}/docker aws={SHIMS_DIR}/aws" in log
    assert f"home={workspace}/home docker_config={workspace}/home/.docker" in log
    assert "succeeding=0" in log


def test_source_and_buildspec_problems_fail_in_download_source(lab):
    buckets(lab)
    name = project(lab, "nobuildspec", {"README.md": "no buildspec here"})
    build = run(lab, name)
    download = phase(build, "DOWNLOAD_SOURCE")
    assert (build["buildStatus"], download["phaseStatus"]) == ("FAILED", "FAILED")
    assert download["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
    assert "buildspec.yml: no such file or directory" in download["contexts"][0]["message"]

    missing = run(lab, name, sourceLocationOverride="cb-sources/absent.zip")
    context = phase(missing, "DOWNLOAD_SOURCE")["contexts"][0]
    assert context["statusCode"] == "CLIENT_ERROR" and "NoSuchKey" in context["message"]


def test_stop_build_kills_the_running_command(lab):
    buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n"
    name = project(lab, "sleeper", {"buildspec.yml": buildspec}, artifacts=False)
    codebuild = lab.client("codebuild")
    build_id = codebuild.start_build(projectName=name)["build"]["id"]
    wait_for(
        lambda: codebuild.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] == "BUILD",
        "the build to reach BUILD",
        timeout=20,
    )
    started = time.monotonic()
    stopped = codebuild.stop_build(id=build_id)["build"]
    assert time.monotonic() - started < 5
    assert stopped["buildStatus"] == "STOPPED" and stopped["buildComplete"]
    assert phase(stopped, "BUILD")["phaseStatus"] == "STOPPED"
