"""Module 2b: a CI/CD pipeline that builds and deploys the service on every source change.

The original workshop's pipeline with an S3 source instead of CodeCommit (closed to new AWS
accounts since July 2024): a new version of the service's source zip in a versioned bucket
starts CodePipeline; its Build stage runs the source's own ``buildspec.yml`` on CodeBuild
(docker build, push to ECR, ``imagedefinitions.json``), its Deploy stage rolls the ECS service of
module 02a to that image. Same calls on both targets; on the local cloud every stage really runs.

``push_source`` is how any module ships a change (module 03 switches the service to DynamoDB
with it) and ``wait_for_release`` follows it to the end, or says which stage failed and why.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from botocore.exceptions import ClientError

from .. import service_bundle, show
from ..lab import Lab, LabError
from ..waiting import wait_until
from . import release_problems as problems
from . import service, website
from .aws_errors import error_code
from .buckets import bucket_exists, delete_bucket, ensure_bucket
from .image_build import docker_build_environment
from .logs import LogTail, ensure_log_group

MODULE = "02b-pipeline"
SOURCE_KEY = "service/source.zip"
SOURCE_PURPOSE, ARTIFACTS_PURPOSE = "source", "pipeline"  # bucket names: lab.bucket_name()
SOURCE_ARTIFACT = "MythicalMysfitsService-SourceArtifact"
BUILD_ARTIFACT = "MythicalMysfitsService-BuildArtifact"
IMAGE_DEFINITIONS = "imagedefinitions.json"
STAGES = ("Source", "Build", "Deploy")
DEPLOY_TIMEOUT_MINUTES = 15  # the ECS action fails a deployment that never completes
CATALOGUE = "app/catalogue.json"
SETTINGS = "app/settings.json"
# S3 object metadata that CodePipeline shows as the revision's summary (a commit message).
_SUMMARY_KEY = "codepipeline-artifact-revision-summary"
_ENDED = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")
_ECR_SID = "MysfitsPipelineBuildPushPull"
_ECR_ACTIONS = [
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
]


@dataclass(frozen=True)
class Names:
    """Every name this module gives a resource, prefixed with the learner."""

    pipeline: str
    project: str
    log_group: str
    source_bucket: str
    artifacts_bucket: str

    @classmethod
    def of(cls, lab: Lab) -> Names:
        project = lab.name("MythicalMysfitsServiceCodeBuildProject")
        return cls(
            pipeline=lab.name("MythicalMysfitsServiceCICDPipeline"),
            project=project,
            log_group=f"/aws/codebuild/{project}",
            source_bucket=lab.bucket_name(SOURCE_PURPOSE),
            artifacts_bucket=lab.bucket_name(ARTIFACTS_PURPOSE),
        )


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _roles(lab: Lab) -> tuple[str, str]:
    """(CodeBuild role, CodePipeline role): the core stack of 02a defines both."""
    return (
        lab.outputs.get("network.codebuild_role_arn"),
        lab.outputs.get("network.codepipeline_role_arn"),
    )


# -- 1. buckets and the source ------------------------------------------------------------
def artifacts_policy(lab: Lab, bucket: str) -> dict[str, Any]:
    """The original's artifacts bucket policy: the build and pipeline roles read and write."""
    arn = f"arn:{_partition(lab.region)}:s3:::{bucket}"
    roles = list(_roles(lab))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PipelineAndBuildRead",
                "Effect": "Allow",
                "Principal": {"AWS": roles},
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"],
                "Resource": [f"{arn}/*", arn],
            },
            {
                "Sid": "PipelineAndBuildWrite",
                "Effect": "Allow",
                "Principal": {"AWS": roles},
                "Action": "s3:PutObject",
                "Resource": [f"{arn}/*", arn],
            },
        ],
    }


def create_buckets(lab: Lab) -> list[dict[str, str]]:
    """The artifacts bucket (with its policy) and the versioned source bucket: one row each."""
    artifacts = ensure_bucket(lab, ARTIFACTS_PURPOSE)
    lab.client("s3").put_bucket_policy(
        Bucket=artifacts, Policy=json.dumps(artifacts_policy(lab, artifacts))
    )
    source = ensure_bucket(lab, SOURCE_PURPOSE, versioned=True)
    return [
        {
            "bucket": artifacts,
            "holds": "what one stage hands the next",
            "policy": "the pipeline and build roles read and write",
        },
        {
            "bucket": source,
            "holds": f"{SOURCE_KEY}, one version per upload",
            "policy": "none (versioning on)",
        },
    ]


