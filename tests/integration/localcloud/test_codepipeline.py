"""Module 2b's pipeline on a fresh local cloud: an S3 upload is built by CodeBuild into an ECR
image and deployed to an ECS service behind an NLB, with the states CodePipeline reports.

What is checked is what a learner sees: the app's answers through the load balancer's URL, and
what GetPipelineState, GetPipelineExecution, ListPipelineExecutions and ListActionExecutions say.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from tests.helpers import EdgeSession, wait_for

APP = Path(__file__).parent / "ecs_app"
CLUSTER, SERVICE, CONTAINER = "pipeline-cluster", "web", "web"
SOURCE_BUCKET, STORE = "pipeline-source", "pipeline-artifacts"
SOURCE_KEY, PIPELINE, PROJECT = "app.zip", "web-pipeline", "web-build"
REPOSITORY = "pipeline-tests/app"
RUN_TIMEOUT = 120

BUILDSPEC = """\
version: 0.2
phases:
  pre_build:
    commands:
      - aws ecr get-login-password | docker login -u AWS --password-stdin $REGISTRY
      - TAG=$(cat version)
  build:
    commands:
      - sleep $(cat delay)
      - docker build -t $REPOSITORY_URI:$TAG .
  post_build:
    commands:
      - docker push $REPOSITORY_URI:$TAG
      - printf '[{"name":"web","imageUri":"%s"}]' $REPOSITORY_URI:$TAG > imagedefinitions.json
artifacts:
  files:
    - imagedefinitions.json
"""


def dockerfile(version: str, copied: str = "app.py") -> str:
    return (
        "FROM python:3.12-slim\nENV PYTHONUNBUFFERED=1\n"
        f"ENV APP_VERSION={version}\nWORKDIR /app\nCOPY {copied} /app/app.py\n"
        'EXPOSE 8080\nCMD ["python", "app.py"]\n'
    )


def source_zip(version: str, delay: int = 0, copied: str = "app.py") -> bytes:
    """The app's source folder as a learner zips it: the app, its Dockerfile, the buildspec."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", (APP / "app.py").read_text())
        archive.writestr("Dockerfile", dockerfile(version, copied))
        archive.writestr("buildspec.yml", BUILDSPEC)
        archive.writestr("version", version)
        archive.writestr("delay", str(delay))
    return buffer.getvalue()


