"""What an action does when it runs: the S3 source and CodeBuild actions here, the ECS deploy
action in ``ecs_deploy.py``. Each runner gets a ``Job`` and works through the AWS APIs of this
cloud, as CodePipeline's own workers do; it fails with ``ActionFailed`` and a message that says
what went wrong.

Artifacts travel as on AWS: zips in the pipeline's artifact store under
``<pipeline name, 20 chars>/<artifact name, 10 chars>/<7 random chars>``.
"""

from __future__ import annotations

import io
import secrets
import string
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ...core.changes import Changes
from ...core.clock import Clock
from .definition import environment_variables
from .models import ActionRun, Location

POLL_SECONDS = 0.5  # the longest wait between two reads: for changes nobody announces
CANCEL_SECONDS = 0.1  # how soon a waiting job notices that it was abandoned
_KEY_ALPHABET = string.ascii_letters + string.digits


class ActionFailed(Exception):
    def __init__(self, message: str, code: str = "JobFailed"):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Job:
    """One action run: its record (changed only through ``report``), the execution's input
    artifacts, where its outputs go, and the clients of the action's region."""

    run: ActionRun
    pipeline: str
    store: str  # the artifact bucket
    pinned: str | None  # a source action's S3 version id, from the change that started it
    client: Callable[[str], Any]
    clock: Clock
    report: Callable[..., None]  # report(summary=..., outputs=..., ...): update the record
    cancelled: Callable[[], bool]  # abandoned: stop watching and return
    changes: Changes  # what the build or the deployment a runner follows announces
    _seen: int = field(init=False)

    def __post_init__(self) -> None:
        self._seen = self.changes.count()

    def wait(self, seconds: float = POLL_SECONDS) -> None:
        """Until the cloud changed since the last wait (a build ended, a deployment moved on),
        ``seconds`` passed or the job was abandoned: then the runner reads its state again."""
        deadline = self.clock.monotonic() + seconds
        while not self.cancelled():
            left = deadline - self.clock.monotonic()
            if left <= 0 or self.changes.wait(self._seen, min(CANCEL_SECONDS, left)):
                break
        self._seen = self.changes.count()


def artifact_key(pipeline: str, artifact: str) -> str:
    suffix = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(7))
    return f"{pipeline[:20]}/{artifact[:10]}/{suffix}"


def aws_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")


def read_artifact_file(s3: Any, location: Location, file_name: str) -> bytes:
    """One file of an input artifact (a zip in the artifact store)."""
    name, bucket, key = location
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise ActionFailed(
            f"cannot read input artifact {name} (s3://{bucket}/{key}): {aws_error(exc)}"
        ) from None
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ActionFailed(f"input artifact {name} (s3://{bucket}/{key}) is not a zip file")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = {n.removeprefix("./"): n for n in archive.namelist()}
        if file_name not in names:
            raise ActionFailed(
                f"{file_name} was not found in input artifact {name}: the build's "
                f"buildspec must list it in artifacts.files (found: {sorted(names)[:10]})"
            )
        return archive.read(names[file_name])