def current_source(lab: Lab) -> bytes | None:
    """The latest version of the source zip, or None before the first upload."""
    names = Names.of(lab)
    try:
        found = lab.client("s3").get_object(Bucket=names.source_bucket, Key=SOURCE_KEY)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NoSuchBucket"):
            return None
        raise
    return found["Body"].read()


def upload_first_source(lab: Lab) -> dict[str, Any]:
    """Upload the service's source (``assets/service`` and its catalogue) unless a version is
    there already: the first commit of the repository, in the original's words."""
    names, s3 = Names.of(lab), lab.client("s3")
    try:
        head = s3.head_object(Bucket=names.source_bucket, Key=SOURCE_KEY)
        uploaded = False
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchKey"):
            raise
        body = service_bundle.source_zip()
        head = s3.put_object(
            Bucket=names.source_bucket,
            Key=SOURCE_KEY,
            Body=body,
            Metadata={_SUMMARY_KEY: "the service as the workshop ships it"},
        )
        head["ContentLength"] = len(body)
        uploaded = True
    return {
        "source": f"s3://{names.source_bucket}/{SOURCE_KEY}",
        "version": head.get("VersionId"),
        "bytes": head.get("ContentLength"),
        "uploaded now": uploaded,
    }


def source_files(lab: Lab) -> list[str]:
    """The paths in the current source zip."""
    current = current_source(lab)
    return sorted(service_bundle.zip_files(current)) if current else []


def shipped_file(path: str) -> str:
    """A file of the source as the workshop ships it: to put back what a change broke."""
    return service_bundle.zip_files(service_bundle.source_zip())[path].decode("utf-8")


# -- 2. the build project and the registry's policy -----------------------------------------
def _repository(lab: Lab) -> dict[str, Any]:
    name = service.Names.of(lab).repository
    try:
        return lab.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]
    except ClientError as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            raise LabError(f"run 02a-service first: ECR repository {name} does not exist") from None
        raise


def allow_build_to_push(lab: Lab) -> dict[str, Any]:
    """The original's ECR repository policy: the build role may pull and push the service's
    images. Added as its own statement, so 02a's statements stay as they are."""
    repository, ecr = _repository(lab)["repositoryName"], lab.client("ecr")
    build_role, _ = _roles(lab)
    try:
        policy = json.loads(ecr.get_repository_policy(repositoryName=repository)["policyText"])
    except ClientError as exc:
        if error_code(exc) != "RepositoryPolicyNotFoundException":
            raise
        policy = {"Version": "2012-10-17", "Statement": []}
    statement = {
        "Sid": _ECR_SID,
        "Effect": "Allow",
        "Principal": {"AWS": build_role},
        "Action": _ECR_ACTIONS,
    }
    others = [s for s in policy.get("Statement", []) if s.get("Sid") != _ECR_SID]
    if statement not in policy.get("Statement", []):
        policy["Statement"] = [*others, statement]
        ecr.set_repository_policy(repositoryName=repository, policyText=json.dumps(policy))
    return statement


