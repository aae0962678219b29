"""Module 2b's steps on a fresh local cloud: the pipeline really builds and deploys the service.

What is checked is what a learner sees: the API's answers through the load balancer's URL, the
error a broken change gives, and what is left after clean-up.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from mysfits_lab import Lab, LabError
from mysfits_lab.steps import pipeline, service, website

MYSFIT = "Evangeline"
LOAD_RATE = 20  # requests per second while a release rolls out
LOAD_LIMIT = 60 * LOAD_RATE  # at most a minute of load, whatever happens


@pytest.fixture
def built(lab):
    """01, 02a (two tasks) and 02b, built once per module's cloud. 02a's steps are not rerun
    once the pipeline deploys: they would roll the service back to 02a's own image."""
    if not service.is_built(lab):
        website.build(lab)
        service.build(lab, nat_gateways=0, desired_count=2)
    pipeline.build(lab)
    return lab


def _mysfit(url: str) -> dict:
    listing = requests.get(f"{url}/mysfits", timeout=5)
    listing.raise_for_status()
    return next(m for m in listing.json()["mysfits"] if m["name"] == MYSFIT)


def _age(lab: Lab) -> int:
    return _mysfit(lab.outputs.get("service.url"))["age"]


class Load:
    """GET /mysfits at about LOAD_RATE per second on a thread, until stopped (or LOAD_LIMIT)."""

    def __init__(self, url: str):
        self.url, self.sent, self.failures, self.ages = url, 0, [], set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and self.sent < LOAD_LIMIT:
            started = time.monotonic()
            self.sent += 1
            try:
                answer = requests.get(f"{self.url}/mysfits", timeout=5)
                mysfits = answer.json()["mysfits"] if answer.status_code == 200 else []
                if answer.status_code != 200 or len(mysfits) != 6:
                    self.failures.append(f"{self.sent}: HTTP {answer.status_code}")
                self.ages |= {m["age"] for m in mysfits if m["name"] == MYSFIT}
            except (requests.RequestException, ValueError) as exc:
                self.failures.append(f"{self.sent}: {exc}")
            self._stop.wait(max(0.0, 1 / LOAD_RATE - (time.monotonic() - started)))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_a_change_goes_live_through_the_pipeline_without_a_failed_request(built):
    lab = built
    assert _age(lab) == 43
    change = pipeline.mysfit_change(lab, MYSFIT, age=44)
    assert '-      "age": 43,\n+      "age": 44,' in pipeline.diff(lab, change)

    with Load(lab.outputs.get("service.url")) as load:
        time.sleep(1)  # some requests before the upload, too
        execution = pipeline.push_source(lab, change)
        release = pipeline.wait_for_release(lab, execution)
        time.sleep(1)
    assert load.failures == []
    assert load.sent >= 2 * LOAD_RATE
    assert load.ages <= {43, 44} and 44 in load.ages

    # the execution is the one the uploaded version started, and it deployed that version
    versions = lab.client("s3").list_object_versions(
        Bucket=lab.outputs.get("pipeline.source_bucket"), Prefix=pipeline.SOURCE_KEY
    )["Versions"]
    latest = next(v["VersionId"] for v in versions if v["IsLatest"])
    assert release.execution_id == execution and release.source_version == latest
    assert release.release_tag == f"release-{execution[:8]}"
    assert release.task_definition.endswith(
        lab.client("ecs")
        .describe_services(
            cluster=service.Names.of(lab).cluster, services=[service.Names.of(lab).service]
        )["services"][0]["taskDefinition"]
        .rsplit("/", 1)[-1]
    )
    assert {_age(lab) for _ in range(6)} == {44}
    result = pipeline.check(lab, MYSFIT, age=44)
    assert result.ok, result.summary()
    assert result.summary().splitlines() == [
        "Latest pipeline execution: Source Succeeded, Build Succeeded, Deploy Succeeded.",
        f"Through the load balancer: {MYSFIT} is 44.",
        f"Through the site (config.js → the load balancer): {MYSFIT} is 44.",
    ]
    assert not pipeline.check(lab, MYSFIT, age=45).ok
    assert [row["status"] for row in pipeline.state(lab)] == ["Succeeded"] * 3


def test_building_again_creates_nothing_new(built):
    lab = built
    names = pipeline.Names.of(lab)
    before = pipeline._executions(lab)

    pipeline.build(lab)
    pipeline.create_buckets(lab)
    assert pipeline.upload_first_source(lab)["uploaded now"] is False
    pipeline.allow_build_to_push(lab)
    pipeline.create_build_project(lab)
    assert pipeline.create_pipeline(lab) is None  # no new pipeline, so no new execution

    assert pipeline._executions(lab) == before
    pipelines = lab.client("codepipeline").list_pipelines()["pipelines"]
    assert [p["name"] for p in pipelines] == [names.pipeline]
    projects = lab.client("codebuild").list_projects()["projects"]
    assert projects.count(names.project) == 1
    buckets = [b["Name"] for b in lab.client("s3").list_buckets()["Buckets"]]
    assert buckets.count(names.source_bucket) == buckets.count(names.artifacts_bucket) == 1
    policy = json.loads(
        lab.client("ecr").get_repository_policy(repositoryName=service.Names.of(lab).repository)[
            "policyText"
        ]
    )
    assert [s.get("Sid") for s in policy["Statement"]].count("MysfitsPipelineBuildPushPull") == 1
    assert lab.client("s3").get_bucket_versioning(Bucket=names.source_bucket)["Status"] == (
        "Enabled"
    )
    assert lab.outputs.get("pipeline.name") == names.pipeline
    assert lab.outputs.get("pipeline.source_bucket") == names.source_bucket


