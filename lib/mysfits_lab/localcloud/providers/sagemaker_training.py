"""SageMaker training jobs that really train the built-in k-NN algorithm.

moto records the job (so List/Tags work) but reports it Completed at once without training.
Here a worker thread runs the job through SageMaker's phases — Starting, Downloading, Training,
Uploading — reading the channels from S3, training ``mysfits_lab.recommender`` and uploading a
real ``model.tar.gz``; its log goes to CloudWatch Logs where the SageMaker SDK tails it
(``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-1-<epoch seconds>``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.sagemaker")

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# The built-in algorithm's image in every region: <registry account>.dkr.ecr.<region>...
KNN_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/knn:(1|latest)$")
# What AWS reports for the built-in k-NN; the SDK and the console parse the log with these.
KNN_METRIC_DEFINITIONS = [
    {"Name": "test:mse", "Regex": r"#quality_metric: host=\S+, test mse <score>=(\S+)"},
    {"Name": "test:accuracy", "Regex": r"#quality_metric: host=\S+, test accuracy <score>=(\S+)"},
]
KNN_CHANNELS = ("train", "test")
DEFAULT_CHANNEL_CONTENT_TYPE = "application/x-recordio-protobuf"
# A short pause between phases, so that a notebook polling the job sees it InProgress.
PHASE_PAUSE = 0.15
HOST = "algo-1"


class JobFailure(Exception):
    """Ends a job as Failed; the message is the FailureReason."""


class JobStopped(Exception):
    """Ends a job as Stopped (StopTrainingJob, or the local cloud shutting down)."""


def knn_image_hint(region: str) -> str:
    return f"<account>.dkr.ecr.{region}.amazonaws.com/knn:1"


def is_knn_image(image: str | None) -> bool:
    return bool(image) and KNN_IMAGE.match(image or "") is not None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class CloudWatchLog:
    """One log stream, written line by line (the SDK tails it while the job runs)."""

    def __init__(self, client: Any, group: str, stream: str):
        self.client, self.group, self.stream = client, group, stream
        self.ok = True
        try:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=group)
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
        except (ClientError, BotoCoreError) as exc:
            log.warning("cannot create log stream %s/%s: %s", group, stream, exc)
            self.ok = False

    def write(self, message: str) -> None:
        if not self.ok:
            return
        event = {"timestamp": int(time.time() * 1000), "message": message}
        try:
            self.client.put_log_events(
                logGroupName=self.group, logStreamName=self.stream, logEvents=[event]
            )
        except (ClientError, BotoCoreError) as exc:  # a deleted group must not fail the job
            log.debug("dropping log event for %s/%s: %s", self.group, self.stream, exc)


def algorithm_line(message: str) -> str:
    """A log line in the built-in algorithms' format: ``[MM/DD/YYYY HH:MM:SS INFO tid] ...``."""
    stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
    return f"[{stamp} INFO {threading.get_ident()}] {message}"