def build_project_spec(lab: Lab) -> dict[str, Any]:
    """CreateProject's input: sources and artifacts come from the pipeline; the variables are
    the ones ``assets/service/buildspec.yml`` reads (IMAGE_TAG keeps the buildspec's default)."""
    names, repository = Names.of(lab), _repository(lab)
    build_role, _ = _roles(lab)
    uri = repository["repositoryUri"]
    variables = {
        "AWS_ACCOUNT_ID": lab.account,
        "REGISTRY": uri.split("/", 1)[0],
        "REPOSITORY_URI": uri,
        "CONTAINER_NAME": service.CONTAINER_NAME,
    }
    return {
        "name": names.project,
        "description": "Builds the Mysfits service image from the pipeline's source",
        "source": {"type": "CODEPIPELINE"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": docker_build_environment(variables),
        "serviceRole": build_role,
        "timeoutInMinutes": 20,
        "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "groupName": names.log_group}},
    }


def _project_differs(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def variables(spec: dict[str, Any]) -> dict[str, str]:
        return {v["name"]: v["value"] for v in spec["environment"].get("environmentVariables", [])}

    return (
        found["source"]["type"] != wanted["source"]["type"]
        or found["artifacts"]["type"] != wanted["artifacts"]["type"]
        or found.get("serviceRole") != wanted["serviceRole"]
        or variables(found) != variables(wanted)
        or found["environment"].get("image") != wanted["environment"]["image"]
        or not found["environment"].get("privilegedMode")
        or found.get("logsConfig", {}).get("cloudWatchLogs", {}).get("groupName")
        != wanted["logsConfig"]["cloudWatchLogs"]["groupName"]
    )


def create_build_project(lab: Lab) -> dict[str, Any]:
    """Get or create the CodeBuild project (updated when its settings drifted) and the log
    group it writes to."""
    codebuild, wanted = lab.client("codebuild"), build_project_spec(lab)
    ensure_log_group(lab, Names.of(lab).log_group)
    found = codebuild.batch_get_projects(names=[wanted["name"]]).get("projects", [])
    if not found:
        codebuild.create_project(**wanted, tags=lab.tag_list("key", "value"))
    elif _project_differs(found[0], wanted):
        codebuild.update_project(**wanted)
    return {
        "project": wanted["name"],
        "image": wanted["environment"]["image"],
        "variables": ", ".join(v["name"] for v in wanted["environment"]["environmentVariables"]),
    }


# -- 3. the pipeline ----------------------------------------------------------------------
def _action(
    name: str,
    category: str,
    provider: str,
    configuration: dict[str, str],
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": provider,
            "version": "1",
        },
        "runOrder": 1,
        "configuration": configuration,
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n} for n in outputs],
    }


def declaration(lab: Lab) -> dict[str, Any]:
    """The pipeline: Source (S3) → Build (CodeBuild) → Deploy (ECS) to 02a's service."""
    names, ecs = Names.of(lab), service.Names.of(lab)
    _, pipeline_role = _roles(lab)
    return {
        "name": names.pipeline,
        "roleArn": pipeline_role,
        "artifactStore": {"type": "S3", "location": names.artifacts_bucket},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    _action(
                        "Source",
                        "Source",
                        "S3",
                        {
                            "S3Bucket": names.source_bucket,
                            "S3ObjectKey": SOURCE_KEY,
                            "PollForSourceChanges": "true",
                        },
                        outputs=(SOURCE_ARTIFACT,),
                    )
                ],
            },
            {
                "name": "Build",
                "actions": [
                    _action(
                        "Build",
                        "Build",
                        "CodeBuild",
                        {"ProjectName": names.project},
                        inputs=(SOURCE_ARTIFACT,),
                        outputs=(BUILD_ARTIFACT,),
                    )
                ],
            },
            {
                "name": "Deploy",
                "actions": [
                    _action(
                        "Deploy",
                        "Deploy",
                        "ECS",
                        {
                            "ClusterName": ecs.cluster,
                            "ServiceName": ecs.service,
                            "FileName": IMAGE_DEFINITIONS,
                            "DeploymentTimeout": str(DEPLOY_TIMEOUT_MINUTES),
                        },
                        inputs=(BUILD_ARTIFACT,),
                    )
                ],
            },
        ],
    }


def _shape(declared: dict[str, Any]) -> Any:
    """What matters of a declaration, leaving out what AWS adds (version, defaults)."""
    return (
        declared.get("roleArn"),
        declared.get("artifactStore", {}).get("location"),
        [
            (
                stage["name"],
                [
                    (
                        action["name"],
                        action["actionTypeId"]["provider"],
                        action.get("configuration") or {},
                        [a["name"] for a in action.get("inputArtifacts") or []],
                        [a["name"] for a in action.get("outputArtifacts") or []],
                    )
                    for action in stage["actions"]
                ],
            )
            for stage in declared.get("stages", [])
        ],
    )


def _get_pipeline(lab: Lab) -> dict[str, Any] | None:
    try:
        return lab.client("codepipeline").get_pipeline(name=Names.of(lab).pipeline)["pipeline"]
    except ClientError as exc:
        if error_code(exc) == "PipelineNotFoundException":
            return None
        raise