# -- Source: Amazon S3 -------------------------------------------------------------------------
def s3_source(job: Job) -> None:
    """Copy the source object's version (the one that started the execution, else the latest)
    into the artifact store as the action's output artifact."""
    config = job.run.spec.configuration
    bucket, key = config["S3Bucket"], config["S3ObjectKey"]
    s3 = job.client("s3")
    try:
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as exc:
        raise ActionFailed(f"cannot read source bucket {bucket}: {aws_error(exc)}") from None
    if versioning != "Enabled":
        raise ActionFailed(
            f"The source bucket {bucket} does not have versioning enabled: an Amazon S3 source "
            "action needs a versioned bucket (PutBucketVersioning with Status=Enabled)"
        )
    extra = {"VersionId": job.pinned} if job.pinned else {}
    try:
        head = s3.head_object(Bucket=bucket, Key=key, **extra)
    except ClientError:
        which = f" (version {job.pinned})" if job.pinned else ""
        raise ActionFailed(
            f"The object with key '{key}'{which} does not exist in bucket {bucket}"
        ) from None
    version, etag = head.get("VersionId") or "", str(head.get("ETag", "")).strip('"')
    [output] = job.run.spec.outputs
    target = artifact_key(job.pipeline, output)
    try:
        s3.copy_object(
            Bucket=job.store,
            Key=target,
            CopySource={"Bucket": bucket, "Key": key, "VersionId": version},
        )
    except ClientError as exc:
        raise ActionFailed(
            f"cannot write artifact {output} to the artifact store s3://{job.store}: "
            f"{aws_error(exc)}"
        ) from None
    summary = (head.get("Metadata") or {}).get("codepipeline-artifact-revision-summary")
    job.report(
        outputs=[(output, job.store, target)],
        external_id=version,
        summary=f"Amazon S3 version id: {version}",
        variables={"ETag": etag, "VersionId": version},
        revision={
            "revisionId": version,
            "revisionChangeId": etag,
            "created": head.get("LastModified"),
        },
        execution_revision={
            "name": output,
            "revisionId": version,
            "revisionChangeIdentifier": etag,
            "revisionSummary": summary,
            "created": head.get("LastModified"),
        },
    )


# -- Build/Test: AWS CodeBuild -----------------------------------------------------------------
def codebuild(job: Job) -> None:
    """Start the project's build on the input artifact (whatever the project's own source and
    artifacts settings, as CodePipeline does) and follow it to its end."""
    spec, config = job.run.spec, job.run.spec.configuration
    primary = config.get("PrimarySource") or job.run.inputs[0][0]
    source = next((loc for loc in job.run.inputs if loc[0] == primary), None)
    if source is None:
        raise ActionFailed(f"PrimarySource {primary} is not an input artifact of {spec.name}")
    if len(spec.outputs) > 1:
        raise ActionFailed("the local cloud's CodeBuild writes one output artifact per build")
    params: dict[str, Any] = {
        "projectName": config["ProjectName"],
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": f"{source[1]}/{source[2]}",
        "artifactsOverride": {"type": "NO_ARTIFACTS"},
    }
    outputs = [(name, job.store, artifact_key(job.pipeline, name)) for name in spec.outputs]
    if outputs:
        path, _, leaf = outputs[0][2].rpartition("/")
        params["artifactsOverride"] = {
            "type": "S3",
            "location": job.store,
            "path": path,
            "name": leaf,
            "packaging": "ZIP",
            "namespaceType": "NONE",
        }
    variables = environment_variables(config)
    if variables:
        params["environmentVariablesOverride"] = variables
    builds = job.client("codebuild")
    try:
        build = builds.start_build(**params)["build"]
    except ClientError as exc:
        raise ActionFailed(
            f"could not start a build of project {config['ProjectName']}: {aws_error(exc)}"
        ) from None
    job.report(external_id=build["id"], external_url=build_url(job.run.region, build["id"]))
    while not build.get("buildComplete"):
        job.wait()
        if job.cancelled():
            return  # abandoned: the build goes on without the pipeline, as on AWS
        build = builds.batch_get_builds(ids=[build["id"]])["builds"][0]
    job.report(log_stream_arn=(build.get("logs") or {}).get("cloudWatchLogsArn"))
    if build["buildStatus"] != "SUCCEEDED":
        raise ActionFailed(build_failure(build))
    job.report(outputs=outputs, summary=f"Build {build['id']} succeeded")


def build_url(region: str, build_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codebuild/projects/"
        f"{build_id.split(':', 1)[0]}/build/{build_id}"
    )


def build_failure(build: dict[str, Any]) -> str:
    """CodePipeline's message for a build that did not succeed, naming its failed phase."""
    text = f"Build terminated with state: {build.get('buildStatus')}."
    failed = next(
        (p for p in build.get("phases") or [] if p.get("phaseStatus") not in (None, "SUCCEEDED")),
        None,
    )
    if failed is not None:
        context = (failed.get("contexts") or [{}])[0]
        text += (
            f" Phase: {failed['phaseType']}, Code: {context.get('statusCode', '')}, "
            f"Message: {context.get('message', '')}"
        )
    return f"{text} (build {build.get('id')})"