# -- job state ------------------------------------------------------------------------------
@dataclass
class TrainingJob:
    """The truth about one training job; overlaid on moto's description."""

    name: str
    region: str
    request: dict[str, Any]
    created: float = field(default_factory=time.time)
    status: str = "InProgress"
    secondary: str = "Starting"
    transitions: list[dict[str, Any]] = field(default_factory=list)
    start_time: float | None = None
    end_time: float | None = None
    failure_reason: str | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    model_artifact: str | None = None
    last_modified: float = field(default_factory=time.time)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.transitions.append(
            {
                "Status": "Starting",
                "StartTime": self.created,
                "StatusMessage": "Launching requested ML instances",
            }
        )

    @property
    def image(self) -> str | None:
        return self.request.get("AlgorithmSpecification", {}).get("TrainingImage")

    @property
    def output_path(self) -> str:
        return self.request.get("OutputDataConfig", {}).get("S3OutputPath", "").rstrip("/")

    @property
    def artifact_uri(self) -> str:
        return f"{self.output_path}/{self.name}/output/model.tar.gz"

    def enter(self, secondary: str, message: str) -> None:
        """Move to a new secondary status (or just update the message of the current one)."""
        now = time.time()
        with self.lock:
            if self.stop_requested.is_set():
                return  # Stopping stays the last transition until the worker stops
            current = self.transitions[-1]
            if current["Status"] == secondary:
                current["StatusMessage"] = message
            else:
                current["EndTime"] = now
                self.transitions.append(
                    {"Status": secondary, "StartTime": now, "StatusMessage": message}
                )
                self.secondary = secondary
            if secondary == "Downloading" and self.start_time is None:
                self.start_time = now
            self.last_modified = now

    def finish(
        self,
        status: str,
        message: str,
        failure_reason: str | None = None,
        artifact: str | None = None,
    ) -> None:
        now = time.time()
        with self.lock:
            self.model_artifact = artifact
            current = self.transitions[-1]
            current["EndTime"] = now
            self.transitions.append(
                {"Status": status, "StartTime": now, "EndTime": now, "StatusMessage": message}
            )
            self.status = self.secondary = status
            self.failure_reason = failure_reason
            self.end_time = now
            if self.start_time is None:
                self.start_time = now
            self.last_modified = now

    def request_stop(self) -> None:
        now = time.time()
        with self.lock:
            self.stop_requested.set()
            self.transitions[-1]["EndTime"] = now
            stopping = {"Status": "Stopping", "StartTime": now}
            self.transitions.append(stopping | {"StatusMessage": "Stopping the training job"})
            self.status = self.secondary = "Stopping"
            self.last_modified = now

    def describe(self, moto: dict[str, Any]) -> dict[str, Any]:
        """moto's DescribeTrainingJob answer with the real state written over it."""
        with self.lock:
            out = dict(moto)
            out["TrainingJobStatus"] = self.status
            out["SecondaryStatus"] = self.secondary
            out["SecondaryStatusTransitions"] = [dict(t) for t in self.transitions]
            out["LastModifiedTime"] = self.last_modified
            optional = {
                "TrainingStartTime": self.start_time,
                "TrainingEndTime": self.end_time,
                "FailureReason": self.failure_reason,
                "FinalMetricDataList": [dict(m) for m in self.metrics] or None,
                "ModelArtifacts": (
                    {"S3ModelArtifacts": self.model_artifact} if self.model_artifact else None
                ),
            }
            if self.start_time is not None and self.end_time is not None:
                seconds = max(1, round(self.end_time - self.start_time))
                optional["TrainingTimeInSeconds"] = seconds
                optional["BillableTimeInSeconds"] = seconds
            for key, value in optional.items():
                if value is None:
                    out.pop(key, None)
                else:
                    out[key] = value
            spec = dict(out.get("AlgorithmSpecification", {}))
            if is_knn_image(spec.get("TrainingImage")):
                spec["MetricDefinitions"] = KNN_METRIC_DEFINITIONS
            else:
                spec.pop("MetricDefinitions", None)  # moto invents a "test:dcg" definition
            out["AlgorithmSpecification"] = spec
            # AWS always reports the (possibly empty) KMS key; the SDK's Estimator.attach reads it.
            out["OutputDataConfig"] = {"KmsKeyId": ""} | dict(out.get("OutputDataConfig", {}))
            return out

    def summary(self, moto: dict[str, Any]) -> dict[str, Any]:
        """A ListTrainingJobs entry with the real status."""
        with self.lock:
            out = dict(moto)
            out["TrainingJobStatus"] = self.status
            out["LastModifiedTime"] = self.last_modified
            if self.end_time is None:
                out.pop("TrainingEndTime", None)
            else:
                out["TrainingEndTime"] = self.end_time
            return out

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "status": self.status,
                "secondary_status": self.secondary,
                "failure_reason": self.failure_reason,
                "metrics": {m["MetricName"]: m["Value"] for m in self.metrics},
                "model": self.model_artifact,
            }