def create_pipeline(lab: Lab) -> str | None:
    """Get or create the pipeline (updated when it drifted). Creating it starts its first
    execution, of the source already uploaded: its id, else None."""
    codepipeline, wanted = lab.client("codepipeline"), declaration(lab)
    found = _get_pipeline(lab)
    if found is None:
        codepipeline.create_pipeline(pipeline=wanted, tags=lab.tag_list("key", "value"))
        return wait_until(
            lambda: next(
                (
                    e["pipelineExecutionId"]
                    for e in _executions(lab)
                    if e.get("trigger", {}).get("triggerType") == "CreatePipeline"
                ),
                None,
            ),
            f"pipeline {wanted['name']} to start its first execution",
            timeout=lab.wait_budget(300),
            interval=lab.poll_interval,
        )
    if _shape(found) != _shape(wanted):
        codepipeline.update_pipeline(pipeline=wanted | {"version": found["version"]})
    return None


def _executions(lab: Lab) -> list[dict[str, Any]]:
    """The pipeline's executions, newest first."""
    found = lab.client("codepipeline").list_pipeline_executions(pipelineName=Names.of(lab).pipeline)
    return found["pipelineExecutionSummaries"]


# -- shipping a change --------------------------------------------------------------------


def mysfit_change(
    lab: Lab, name: str, age: int | None = None, description: str | None = None
) -> dict[str, str]:
    """The source change that gives mysfit ``name`` a new age and/or description: the
    service's catalogue file with that mysfit changed, ready for ``push_source``."""
    if age is None and description is None:
        raise LabError("say what changes: an age, a description, or both")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
        raise LabError(f"new_age must be a whole number of years, 0 or more (got {age!r})")
    if description is not None and (not isinstance(description, str) or not description.strip()):
        raise LabError("new_description must be some text (or None to keep the description)")
    current = current_source(lab)
    if current is None:
        raise LabError("the pipeline has no source yet: run step 1 of 02b-pipeline first")
    files = service_bundle.zip_files(current)
    if CATALOGUE not in files:
        raise LabError(f"the source has no {CATALOGUE}: put it back with pipeline.shipped_file")
    catalogue = json.loads(files[CATALOGUE])
    known = [m["name"] for m in catalogue["mysfits"]]
    mysfit = next((m for m in catalogue["mysfits"] if m["name"].lower() == str(name).lower()), None)
    if mysfit is None:
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise LabError(f"no mysfit called {name!r}.{hint} The mysfits: {', '.join(known)}")
    if age is not None:
        mysfit["age"] = age
    if description is not None:
        mysfit["description"] = description
    return {CATALOGUE: json.dumps(catalogue, indent=2, ensure_ascii=False) + "\n"}


def diff(lab: Lab, overrides: Mapping[str, str | None]) -> str:
    """What ``overrides`` change in the current source, as ``git diff`` shows it (a file's
    changed lines, with a little context)."""
    current = current_source(lab)
    files = service_bundle.zip_files(current) if current else {}
    lines: list[str] = []
    for path, content in sorted(overrides.items()):
        before = files.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        after = (content or "").splitlines(keepends=True)
        lines += difflib.unified_diff(
            before,
            after,
            f"a/{path}" if path in files else "/dev/null",
            f"b/{path}" if content is not None else "/dev/null",
            n=1,
        )
    return "".join(lines) or "(no change: the files are as they are in the source already)"


def push_source(lab: Lab, overrides: Mapping[str, str | bytes | None] | None = None) -> str:
    """Upload a new version of the source zip: the current one with the files of ``overrides``
    replaced (``None`` removes a file), as a commit would change them. The new version starts
    the pipeline; returns that execution's id."""
    names = Names.of(lab)
    if _get_pipeline(lab) is None:
        raise LabError(f"run 02b-pipeline first: pipeline {names.pipeline} does not exist")
    current = current_source(lab)
    if current is None:
        current = service_bundle.source_zip()
    changed = sorted(overrides or {})
    try:
        body = service_bundle.replace_files(current, overrides or {})
    except (KeyError, ValueError) as exc:
        raise LabError(str(exc).strip("\"'")) from None
    summary = ("changed " + ", ".join(changed)) if changed else "the same source again"
    put = lab.client("s3").put_object(
        Bucket=names.source_bucket,
        Key=SOURCE_KEY,
        Body=body,
        Metadata={_SUMMARY_KEY: summary[:200].encode("ascii", "replace").decode()},
    )
    version = put.get("VersionId")
    if not version or version == "null":
        raise LabError(
            f"bucket {names.source_bucket} is not versioned, so the pipeline cannot tell this "
            "upload from the last one: rerun step 1 of 02b-pipeline"
        )
    show.note(f"Uploaded source version {version} ({summary}).")
    return execution_of(lab, version)