class Stack(EdgeSession):
    def upload(self, version: str, **options: Any) -> str:
        put = self.client("s3").put_object(
            Bucket=SOURCE_BUCKET, Key=SOURCE_KEY, Body=source_zip(version, **options)
        )
        return put["VersionId"]

    def executions(self) -> list[dict[str, Any]]:
        codepipeline = self.client("codepipeline")
        return codepipeline.list_pipeline_executions(pipelineName=PIPELINE)[
            "pipelineExecutionSummaries"
        ]

    def execution(self, execution_id: str) -> dict[str, Any]:
        return self.client("codepipeline").get_pipeline_execution(
            pipelineName=PIPELINE, pipelineExecutionId=execution_id
        )["pipelineExecution"]

    def started_by(self, version_id: str) -> str:
        """The execution the upload of ``version_id`` started."""
        return wait_for(
            lambda: next(
                (
                    e["pipelineExecutionId"]
                    for e in self.executions()
                    if [r["revisionId"] for r in e.get("sourceRevisions", [])] == [version_id]
                ),
                None,
            ),
            f"an execution of source version {version_id}",
        )

    def finished(self, execution_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
        return wait_for(
            lambda: (
                (e := self.execution(execution_id))["status"] not in ("InProgress", "Stopping")
                and e
            ),
            f"execution {execution_id} to finish",
            timeout=timeout,
            interval=0.2,
        )

    def stage(self, name: str) -> dict[str, Any]:
        state = self.client("codepipeline").get_pipeline_state(name=PIPELINE)
        return next(s for s in state["stageStates"] if s["stageName"] == name)

    def actions(self, execution_id: str) -> dict[str, dict[str, Any]]:
        details = self.client("codepipeline").list_action_executions(
            pipelineName=PIPELINE, filter={"pipelineExecutionId": execution_id}
        )["actionExecutionDetails"]
        return {d["actionName"]: d for d in details}

    def service(self) -> dict[str, Any]:
        ecs = self.client("ecs")
        return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def whoami(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/whoami", timeout=5)
        response.raise_for_status()
        return response.json()

    def served(self, count: int = 10) -> set[str]:
        return {self.whoami()["version"] for _ in range(count)}


@pytest.fixture(scope="module")
def stack(cloud: Any, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """An NLB in front of an ECS service running v1, an ECR repository, a versioned source
    bucket, an artifact store, a CODEPIPELINE CodeBuild project and the pipeline's role."""
    stack = Stack(cloud.port)
    context = tmp_path_factory.mktemp("v1")
    (context / "app.py").write_text((APP / "app.py").read_text())
    (context / "Dockerfile").write_text(dockerfile("v1"))
    stack.control("images/build", {"context": str(context), "tags": ["pipeline-tests/app:v1"]})

    ec2, elbv2, ecs = stack.client("ec2"), stack.client("elbv2"), stack.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)
    nlb = elbv2.create_load_balancer(Name="pipeline-nlb", Type="network", Subnets=[subnet])
    target_group = elbv2.create_target_group(
        Name="pipeline-tg",
        Protocol="TCP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckProtocol="HTTP",
        HealthCheckPath="/",
        HealthCheckIntervalSeconds=5,  # 0.5 s on loopback
        HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    stack.url = stack.control("loadbalancers/pipeline-nlb")["listeners"]["80"]
    ecs.create_cluster(clusterName=CLUSTER)
    stack.client("logs").create_log_group(logGroupName="pipeline-tests")
    ecs.register_task_definition(
        family=SERVICE,
        cpu="256",
        memory="512",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        containerDefinitions=[
            {
                "name": CONTAINER,
                "image": "pipeline-tests/app:v1",
                "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "pipeline-tests",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "app",
                    },
                },
            }
        ],
    )
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=SERVICE,
        desiredCount=2,
        launchType="FARGATE",
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100},
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group_id["GroupId"]]}
        },
        loadBalancers=[
            {"targetGroupArn": target_group, "containerName": CONTAINER, "containerPort": 8080}
        ],
    )
    ecs.get_waiter("services_stable").wait(
        cluster=CLUSTER, services=[SERVICE], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )

    s3 = stack.client("s3")
    for bucket in (SOURCE_BUCKET, STORE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=SOURCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    uri = stack.client("ecr").create_repository(repositoryName=REPOSITORY)["repository"][
        "repositoryUri"
    ]
    stack.repository_uri = uri
    stack.client("codebuild").create_project(
        name=PROJECT,
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": True,
            "environmentVariables": [
                {"name": "REPOSITORY_URI", "value": uri},
                {"name": "REGISTRY", "value": uri.split("/")[0]},
            ],
        },
        serviceRole="arn:aws:iam::123456789012:role/pipeline-build",
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = stack.client("iam").create_role(
        RoleName="pipeline-role", AssumeRolePolicyDocument=json.dumps(trust)
    )
    stack.role = role["Role"]["Arn"]
    return stack


def declaration(role: str) -> dict[str, Any]:
    """The workshop's pipeline, with an S3 source."""
    return {
        "name": PIPELINE,
        "roleArn": role,
        "artifactStore": {"type": "S3", "location": STORE},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "S3",
                            "version": "1",
                        },
                        "configuration": {"S3Bucket": SOURCE_BUCKET, "S3ObjectKey": SOURCE_KEY},
                        "outputArtifacts": [{"name": "SourceArtifact"}],
                    }
                ],
            },
            {
                "name": "Build",
                "actions": [
                    {
                        "name": "Build",
                        "actionTypeId": {
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                        },
                        "configuration": {"ProjectName": PROJECT},
                        "inputArtifacts": [{"name": "SourceArtifact"}],
                        "outputArtifacts": [{"name": "BuildArtifact"}],
                    }
                ],
            },
            {
                "name": "Deploy",
                "actions": [
                    {
                        "name": "Deploy",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "ECS",
                            "version": "1",
                        },
                        "configuration": {
                            "ClusterName": CLUSTER,
                            "ServiceName": SERVICE,
                            "FileName": "imagedefinitions.json",
                        },
                        "inputArtifacts": [{"name": "BuildArtifact"}],
                    }
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def first_run(stack: Stack) -> tuple[str, str]:
    """The pipeline, created once the source (v2) is in its bucket: CreatePipeline starts the
    first execution. (execution id, source version id)."""
    version_id = stack.upload("v2")
    created = stack.client("codepipeline").create_pipeline(pipeline=declaration(stack.role))
    assert created["pipeline"]["version"] == 1
    [summary] = wait_for(stack.executions, "the first execution")
    return summary["pipelineExecutionId"], version_id


def test_the_first_execution_builds_and_deploys_the_uploaded_source(stack, first_run):
    execution_id, version_id = first_run
    execution = stack.finished(execution_id)
    assert execution["status"] == "Succeeded", execution
    assert execution["trigger"]["triggerType"] == "CreatePipeline"
    assert [(r["name"], r["revisionId"]) for r in execution["artifactRevisions"]] == [
        ("SourceArtifact", version_id)
    ]
    assert stack.served() == {"v2"}

    stages = {s: stack.stage(s) for s in ("Source", "Build", "Deploy")}
    for stage in stages.values():
        assert stage["latestExecution"] == {
            "pipelineExecutionId": execution_id,
            "status": "Succeeded",
            "type": "STANDARD",
        }
        [action] = stage["actionStates"]
        assert action["latestExecution"]["status"] == "Succeeded"
    source_state = stages["Source"]["actionStates"][0]
    assert source_state["currentRevision"]["revisionId"] == version_id

    actions = stack.actions(execution_id)
    assert set(actions) == {"Source", "Build", "Deploy"}
    source, build, deploy = actions["Source"], actions["Build"], actions["Deploy"]
    assert all(a["status"] == "Succeeded" for a in actions.values())
    assert source["output"]["outputVariables"]["VersionId"] == version_id
    # Artifacts pass through the artifact store, from one action to the next.
    [source_out] = source["output"]["outputArtifacts"]
    assert source_out["s3location"]["bucket"] == STORE
    assert source_out["s3location"]["key"].startswith(f"{PIPELINE}/SourceArti/")
    assert build["input"]["inputArtifacts"] == [source_out]
    [build_out] = build["output"]["outputArtifacts"]
    assert build_out["s3location"]["key"].startswith(f"{PIPELINE}/BuildArtif/")
    assert deploy["input"]["inputArtifacts"] == [build_out]
    location = build_out["s3location"]
    body = stack.client("s3").get_object(Bucket=location["bucket"], Key=location["key"])
    with zipfile.ZipFile(io.BytesIO(body["Body"].read())) as archive:
        images = json.loads(archive.read("imagedefinitions.json"))
    assert images == [{"name": CONTAINER, "imageUri": f"{stack.repository_uri}:v2"}]

    # The Build action is the CodeBuild build it names.
    build_id = build["output"]["executionResult"]["externalExecutionId"]
    assert build_state_id(stages["Build"]) == build_id
    [found] = stack.client("codebuild").batch_get_builds(ids=[build_id])["builds"]
    assert (found["projectName"], found["buildStatus"]) == (PROJECT, "SUCCEEDED")
    source_location = f"{STORE}/{source_out['s3location']['key']}"
    assert (found["source"]["type"], found["source"]["location"]) == ("S3", source_location)

    # The deploy registered a new revision of the service's task definition, and completed.
    service = stack.service()
    assert service["taskDefinition"].endswith(":task-definition/web:2")
    [deployment] = service["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    definition = stack.client("ecs").describe_task_definition(taskDefinition="web:2")
    [container] = definition["taskDefinition"]["containerDefinitions"]
    assert container["image"] == f"{stack.repository_uri}:v2"
    assert container["portMappings"][0]["containerPort"] == 8080
    result = deploy["output"]["executionResult"]
    assert result["externalExecutionId"] == deployment["id"]
    assert "completed" in result["externalExecutionSummary"]
    for action in actions.values():
        assert action["startTime"] <= action["lastUpdateTime"]
    assert source["lastUpdateTime"] <= build["startTime"] <= deploy["startTime"]


def build_state_id(stage: dict[str, Any]) -> str:
    return stage["actionStates"][0]["latestExecution"]["externalExecutionId"]


def test_a_failing_build_fails_the_build_stage_and_the_service_keeps_serving(stack, first_run):
    stack.finished(first_run[0])
    before = stack.service()["taskDefinition"]
    served = stack.served()
    version_id = stack.upload("broken", copied="missing.py")
    execution_id = stack.started_by(version_id)
    execution = stack.finished(execution_id)
    assert execution["status"] == "Failed"
    assert execution["statusSummary"].startswith("Stage Build failed: ")

    build = stack.stage("Build")
    assert build["latestExecution"]["pipelineExecutionId"] == execution_id
    assert build["latestExecution"]["status"] == "Failed"
    error = build["actionStates"][0]["latestExecution"]["errorDetails"]
    build_id = build_state_id(build)
    assert error["code"] == "JobFailed"
    assert error["message"].startswith("Build terminated with state: FAILED. Phase: BUILD, ")
    assert "docker build" in error["message"] and build_id in error["message"]
    # The Deploy stage never ran: its latest execution is still the earlier one.
    assert stack.stage("Deploy")["latestExecution"]["pipelineExecutionId"] != execution_id
    assert set(stack.actions(execution_id)) == {"Source", "Build"}
    assert stack.service()["taskDefinition"] == before
    assert stack.served(20) == served

    # A failed stage can be retried: its failed action runs again (and fails again).
    codepipeline = stack.client("codepipeline")
    codepipeline.retry_stage_execution(
        pipelineName=PIPELINE,
        stageName="Build",
        pipelineExecutionId=execution_id,
        retryMode="FAILED_ACTIONS",
    )
    assert stack.finished(execution_id)["status"] == "Failed"
    assert build_state_id(stack.stage("Build")) != build_id
    with pytest.raises(ClientError) as refused:
        codepipeline.retry_stage_execution(
            pipelineName=PIPELINE,
            stageName="Source",
            pipelineExecutionId=execution_id,
            retryMode="FAILED_ACTIONS",
        )
    assert refused.value.response["Error"]["Code"] == "StageNotRetryableException"


def test_a_newer_version_supersedes_one_waiting_for_a_locked_stage(stack, first_run):
    stack.finished(first_run[0])
    slow = stack.started_by(stack.upload("v3", delay=6))
    wait_for(
        lambda: (
            stack.stage("Build")["latestExecution"]
            == {"pipelineExecutionId": slow, "status": "InProgress", "type": "STANDARD"}
        ),
        "the slow build to lock the Build stage",
        timeout=30,
    )
    waiting = stack.started_by(stack.upload("v4"))
    wait_for(
        lambda: (
            [i["pipelineExecutionId"] for i in stack.stage("Build").get("inboundExecutions", [])]
            == [waiting]
        ),
        "v4 to wait in front of the Build stage",
    )
    newest = stack.started_by(stack.upload("v5"))
    superseded = stack.finished(waiting, timeout=30)
    assert superseded["status"] == "Superseded"
    assert superseded["statusSummary"] == f"Superseded by pipeline execution {newest}"
    assert stack.stage("Build")["inboundExecution"]["pipelineExecutionId"] == newest
    assert stack.finished(slow)["status"] == "Succeeded"
    assert stack.finished(newest)["status"] == "Succeeded"
    assert stack.served() == {"v5"}

    assert set(stack.actions(waiting)) == {"Source"}
    listed = [e["pipelineExecutionId"] for e in stack.executions()]
    assert listed[:3] == [newest, waiting, slow]
    statuses = {e["pipelineExecutionId"]: e["status"] for e in stack.executions()}
    assert (statuses[slow], statuses[waiting], statuses[newest]) == (
        "Succeeded",
        "Superseded",
        "Succeeded",
    )


class Load:
    """~20 requests a second through the NLB, one after another, for at most ``seconds``."""

    def __init__(self, url: str, seconds: float = 120.0, rate: float = 20.0):
        self.url, self.seconds, self.interval = f"{url}/whoami", seconds, 1 / rate
        self.answers: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        start = time.monotonic()
        for sent in range(int(self.seconds / self.interval)):
            if self._done.wait(max(0.0, start + sent * self.interval - time.monotonic())):
                return
            try:
                response = requests.get(self.url, timeout=5)
                response.raise_for_status()
                self.answers.append((time.monotonic(), response.json()["version"]))
            except requests.RequestException as exc:
                self.failures.append(repr(exc))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()


def test_a_deployment_under_load_drops_no_request(stack, first_run, record_property):
    stack.finished(first_run[0])
    with Load(stack.url) as load:
        wait_for(lambda: len(load.answers) >= 20, "traffic")
        uploaded = time.monotonic()
        execution_id = stack.started_by(stack.upload("v6"))
        assert stack.finished(execution_id)["status"] == "Succeeded"
        # The old task may answer a last few requests while it drains; then only v6.
        wait_for(
            lambda: [v for _, v in load.answers[-20:]] == ["v6"] * 20,
            "20 answers in a row from v6 through the NLB",
            timeout=60,
        )
    assert load.failures == []
    versions = [v for _, v in load.answers]
    first_new = versions.index("v6")
    assert set(versions[:first_new]) == {versions[0]} and versions[0] != "v6"
    seconds = load.answers[first_new][0] - uploaded
    record_property("seconds_from_upload_to_served", round(seconds, 1))
    print(f"\nv6 uploaded → served through the NLB in {seconds:.1f} s")
    assert stack.served() == {"v6"}