# -- the worker -----------------------------------------------------------------------------
class TrainingRun:
    """Runs one job to its end state on a worker thread."""

    def __init__(self, cloud: LocalCloud, job: TrainingJob, shutting_down: threading.Event):
        self.cloud, self.job, self.shutting_down = cloud, job, shutting_down
        self.log: CloudWatchLog | None = None
        self.work_dir = Path(cloud.state_dir) / "sagemaker" / "training" / job.name

    def client(self, service: str) -> Any:
        return self.cloud.client(service, self.job.region)

    def say(self, message: str) -> None:
        if self.log is not None:
            self.log.write(algorithm_line(message))

    def checkpoint(self, pause: float = PHASE_PAUSE) -> None:
        """Pause between phases; a stop request (or shutdown) ends the job here."""
        if self.job.stop_requested.wait(pause) or self.shutting_down.is_set():
            raise JobStopped

    def __call__(self) -> None:
        job = self.job
        try:
            self.run()
        except JobStopped:
            job.finish("Stopped", "Training job stopped")
            log.info("training job %s stopped", job.name)
        except JobFailure as failure:
            reason = str(failure)
            if self.log is not None:
                self.log.write(algorithm_line(reason).replace(" INFO ", " ERROR ", 1))
            job.finish("Failed", "Training job failed", failure_reason=reason)
            log.info("training job %s failed: %s", job.name, reason)
        except Exception as exc:  # a bug here must still end the job, as AWS would
            log.exception("training job %s crashed", job.name)
            job.finish(
                "Failed",
                "Training job failed",
                failure_reason=f"InternalServerError: We encountered an internal error: {exc}",
            )
        finally:
            with contextlib.suppress(OSError):
                for path in self.work_dir.glob("*"):
                    path.unlink()
                self.work_dir.rmdir()

    def run(self) -> None:
        job = self.job
        self.checkpoint()
        job.enter("Starting", "Preparing the instances for training")
        if not is_knn_image(job.image):
            raise JobFailure(
                f"ClientError: The training image {job.image or '(none)'} is not supported by the "
                "local cloud; it runs the built-in k-NN algorithm only "
                f"({knn_image_hint(job.region)})"
            )
        self.checkpoint()
        job.enter("Downloading", "Downloading input data")
        blobs = {
            channel["ChannelName"]: self.download(channel)
            for channel in job.request.get("InputDataConfig", [])
        }
        self.checkpoint()
        job.enter("Training", "Downloading the training image")
        self.checkpoint()
        job.enter("Training", "Training image download completed. Training in progress.")
        self.log = CloudWatchLog(
            self.client("logs"), TRAINING_LOG_GROUP, f"{job.name}/{HOST}-{int(time.time())}"
        )
        model = self.train(blobs)
        self.checkpoint()
        job.enter("Uploading", "Uploading generated training model")
        self.upload(model)
        self.checkpoint()
        job.finish("Completed", "Training job completed", artifact=job.artifact_uri)
        log.info("training job %s completed", job.name)

    # -- Downloading ----------------------------------------------------------------------
    def download(self, channel: dict[str, Any]) -> list[bytes]:
        """The objects of one channel, in key order (gzip-decompressed if so declared)."""
        name = channel.get("ChannelName", "?")
        source = channel.get("DataSource", {}).get("S3DataSource")
        if not source:
            raise JobFailure(
                f"ClientError: Channel {name}: only S3DataSource is supported for the built-in "
                "k-NN algorithm on this cloud"
            )
        uri, data_type = source.get("S3Uri", ""), source.get("S3DataType", "S3Prefix")
        try:
            bucket, key = parse_s3_uri(uri)
        except ValueError as exc:
            raise JobFailure(f"ClientError: Channel {name}: {exc}") from None
        s3 = self.client("s3")
        if data_type == "S3Prefix":
            locations = [(bucket, k) for k in self._list(s3, bucket, key, uri)]
        elif data_type == "ManifestFile":
            locations = self._manifest(s3, bucket, key, uri)
        else:
            raise JobFailure(
                f"ClientError: Channel {name}: S3DataType {data_type} is not supported by the "
                "built-in k-NN algorithm (use S3Prefix or ManifestFile)"
            )
        blobs = [self._get(s3, b, k) for b, k in locations]
        if channel.get("CompressionType") == "Gzip":
            try:
                blobs = [gzip.decompress(blob) for blob in blobs]
            except (OSError, EOFError) as exc:
                raise JobFailure(
                    f"ClientError: Channel {name} is declared Gzip but cannot be decompressed: "
                    f"{exc}"
                ) from None
        return blobs

    def _no_objects(self, uri: str, bucket: str) -> JobFailure:
        role = self.job.request.get("RoleArn", "")
        return JobFailure(
            f'ClientError: Data download failed: No S3 objects found under S3 URL "{uri}" given '
            "in input data source. Please ensure that the bucket exists in the selected region "
            f"({self.job.region}), that objects exist under that S3 prefix, and that the role "
            f'"{role}" has "s3:ListBucket" permissions on bucket "{bucket}".'
        )

    def _list(self, s3: Any, bucket: str, prefix: str, uri: str) -> list[str]:
        keys: list[str] = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                # Zero-byte "folder/" keys are console placeholders, not data.
                keys.extend(o["Key"] for o in page.get("Contents", []) if o["Key"][-1:] != "/")
        except ClientError:
            raise self._no_objects(uri, bucket) from None
        if not keys:
            raise self._no_objects(uri, bucket)
        return sorted(keys)

    def _manifest(self, s3: Any, bucket: str, key: str, uri: str) -> list[tuple[str, str]]:
        """``[{"prefix": "s3://b/p/"}, "relative/key", ...]``, as the SDK's record_set writes."""
        try:
            entries = json.loads(self._get(s3, bucket, key))
            prefix_uri = entries[0]["prefix"]
            prefix_bucket, prefix = parse_s3_uri(prefix_uri)
            relative = [str(entry) for entry in entries[1:]]
        except (ValueError, LookupError, TypeError) as exc:
            raise JobFailure(
                f"ClientError: Data download failed: the manifest file {uri} is not a JSON list "
                f'starting with {{"prefix": "s3://..."}} followed by keys ({exc})'
            ) from None
        if not relative:
            raise self._no_objects(prefix_uri, prefix_bucket)
        return [(prefix_bucket, prefix + rel) for rel in relative]

    def _get(self, s3: Any, bucket: str, key: str) -> bytes:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise JobFailure(
                f"ClientError: Data download failed: cannot read s3://{bucket}/{key}: "
                f"{exc.response.get('Error', {}).get('Code', exc)}"
            ) from None

    # -- Training -------------------------------------------------------------------------
    def train(self, blobs: dict[str, list[bytes]]) -> Any:
        from mysfits_lab.recommender import (
            DataError,
            HyperparameterError,
            evaluate,
            parse_hyperparameters,
        )
        from mysfits_lab.recommender import train as knn_train

        job = self.job
        raw = job.request.get("HyperParameters", {})
        self.say(
            "Reading provided configuration from /opt/ml/input/config/hyperparameters.json: "
            + json.dumps(raw, sort_keys=True)
        )
        try:
            hp = parse_hyperparameters(raw)
        except HyperparameterError as exc:
            raise JobFailure(
                f"ClientError: Unable to initialize the algorithm. Invalid hyperparameters: {exc}"
            ) from None
        self.say("Final configuration: " + json.dumps(hp.to_strings(), sort_keys=True))
        unknown = sorted(set(blobs) - set(KNN_CHANNELS))
        if "train" not in blobs or unknown:
            given = ", ".join(sorted(blobs)) or "none"
            raise JobFailure(
                "ClientError: Unable to initialize the algorithm. The k-NN algorithm takes a "
                f"required 'train' channel and an optional 'test' channel (channels given: {given})"
            )
        channels = {c["ChannelName"]: c for c in job.request.get("InputDataConfig", [])}
        data = {}
        for name in KNN_CHANNELS:
            if name not in blobs:
                continue
            content_type = channels[name].get("ContentType") or DEFAULT_CHANNEL_CONTENT_TYPE
            started = time.monotonic()
            try:
                data[name] = self._read_channel(blobs[name], content_type)
            except DataError as exc:
                # The reader words its errors for the train channel; name the right one.
                message = str(exc).replace("train channel", f"{name} channel")
                raise JobFailure(
                    f"ClientError: Unable to read the {name} channel: {message}"
                ) from None
            features, _labels = data[name]
            self.say(
                f"Channel {name}: read {len(features)} records with {features.shape[1]} features "
                f"from {len(blobs[name])} file(s) ({sum(map(len, blobs[name]))} bytes, "
                f"{content_type}) in {time.monotonic() - started:.2f} s"
            )
        features, labels = data["train"]
        started = time.monotonic()
        try:
            model = knn_train(hp, features, labels, seed=0, log=self.say)
        except DataError as exc:
            raise JobFailure(f"ClientError: {exc}") from None
        self.say(f"Index built in {time.monotonic() - started:.2f} s")
        if "test" in data:
            self._score(hp, model, *data["test"], evaluate)
        return model

    def _read_channel(self, blobs: list[bytes], content_type: str) -> Any:
        from mysfits_lab.recommender import read_training_channel

        return read_training_channel(blobs, content_type)

    def _score(self, hp: Any, model: Any, features: Any, labels: Any, evaluate: Callable) -> None:
        if features.shape[1] != hp.feature_dim:
            raise JobFailure(
                f"ClientError: feature_dim is {hp.feature_dim} but the test channel has "
                f"{features.shape[1]} columns per record"
            )
        started = time.monotonic()
        scores = evaluate(model, features, labels)
        metric, value = next(iter(scores.items()))
        self.say(
            f"Test {metric} {value:.6f} on {len(features)} records "
            f"(scored in {time.monotonic() - started:.2f} s)"
        )
        self.say(f"#quality_metric: host={HOST}, test {metric} <score>={value}")
        with self.job.lock:
            self.job.metrics = [
                {"MetricName": f"test:{metric}", "Value": float(value), "Timestamp": time.time()}
            ]

    # -- Uploading ------------------------------------------------------------------------
    def upload(self, model: Any) -> None:
        target = self.job.artifact_uri
        path = model.to_tarball(self.work_dir / "model.tar.gz")
        try:
            bucket, key = parse_s3_uri(target)
            self.client("s3").upload_file(str(path), bucket, key)
        except (ValueError, ClientError, BotoCoreError) as exc:
            raise JobFailure(
                f"ClientError: Unable to upload the model artifact to {target}: {exc}"
            ) from None
        self.say(f"Saved the model to {target} ({path.stat().st_size} bytes)")