def execution_of(lab: Lab, version: str) -> str:
    """The pipeline execution that the source version ``version`` started."""

    def started() -> str | None:
        for execution in _executions(lab):
            revisions = [r.get("revisionId") for r in execution.get("sourceRevisions", [])]
            if version in revisions:
                return execution["pipelineExecutionId"]
        return None

    return wait_until(
        started,
        f"the pipeline to start on source version {version}",
        timeout=lab.wait_budget(600),
        interval=lab.poll_interval,
        hint="A newer upload may have superseded it: look at pipeline.state(lab).",
    )


# -- following a release -------------------------------------------------------------------
@dataclass
class Release:
    """What an execution deployed."""

    execution_id: str
    source_version: str
    image_uri: str
    image_digest: str | None
    release_tag: str | None  # the image's own tag in ECR: release-<execution>
    task_definition: str
    seconds: float

    def summary(self) -> str:
        image = self.image_uri.split("/", 1)[-1]
        tagged = f", tagged {self.release_tag}" if self.release_tag else ""
        return (
            f"Released {image}{tagged} as task definition "
            f"{self.task_definition.rsplit('/', 1)[-1]} in {self.seconds:.0f} s "
            f"(execution {self.execution_id}, source version {self.source_version})."
        )


@dataclass
class _Watch:
    """What ``wait_for_release`` has shown so far."""

    shown: dict[str, tuple[str, str]] = field(default_factory=dict)  # stage -> (status, summary)
    build_id: str | None = None
    deployment: str | None = None


def _action_runs(lab: Lab, execution_id: str) -> dict[str, dict[str, Any]]:
    """The execution's action runs by stage (the latest run of each stage)."""
    codepipeline, found = lab.client("codepipeline"), {}
    pages = codepipeline.get_paginator("list_action_executions").paginate(
        pipelineName=Names.of(lab).pipeline, filter={"pipelineExecutionId": execution_id}
    )
    for page in pages:
        for detail in page["actionExecutionDetails"]:
            stage = detail["stageName"]
            if stage not in found or detail["startTime"] > found[stage]["startTime"]:
                found[stage] = detail
    return found


def _result(detail: dict[str, Any]) -> dict[str, Any]:
    return (detail.get("output") or {}).get("executionResult") or {}


def _build(lab: Lab, build_id: str | None) -> dict[str, Any] | None:
    if not build_id:
        return None
    builds = lab.client("codebuild").batch_get_builds(ids=[build_id]).get("builds", [])
    return builds[0] if builds else None


def _show_progress(lab: Lab, runs: dict[str, dict[str, Any]], watch: _Watch, tail: LogTail) -> None:
    """Each stage's state when it changes; the build's new log lines as they come."""
    for stage in STAGES:
        detail = runs.get(stage)
        if detail is None:
            continue
        result = _result(detail)
        summary = result.get("externalExecutionSummary") or ""
        if stage == "Build":
            watch.build_id = result.get("externalExecutionId") or watch.build_id
            summary = ""  # the build's own log lines say more
        if stage == "Deploy":
            watch.deployment = result.get("externalExecutionId") or watch.deployment
        state = (detail["status"], summary)
        if watch.shown.get(stage) != state:
            watch.shown[stage] = state
            show.note(f"{stage}: {detail['status']}" + (f" — {summary}" if summary else ""))
        if stage == "Build" and watch.build_id:
            logs = (_build(lab, watch.build_id) or {}).get("logs") or {}
            tail.stream(logs.get("groupName"), logs.get("streamName"))