def _restore(lab: Lab, path: str) -> None:
    pipeline.wait_for_release(lab, pipeline.push_source(lab, {path: pipeline.shipped_file(path)}))


def test_a_dockerfile_that_does_not_build_fails_the_build_and_the_old_version_serves(built):
    lab = built
    served = _age(lab)
    broken = pipeline.shipped_file("Dockerfile").replace("COPY app/", "COPY application/")
    execution = pipeline.push_source(lab, {"Dockerfile": broken})
    with pytest.raises(LabError) as failed:
        pipeline.wait_for_release(lab, execution)
    message = str(failed.value)
    assert f"The Build stage of pipeline execution {execution} failed" in message
    assert "stat application/: file does not exist" in message  # docker's own words, quoted
    assert "The Dockerfile does not build" in message
    assert "pipeline.shipped_file('Dockerfile')" in message
    assert "The previous version keeps serving" in message
    assert {_age(lab) for _ in range(6)} == {served}
    assert [row["status"] for row in pipeline.state(lab)] == ["Succeeded", "Failed", "Succeeded"]
    _restore(lab, "Dockerfile")


def test_a_source_without_a_buildspec_says_to_put_it_back(built):
    lab = built
    served = _age(lab)
    execution = pipeline.push_source(lab, {"buildspec.yml": None})
    assert "buildspec.yml" not in pipeline.source_files(lab)
    with pytest.raises(LabError, match="The source has no buildspec.yml at its root") as failed:
        pipeline.wait_for_release(lab, execution)
    assert "Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR" in str(failed.value)
    assert {_age(lab) for _ in range(6)} == {served}
    _restore(lab, "buildspec.yml")
    assert "buildspec.yml" in pipeline.source_files(lab)


def test_a_service_that_crashes_on_start_is_rolled_back(built):
    lab = built
    served, names = _age(lab), service.Names.of(lab)
    execution = pipeline.push_source(lab, {"app/settings.json": '{"backend": "postgres"}\n'})
    with pytest.raises(LabError) as failed:
        pipeline.wait_for_release(lab, execution)
    message = str(failed.value)
    assert f"The Deploy stage of pipeline execution {execution} failed" in message
    assert "stop right after they start" in message
    assert "must be 'catalogue' or 'dynamodb', not 'postgres'" in message  # the task's log
    assert "rolled back to" in message
    ecs = lab.client("ecs")
    now = ecs.describe_services(cluster=names.cluster, services=[names.service])["services"][0]
    assert len(now["deployments"]) == 1 and now["runningCount"] == 2
    image = ecs.describe_task_definition(taskDefinition=now["taskDefinition"])["taskDefinition"][
        "containerDefinitions"
    ][0]["image"]
    assert "@sha256:" in image  # pinned: "latest" names the crashing image now
    assert {_age(lab) for _ in range(6)} == {served}
    status = lab.client("codepipeline").get_pipeline_execution(
        pipelineName=pipeline.Names.of(lab).pipeline, pipelineExecutionId=execution
    )["pipelineExecution"]["status"]
    assert status == "Stopped"
    _restore(lab, "app/settings.json")
    assert {_age(lab) for _ in range(6)} == {served}


def test_bad_changes_are_refused_before_anything_is_uploaded(built):
    lab = built
    versions = pipeline.Names.of(lab).source_bucket
    count = len(lab.client("s3").list_object_versions(Bucket=versions)["Versions"])
    with pytest.raises(LabError, match="Did you mean Evangeline"):
        pipeline.mysfit_change(lab, "Evangelin", age=44)
    with pytest.raises(LabError, match="whole number"):
        pipeline.mysfit_change(lab, MYSFIT, age="44")
    with pytest.raises(LabError, match="not a file of the source"):
        pipeline.push_source(lab, {"../outside.txt": "x"})
    with pytest.raises(LabError, match="no such file"):
        pipeline.push_source(lab, {"nothing/here.txt": None})
    assert len(lab.client("s3").list_object_versions(Bucket=versions)["Versions"]) == count


def test_teardown_leaves_nothing_of_this_learner_and_spares_another(built, clean_aws_env):
    lab = built
    other = Lab.connect(learner="other")
    decoys = pipeline.Names.of(other)
    s3, codebuild, logs = lab.client("s3"), lab.client("codebuild"), lab.client("logs")
    s3.create_bucket(Bucket=decoys.source_bucket)
    codebuild.create_project(
        name=decoys.project,
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=lab.outputs.get("network.codebuild_role_arn"),
    )
    logs.create_log_group(logGroupName=decoys.log_group)
    names = pipeline.Names.of(lab)
    served = _age(lab)

    removed = pipeline.teardown(lab)
    assert f"pipeline {names.pipeline}" in removed
    assert f"s3://{names.source_bucket}" in removed and f"s3://{names.artifacts_bucket}" in removed

    assert lab.client("codepipeline").list_pipelines()["pipelines"] == []
    assert codebuild.list_projects()["projects"].count(names.project) == 0
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert names.source_bucket not in buckets and names.artifacts_bucket not in buckets
    groups = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
    assert names.log_group not in groups
    policy = lab.client("ecr").get_repository_policy(
        repositoryName=service.Names.of(lab).repository
    )["policyText"]
    assert "MysfitsPipelineBuildPushPull" not in policy
    assert "pipeline" not in lab.outputs.values()
    assert not pipeline.is_built(lab)
    # the other learner's resources stay; the service keeps serving its last release
    assert decoys.source_bucket in buckets and decoys.log_group in groups
    assert decoys.project in codebuild.list_projects()["projects"]
    assert _age(lab) == served
    assert pipeline.teardown(lab) == []  # twice: nothing left to remove
