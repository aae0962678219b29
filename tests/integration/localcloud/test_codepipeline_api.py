"""CodePipeline's API on a local cloud: what it refuses, what starts an execution, stopping
one, and deploy actions that fail with a reason.

The cloud runs in-process with user-set timeouts 20 times shorter, so a deploy action's
one-minute ``DeploymentTimeout`` lasts 3 s.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from tests.helpers import edge_client, wait_for

SOURCE, UNVERSIONED, STORE = "api-source", "api-unversioned", "api-artifacts"
ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# Writes the image definitions the source carries (images.json); sleeps $(cat delay) first.
BUILDSPEC = """\
version: 0.2
phases:
  build:
    commands:
      - sleep $(cat delay)
      - cp images.json imagedefinitions.json
artifacts:
  files:
    - imagedefinitions.json
"""


class Api:
    def __init__(self, edge: str):
        self.edge = edge
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = edge_client(self.edge, service)
        return self._clients[service]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    cloud = LocalCloud(
        0,
        tmp_path_factory.mktemp("cloud"),
        providers=["codepipeline"],
        clock=Clock(timeout_scale=0.05),
    )
    thread = threading.Thread(target=cloud.serve_forever, daemon=True)
    thread.start()
    api = Api(cloud.edge_url)
    try:
        for bucket in (SOURCE, UNVERSIONED, STORE):
            api.s3.create_bucket(Bucket=bucket)
        api.s3.put_bucket_versioning(Bucket=SOURCE, VersioningConfiguration={"Status": "Enabled"})
        api.role = api.iam.create_role(
            RoleName="api-pipeline", AssumeRolePolicyDocument=json.dumps(ROLE_TRUST)
        )["Role"]["Arn"]
        api.codebuild.create_project(
            name="api-build",
            source={"type": "CODEPIPELINE"},
            artifacts={"type": "CODEPIPELINE"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole="arn:aws:iam::123456789012:role/api-build",
        )
        yield api
    finally:
        cloud.shutdown()
        thread.join(timeout=10)


def source_zip(images: list[dict[str, str]], delay: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("buildspec.yml", BUILDSPEC)
        archive.writestr("images.json", json.dumps(images))
        archive.writestr("delay", str(delay))
    return buffer.getvalue()


def _action(name: str, kind: tuple[str, str], config: dict[str, str], **extra: Any) -> dict:
    type_id = {"category": kind[0], "owner": "AWS", "provider": kind[1], "version": "1"}
    return {"name": name, "actionTypeId": type_id, "configuration": config, **extra}


def declaration(
    api: Api, name: str, key: str, bucket: str = SOURCE, deploy: dict | None = None, **source: str
) -> dict[str, Any]:
    stages = [
        {
            "name": "Source",
            "actions": [
                _action(
                    "Source",
                    ("Source", "S3"),
                    {"S3Bucket": bucket, "S3ObjectKey": key, **source},
                    outputArtifacts=[{"name": "SourceArtifact"}],
                )
            ],
        },
        {
            "name": "Build",
            "actions": [
                _action(
                    "Build",
                    ("Build", "CodeBuild"),
                    {"ProjectName": "api-build"},
                    inputArtifacts=[{"name": "SourceArtifact"}],
                    outputArtifacts=[{"name": "BuildArtifact"}],
                )
            ],
        },
    ]
    if deploy is not None:
        stages.append(
            {
                "name": "Deploy",
                "actions": [
                    _action(
                        "Deploy",
                        ("Deploy", "ECS"),
                        deploy,
                        inputArtifacts=[{"name": "BuildArtifact"}],
                    )
                ],
            }
        )
    return {
        "name": name,
        "roleArn": api.role,
        "artifactStore": {"type": "S3", "location": STORE},
        "stages": stages,
    }


def executions(api: Api, name: str) -> list[dict[str, Any]]:
    listed = api.codepipeline.list_pipeline_executions(pipelineName=name)
    return listed["pipelineExecutionSummaries"]


def finished(api: Api, name: str, execution_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = api.codepipeline.get_pipeline_execution(
            pipelineName=name, pipelineExecutionId=execution_id
        )["pipelineExecution"]
        return found if found["status"] not in ("InProgress", "Stopping") else None

    return wait_for(done, f"execution {execution_id} to finish", timeout=timeout, interval=0.1)


def nth_run(api: Api, name: str, count: int) -> dict[str, Any]:
    """The ``count``-th execution, once its source action has read its revision."""
    return wait_for(
        lambda: (
            len(found := executions(api, name)) == count
            and found[0].get("sourceRevisions")
            and found[0]
        ),
        f"execution {count} of {name}",
    )


def first_execution(api: Api, name: str) -> dict[str, Any]:
    [summary] = wait_for(lambda: executions(api, name), f"the first execution of {name}")
    return finished(api, name, summary["pipelineExecutionId"])


def error_of(stage: dict[str, Any]) -> dict[str, str]:
    return stage["actionStates"][0]["latestExecution"]["errorDetails"]


def state(api: Api, name: str, stage: str) -> dict[str, Any]:
    stages = api.codepipeline.get_pipeline_state(name=name)["stageStates"]
    return next(s for s in stages if s["stageName"] == stage)


def code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call(**params)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return refused.value.response["Error"]["Code"]


def test_what_aws_refuses_is_refused_in_its_terms(api):
    codepipeline = api.codepipeline
    broken = declaration(api, "broken", "a.zip")
    broken["stages"].reverse()
    assert code(codepipeline.create_pipeline, pipeline=broken) == "InvalidStructureException"
    missing = declaration(api, "missing", "a.zip")
    del missing["stages"][1]["actions"][0]["configuration"]["ProjectName"]
    assert code(codepipeline.create_pipeline, pipeline=missing) == (
        "InvalidActionDeclarationException"
    )
    assert codepipeline.list_pipelines()["pipelines"] == []

    codepipeline.create_pipeline(pipeline=declaration(api, "checked", "a.zip"))
    again = declaration(api, "checked", "a.zip")
    assert code(codepipeline.create_pipeline, pipeline=again) == "PipelineNameInUseException"
    got = codepipeline.get_pipeline(name="checked")["pipeline"]
    assert (got["executionMode"], got["pipelineType"], got["version"]) == ("SUPERSEDED", "V1", 1)

    assert code(codepipeline.get_pipeline_state, name="nope") == "PipelineNotFoundException"
    assert code(codepipeline.start_pipeline_execution, name="nope") == ("PipelineNotFoundException")
    assert code(codepipeline.list_pipeline_executions, pipelineName="nope") == (
        "PipelineNotFoundException"
    )
    unknown = "00000000-0000-0000-0000-000000000000"
    assert code(
        codepipeline.get_pipeline_execution, pipelineName="checked", pipelineExecutionId=unknown
    ) == ("PipelineExecutionNotFoundException")
    assert code(
        codepipeline.list_action_executions,
        pipelineName="checked",
        filter={"pipelineExecutionId": unknown},
    ) == ("PipelineExecutionNotFoundException")
    # Its first execution found no source object, and says so.
    execution = first_execution(api, "checked")
    assert execution["status"] == "Failed"
    assert execution["trigger"]["triggerType"] == "CreatePipeline"
    assert error_of(state(api, "checked", "Source"))["message"] == (
        f"The object with key 'a.zip' does not exist in bucket {SOURCE}"
    )
    assert code(
        codepipeline.stop_pipeline_execution,
        pipelineName="checked",
        pipelineExecutionId=execution["pipelineExecutionId"],
    ) == ("PipelineExecutionNotStoppableException")


def test_a_codepipeline_project_has_no_source_or_artifacts_location(api):
    [project] = api.codebuild.batch_get_projects(names=["api-build"])["projects"]
    assert project["source"]["type"] == "CODEPIPELINE" and "location" not in project["source"]
    assert project["artifacts"] == {"type": "CODEPIPELINE"} | {
        k: v for k, v in project["artifacts"].items() if k not in ("type", "location")
    }
    assert "location" not in project["artifacts"]


def test_an_unversioned_source_bucket_fails_the_source_action(api):
    api.s3.put_object(Bucket=UNVERSIONED, Key="app.zip", Body=source_zip([]))
    api.codepipeline.create_pipeline(
        pipeline=declaration(api, "unversioned", "app.zip", bucket=UNVERSIONED)
    )
    assert first_execution(api, "unversioned")["status"] == "Failed"
    message = error_of(state(api, "unversioned", "Source"))["message"]
    assert message.startswith(f"The source bucket {UNVERSIONED} does not have versioning enabled")


def test_without_polling_only_an_eventbridge_rule_starts_the_pipeline(api):
    key = "events.zip"
    api.s3.put_object(Bucket=SOURCE, Key=key, Body=source_zip([]))
    pipeline = declaration(api, "events", key, PollForSourceChanges="false")
    api.codepipeline.create_pipeline(pipeline=pipeline)
    first_execution(api, "events")
    api.s3.put_object(Bucket=SOURCE, Key=key, Body=source_zip([]))
    time.sleep(1)
    assert len(executions(api, "events")) == 1

    rule = api.events.put_rule(
        Name="events-source",
        EventPattern=json.dumps({"source": ["aws.s3"], "detail": {"bucket": {"name": [SOURCE]}}}),
    )["RuleArn"]
    api.events.put_targets(
        Rule="events-source",
        Targets=[{"Id": "pipeline", "Arn": "arn:aws:codepipeline:us-east-1:123456789012:events"}],
    )
    version = api.s3.put_object(Bucket=SOURCE, Key=key, Body=source_zip([]))["VersionId"]
    latest = nth_run(api, "events", 2)
    assert latest["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule}
    assert latest["sourceRevisions"][0]["revisionId"] == version


def test_an_execution_runs_the_source_version_it_is_given(api):
    key = "pinned.zip"
    old = api.s3.put_object(Bucket=SOURCE, Key=key, Body=source_zip([]))["VersionId"]
    api.codepipeline.create_pipeline(pipeline=declaration(api, "pinned", key))
    first_execution(api, "pinned")
    newer = api.s3.put_object(Bucket=SOURCE, Key=key, Body=source_zip([], delay=0))
    started = nth_run(api, "pinned", 2)
    assert started["sourceRevisions"][0]["revisionId"] == newer["VersionId"]
    assert started["trigger"] == {"triggerType": "PollForSourceChanges", "triggerDetail": "Source"}
    finished(api, "pinned", started["pipelineExecutionId"])

    params = {
        "name": "pinned",
        "clientRequestToken": "redeploy-old",
        "sourceRevisions": [
            {"actionName": "Source", "revisionType": "S3_OBJECT_VERSION_ID", "revisionValue": old}
        ],
    }
    execution_id = api.codepipeline.start_pipeline_execution(**params)["pipelineExecutionId"]
    assert api.codepipeline.start_pipeline_execution(**params)["pipelineExecutionId"] == (
        execution_id
    )
    execution = finished(api, "pinned", execution_id)
    assert execution["status"] == "Succeeded"
    assert execution["artifactRevisions"][0]["revisionId"] == old
    assert execution["trigger"]["triggerType"] == "StartPipelineExecution"
    succeeded = api.codepipeline.list_pipeline_executions(
        pipelineName="pinned", filter={"succeededInStage": {"stageName": "Build"}}, maxResults=1
    )
    assert [e["pipelineExecutionId"] for e in succeeded["pipelineExecutionSummaries"]] == [
        execution_id
    ]
    rest = api.codepipeline.list_pipeline_executions(
        pipelineName="pinned", nextToken=succeeded["nextToken"]
    )["pipelineExecutionSummaries"]
    assert len(rest) == 2


def test_stop_and_abandon_a_running_build(api):
    key = "stopped.zip"
    api.s3.put_object(Bucket=SOURCE, Key=key, Body=source_zip([], delay=30))
    api.codepipeline.create_pipeline(pipeline=declaration(api, "stopped", key))
    [summary] = wait_for(lambda: executions(api, "stopped"), "the first execution")
    execution_id = summary["pipelineExecutionId"]
    wait_for(
        lambda: (
            state(api, "stopped", "Build").get("latestExecution", {}).get("status") == "InProgress"
        ),
        "the build",
    )
    api.codepipeline.stop_pipeline_execution(
        pipelineName="stopped", pipelineExecutionId=execution_id, abandon=True, reason="oops"
    )
    assert finished(api, "stopped", execution_id, timeout=10)["status"] == "Stopped"
    build = state(api, "stopped", "Build")
    assert build["latestExecution"]["status"] == "Stopped"
    assert build["actionStates"][0]["latestExecution"]["status"] == "Abandoned"
    assert executions(api, "stopped")[0]["stopTrigger"] == {"reason": "oops"}


@pytest.fixture(scope="module")
def doomed(api: Api) -> str:
    """An ECS service whose tasks cannot start: its image is nowhere."""
    ecs = api.ecs
    ecs.create_cluster(clusterName="api-cluster")
    ecs.register_task_definition(
        family="doomed",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "nowhere/app:v0", "essential": True}],
    )
    ecs.create_service(
        cluster="api-cluster", serviceName="doomed", taskDefinition="doomed", desiredCount=1
    )
    return "doomed"


def _deploy(api: Api, name: str, images: list[dict[str, str]], timeout: str) -> dict[str, Any]:
    api.s3.put_object(Bucket=SOURCE, Key=f"{name}.zip", Body=source_zip(images))
    deploy = {"ClusterName": "api-cluster", "ServiceName": "doomed", "DeploymentTimeout": timeout}
    api.codepipeline.create_pipeline(pipeline=declaration(api, name, f"{name}.zip", deploy=deploy))
    execution = first_execution(api, name)
    assert execution["status"] == "Failed"
    return state(api, name, "Deploy")


def test_an_image_for_an_unknown_container_fails_the_deploy(api, doomed):
    deploy = _deploy(api, "unknown", [{"name": "web", "imageUri": "nowhere/app:v1"}], "5")
    assert error_of(deploy)["message"].startswith(
        "The AWS ECS container web does not exist in task definition doomed:1"
    )
    service = api.ecs.describe_services(cluster="api-cluster", services=[doomed])["services"][0]
    assert service["taskDefinition"].endswith("task-definition/doomed:1")


def test_a_deployment_that_never_completes_times_out_with_its_reason(api, doomed):
    deploy = _deploy(api, "timeout", [{"name": "app", "imageUri": "nowhere/app:v1"}], "1")
    message = error_of(deploy)["message"]
    assert message.startswith("The deployment did not complete within 1 minute(s). Deployment ")
    assert "CannotPullContainerError" in message and "nowhere/app:v1" in message
    service = api.ecs.describe_services(cluster="api-cluster", services=[doomed])["services"][0]
    assert service["taskDefinition"].endswith("task-definition/doomed:2")