def wait_for_release(lab: Lab, execution_id: str) -> Release:
    """Follow the execution: each stage's state as it changes and the build's log lines. When
    it succeeds, what was deployed; when it fails, a ``LabError`` naming the stage, quoting the
    log lines that show why and saying what to fix — and the previous version keeps serving."""
    codepipeline, names = lab.client("codepipeline"), Names.of(lab)
    tail, watch, started = LogTail(lab.client("logs")), _Watch(), time.monotonic()
    show.note(f"Following pipeline execution {execution_id}:")

    def ended() -> dict[str, Any] | None:
        execution = codepipeline.get_pipeline_execution(
            pipelineName=names.pipeline, pipelineExecutionId=execution_id
        )["pipelineExecution"]
        runs = _action_runs(lab, execution_id)
        _show_progress(lab, runs, watch, tail)
        if execution["status"] in _ENDED:
            return execution
        deploy = runs.get("Deploy")
        if watch.deployment and deploy and deploy["status"] == "InProgress":
            _stop_if_crashing(lab, execution_id, watch.deployment)
        return None

    execution = wait_until(
        ended,
        f"pipeline execution {execution_id} to finish",
        timeout=lab.wait_budget(3600),
        interval=lab.poll_interval,
        hint="pipeline.state(lab) shows where it is.",
        progress=False,  # the stages are the progress
    )
    if execution["status"] != "Succeeded":
        raise LabError(_failure(lab, execution, _action_runs(lab, execution_id)))
    release = _release(lab, execution, time.monotonic() - started)
    show.note(release.summary())
    return release


def _release(lab: Lab, execution: dict[str, Any], seconds: float) -> Release:
    ecs, names = lab.client("ecs"), service.Names.of(lab)
    described = ecs.describe_services(cluster=names.cluster, services=[names.service])
    task_definition = described["services"][0]["taskDefinition"]
    container = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"][
        "containerDefinitions"
    ][0]
    digest = problems.running_digest(lab, task_definition)
    execution_id = execution["pipelineExecutionId"]
    tag = problems.tag_release(lab, digest, f"release-{execution_id[:8]}") if digest else None
    revisions = execution.get("artifactRevisions") or [{}]
    return Release(
        execution_id=execution_id,
        source_version=revisions[0].get("revisionId", ""),
        image_uri=container["image"],
        image_digest=digest,
        release_tag=tag,
        task_definition=task_definition,
        seconds=seconds,
    )


def _failure(lab: Lab, execution: dict[str, Any], runs: dict[str, dict[str, Any]]) -> str:
    """Why ``execution`` did not deploy, and what to do about it."""
    status, execution_id = execution["status"], execution["pipelineExecutionId"]
    still = (
        f"The previous version keeps serving {lab.outputs.get_or('service.url', 'the service')}."
    )
    if status in ("Superseded", "Cancelled", "Stopped"):
        why = execution.get("statusSummary") or f"it was {status.lower()}"
        return (
            f"Pipeline execution {execution_id} did not deploy: {status} ({why}). A newer "
            f"upload is released by its own execution; pipeline.state(lab) shows it. {still}"
        )
    failed = next((runs[s] for s in STAGES if runs.get(s, {}).get("status") == "Failed"), None)
    summary = execution.get("statusSummary", "")
    if failed is None:
        return f"Pipeline execution {execution_id} {status}: {summary}. {still}"
    stage, result = failed["stageName"], _result(failed)
    error = (result.get("errorDetails") or {}).get("message") or summary
    head = f"The {stage} stage of pipeline execution {execution_id} failed: {error}\n"
    if stage == "Build":
        build = _build(lab, result.get("externalExecutionId")) or {}
        return head + problems.build_failure(lab, build) + f"\n{still}"
    if stage == "Source":
        advice = (
            f"The source action reads s3://{Names.of(lab).source_bucket}/{SOURCE_KEY}: rerun "
            "step 1 of 02b-pipeline if the bucket or the object is gone."
        )
        return head + advice + f"\n{still}"
    advice = (
        f"The deploy action reads {IMAGE_DEFINITIONS} from the build's output: buildspec.yml "
        f"must write it with the container name {service.CONTAINER_NAME} and list it under "
        "artifacts.files. " + problems.push_hint("buildspec.yml")
    )
    return head + advice + f"\n{still}"


def _stop_if_crashing(lab: Lab, execution_id: str, deployment: str) -> None:
    """New tasks that keep stopping during the deployment crash on start: stop the execution,
    roll the service back to what served before and raise a ``LabError`` quoting the task's
    log. (CodePipeline itself would wait DeploymentTimeout minutes.)"""
    crashed = problems.crash(lab, deployment)
    if crashed is None:
        return
    with contextlib.suppress(ClientError):  # it may have ended meanwhile: nothing to stop
        lab.client("codepipeline").stop_pipeline_execution(
            pipelineName=Names.of(lab).pipeline,
            pipelineExecutionId=execution_id,
            abandon=True,
            reason="the new tasks crash on start; the service was rolled back",
        )
    head = f"The Deploy stage of pipeline execution {execution_id} failed: "
    log_group = service.Names.of(lab).log_group
    try:
        previous = problems.roll_back(lab, deployment)
    except LabError as exc:
        raise LabError(head + crashed.describe(log_group) + f"\nNot rolled back: {exc}.") from None
    raise LabError(
        head
        + crashed.describe(log_group)
        + f"\nThe execution was stopped and the service rolled back to {previous}: the previous "
        f"version keeps serving {lab.outputs.get_or('service.url', '')}."
    )


# -- state, outputs, check ------------------------------------------------------------------
def state(lab: Lab) -> list[dict[str, str]]:
    """The pipeline's stages as GetPipelineState reports them: one row per stage."""
    found = lab.client("codepipeline").get_pipeline_state(name=Names.of(lab).pipeline)
    rows = []
    for stage in found["stageStates"]:
        latest = stage.get("latestExecution") or {}
        action = next(iter(stage.get("actionStates") or []), {}).get("latestExecution") or {}
        detail = (action.get("errorDetails") or {}).get("message") or action.get("summary") or ""
        rows.append(
            {
                "stage": stage["stageName"],
                "status": latest.get("status", "not run yet"),
                "execution": latest.get("pipelineExecutionId", "-"),
                "last action": detail if len(detail) <= 90 else detail[:89] + "…",
            }
        )
    return rows


def record(lab: Lab) -> dict[str, Any]:
    names = Names.of(lab)
    return lab.outputs.record(
        MODULE,
        {
            "pipeline.name": names.pipeline,
            "pipeline.source_bucket": names.source_bucket,
            "pipeline.source_key": SOURCE_KEY,
            "pipeline.artifacts_bucket": names.artifacts_bucket,
            "pipeline.project": names.project,
            "pipeline.log_group": names.log_group,
        },
    )


@dataclass
class ReleaseCheck:
    mysfit: str
    expected: dict[str, Any]
    through_nlb: dict[str, Any] | None
    through_site: dict[str, Any] | None
    api_source: str  # where the site's config.js sends the page
    stages: dict[str, str]
    backend: str  # what the source's settings.json chooses: "catalogue" or "table <name>"

    @property
    def reads_catalogue(self) -> bool:
        return not self.backend.startswith("table ")

    @property
    def deployed(self) -> bool:
        return all(self.stages.get(stage) == "Succeeded" for stage in STAGES)

    def _matches(self, found: dict[str, Any] | None) -> bool:
        return found is not None and all(found.get(k) == v for k, v in self.expected.items())

    @property
    def ok(self) -> bool:
        served = self._matches(self.through_nlb) and self._matches(self.through_site)
        if not self.reads_catalogue:  # module 03 moved the mysfits into DynamoDB
            served = self.through_nlb is not None and self.through_site is not None
        return self.deployed and served

    def _said(self, found: dict[str, Any] | None) -> str:
        if found is None:
            return f"no mysfit called {self.mysfit}"
        parts = []
        if "age" in self.expected:
            parts.append(f"is {found.get('age')}")
        if "description" in self.expected:
            text = str(found.get("description", ""))
            parts.append(f"is described as “{text if len(text) <= 60 else text[:59] + '…'}”")
        return f"{found.get('name', self.mysfit)} " + " and ".join(parts)

    def summary(self) -> str:
        stages = ", ".join(f"{s} {self.stages.get(s, '-')}" for s in STAGES)
        lines = [
            f"Latest pipeline execution: {stages}.",
            f"Through the load balancer: {self._said(self.through_nlb)}.",
            f"Through the site (config.js → {self.api_source}): {self._said(self.through_site)}.",
        ]
        if not self.reads_catalogue:
            lines.append(
                f"The service reads DynamoDB ({self.backend}): its mysfits come from the table "
                "of 03-data, not from the catalogue file."
            )
        return "\n".join(lines)


def _find(url: str, name: str, timeout: float) -> dict[str, Any] | None:
    listing = requests.get(f"{url.rstrip('/')}/mysfits", timeout=timeout)
    listing.raise_for_status()
    wanted = name.lower()
    return next((m for m in listing.json()["mysfits"] if m["name"].lower() == wanted), None)


def _which_api(lab: Lab, api: str, service_url: str) -> str:
    if api == service_url:
        return "the load balancer"
    if api and api == (lab.outputs.get_or("api.url") or "").rstrip("/"):
        return "API Gateway"  # module 04 puts its REST API in front of the load balancer
    return api or "no API"


def _backend(lab: Lab) -> str:
    current = current_source(lab)
    files = service_bundle.zip_files(current) if current else {}
    try:
        settings = json.loads(files.get(SETTINGS, b"{}"))
    except ValueError:
        return "unknown"
    backend = settings.get("backend", "catalogue")
    return f"table {settings.get('table', '?')}" if backend == "dynamodb" else str(backend)


def check(
    lab: Lab,
    mysfit_name: str,
    age: int | None = None,
    description: str | None = None,
    timeout: float = 10.0,
) -> ReleaseCheck:
    """Whether the change is live: the API through the load balancer and the page's own path
    (its config.js names the API) serve the mysfit with its new values, and every stage of the
    latest execution succeeded."""
    expected: dict[str, Any] = {}
    if age is not None:
        expected["age"] = age
    if description is not None:
        expected["description"] = description
    service_url = lab.outputs.get("service.url").rstrip("/")
    site_url = lab.outputs.get("website.url").rstrip("/")
    config = website.parse_config(
        requests.get(f"{site_url}/{website.CONFIG_KEY}", timeout=timeout).text
    )
    api = (config.get("mysfitsApiEndpoint") or "").rstrip("/")
    latest = _executions(lab)[:1]
    stages = (
        {s: d["status"] for s, d in _action_runs(lab, latest[0]["pipelineExecutionId"]).items()}
        if latest
        else {}
    )
    return ReleaseCheck(
        mysfit=mysfit_name,
        expected=expected,
        through_nlb=_find(service_url, mysfit_name, timeout),
        through_site=_find(api, mysfit_name, timeout) if api else None,
        api_source=_which_api(lab, api, service_url),
        stages=stages,
        backend=_backend(lab),
    )


# -- whole module ---------------------------------------------------------------------------
def build(lab: Lab) -> dict[str, Any]:
    create_buckets(lab)
    upload_first_source(lab)
    allow_build_to_push(lab)
    create_build_project(lab)
    first = create_pipeline(lab)
    if first:
        wait_for_release(lab, first)
    return record(lab)


def is_built(lab: Lab) -> bool:
    if not lab.outputs.get_or("pipeline.name"):
        return False
    try:
        return _get_pipeline(lab) is not None and current_source(lab) is not None
    except ClientError:
        return False


def teardown(lab: Lab) -> list[str]:
    """Remove the pipeline, its build project, log group, ECR statement and both buckets
    (every object version first). The service keeps running its last release."""
    names, removed = Names.of(lab), []
    if _get_pipeline(lab) is not None:
        lab.client("codepipeline").delete_pipeline(name=names.pipeline)
        removed.append(f"pipeline {names.pipeline}")
    codebuild = lab.client("codebuild")
    if codebuild.batch_get_projects(names=[names.project]).get("projects"):
        codebuild.delete_project(name=names.project)
        removed.append(f"CodeBuild project {names.project}")
    removed += _remove_ecr_statement(lab)
    try:
        lab.client("logs").delete_log_group(logGroupName=names.log_group)
        removed.append(f"log group {names.log_group}")
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    for purpose in (SOURCE_PURPOSE, ARTIFACTS_PURPOSE):
        if bucket_exists(lab, lab.bucket_name(purpose)):
            removed += delete_bucket(lab, purpose)
    lab.outputs.forget(
        "pipeline.name",
        "pipeline.source_bucket",
        "pipeline.source_key",
        "pipeline.artifacts_bucket",
        "pipeline.project",
        "pipeline.log_group",
    )
    return removed


def _remove_ecr_statement(lab: Lab) -> list[str]:
    ecr, repository = lab.client("ecr"), service.Names.of(lab).repository
    try:
        policy = json.loads(ecr.get_repository_policy(repositoryName=repository)["policyText"])
    except ClientError:
        return []  # no repository (02a torn down) or no policy
    kept = [s for s in policy.get("Statement", []) if s.get("Sid") != _ECR_SID]
    if len(kept) == len(policy.get("Statement", [])):
        return []
    if kept:
        ecr.set_repository_policy(
            repositoryName=repository, policyText=json.dumps(policy | {"Statement": kept})
        )
    else:
        ecr.delete_repository_policy(repositoryName=repository)
    return [f"ECR policy statement {_ECR_SID} on {repository}"]
