"""Training jobs that really train the built-in k-NN algorithm.

A worker thread runs each job through SageMaker's phases — Starting, Downloading, Training,
Uploading — reading the channels from S3, training ``mysfits_lab.recommender`` and uploading a
real ``model.tar.gz``. Its log goes to CloudWatch Logs where the SageMaker SDK tails it
(``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-1-<epoch seconds>``).

The worker never pauses for show: it leaves a state as soon as its work is done and a
DescribeTrainingJob has shown that state, so a poller meets every state in order. When nobody
polls, a job waits at most ``HOLD_BUDGET`` seconds in all for that.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ...core.logs import LogStream
from ...core.provider import Context
from .algorithm import (
    DEFAULT_CHANNEL_CONTENT_TYPE,
    HOST,
    KNN_CHANNELS,
    algorithm_line,
    is_knn_image,
    knn_image_hint,
)
from .channels import ChannelReader, parse_s3_uri
from .models import JobFailure, TrainingJob

log = logging.getLogger("mysfits_lab.localcloud.sagemaker")

TRAINING_THREADS = 2
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# The most a job waits, over all its states, for a DescribeTrainingJob to show the state it is
# about to leave (a poller then sees it; without one, little time is lost).
HOLD_BUDGET = 0.5
FAILED = "Training job failed"


class JobStopped(Exception):
    """Ends a job as Stopped (StopTrainingJob, or the local cloud shutting down)."""


class TrainingEngine:
    """The training jobs of this cloud, run on a pool of ``TRAINING_THREADS`` threads."""

    def __init__(self, ctx: Context, workdir: Path):
        self.ctx = ctx
        self.workdir = workdir
        self._jobs: dict[tuple[str, str], TrainingJob] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(TRAINING_THREADS, thread_name_prefix="sm-training")

    def get(self, region: str, name: str) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get((region, name))

    def all(self) -> list[TrainingJob]:
        with self._lock:
            return list(self._jobs.values())

    def start(self, job: TrainingJob) -> None:
        with self._lock:
            self._jobs[(job.region, job.name)] = job
        run = TrainingRun(self.ctx, job, self.workdir / job.name, self._stopping)
        self._pool.submit(run)
        log.info("training job %s started", job.name)

    def stop(self) -> None:
        """Running jobs end as Stopped at their next checkpoint; queued ones never start."""
        self._stopping.set()
        for job in self.all():
            job.wake()  # a worker waiting to be seen checks ``_stopping`` now
        self._pool.shutdown(wait=False, cancel_futures=True)


class TrainingRun:
    """Runs one job to its end state (called on a worker thread)."""

    def __init__(self, ctx: Context, job: TrainingJob, workdir: Path, stopping: threading.Event):
        self.ctx, self.job, self.workdir, self.stopping = ctx, job, workdir, stopping
        self.log: LogStream | None = None
        self.held = 0.0  # seconds spent waiting for a poller, out of HOLD_BUDGET

    def __call__(self) -> None:
        job = self.job
        end: dict[str, Any]
        try:
            artifact = self.run()
            end = {"status": "Completed", "message": "Training job completed", "artifact": artifact}
        except JobStopped:
            end = {"status": "Stopped", "message": "Training job stopped"}
        except JobFailure as failure:
            self.say(str(failure), level="ERROR")
            end = {"status": "Failed", "message": FAILED, "failure_reason": str(failure)}
        except Exception as exc:  # a bug here must still end the job, as AWS would
            log.exception("training job %s crashed", job.name)
            reason = f"InternalServerError: We encountered an internal error: {exc}"
            end = {"status": "Failed", "message": FAILED, "failure_reason": reason}
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if end["status"] == "Failed":
            self.hold()  # a poller sees the job InProgress before it fails
        if self.log is not None:
            self.log.flush()  # whoever sees the job end reads its whole log next
        job.finish(now=self.ctx.clock.now(), **end)
        log.info("training job %s: %s %s", job.name, job.status, job.failure_reason or "")

    def say(self, message: str, level: str = "INFO") -> None:
        if self.log is not None:
            self.log.write(algorithm_line(message, level))

    def checkpoint(self) -> None:
        """A stop request (or the cloud stopping) ends the job here."""
        if self.job.stop_requested.is_set() or self.stopping.is_set():
            raise JobStopped

    def hold(self) -> None:
        """Stay in the current state until a DescribeTrainingJob has shown it, or for what is
        left of the job's HOLD_BUDGET; a stop request ends the wait."""
        remaining = HOLD_BUDGET - self.held
        if remaining <= 0:
            return
        started = self.ctx.clock.monotonic()
        self.job.wait_seen(remaining, self.stopping.is_set)
        self.held += self.ctx.clock.monotonic() - started

    def enter(self, secondary: str, message: str) -> None:
        """Move to ``secondary`` (once the state being left was seen), or update the message."""
        if secondary != self.job.secondary:
            self.hold()
        self.checkpoint()
        self.job.enter(secondary, message, self.ctx.clock.now())

    def run(self) -> str:
        """The phases; returns the model artifact's URI."""
        job = self.job
        self.enter("Starting", "Preparing the instances for training")
        if not is_knn_image(job.image):
            raise JobFailure(
                f"ClientError: The training image {job.image or '(none)'} is not supported by the "
                "local cloud; it runs the built-in k-NN algorithm only "
                f"({knn_image_hint(job.region)})"
            )
        self.enter("Downloading", "Downloading input data")
        reader = ChannelReader(
            self.ctx.client("s3", job.region), job.region, job.request.get("RoleArn", "")
        )
        blobs = {name: reader.read(channel) for name, channel in job.channels.items()}
        self.enter("Training", "Downloading the training image")
        self.enter("Training", "Training image download completed. Training in progress.")
        self.log = self.open_log()
        model = self.train(blobs)
        self.enter("Uploading", "Uploading generated training model")
        self.upload(model)
        self.hold()
        self.checkpoint()
        return job.artifact_uri

    def open_log(self) -> LogStream | None:
        stream = f"{self.job.name}/{HOST}-{int(self.ctx.clock.now())}"
        try:
            return self.ctx.logs.open(self.job.region, TRAINING_LOG_GROUP, stream, True)
        except (ClientError, BotoCoreError) as exc:  # the job trains without its log
            log.warning("cannot create log stream %s/%s: %s", TRAINING_LOG_GROUP, stream, exc)
            return None

    # -- Training -------------------------------------------------------------------------
    def train(self, blobs: dict[str, list[bytes]]) -> Any:
        # Imported on first use: numpy and faiss would slow down every start of the cloud.
        from mysfits_lab.recommender import HyperparameterError, parse_hyperparameters

        raw = self.job.request.get("HyperParameters", {})
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
        data = {
            name: self.read_channel(name, blobs[name]) for name in KNN_CHANNELS if name in blobs
        }
        return self.fit(hp, data)

    def read_channel(self, name: str, blobs: list[bytes]) -> tuple[Any, Any]:
        from mysfits_lab.recommender import DataError, read_training_channel

        content_type = self.job.channels[name].get("ContentType") or DEFAULT_CHANNEL_CONTENT_TYPE
        started = time.monotonic()
        try:
            features, labels = read_training_channel(blobs, content_type)
        except DataError as exc:
            # The reader words its errors for the train channel; name the right one.
            message = str(exc).replace("train channel", f"{name} channel")
            raise JobFailure(f"ClientError: Unable to read the {name} channel: {message}") from None
        self.say(
            f"Channel {name}: read {len(features)} records with {features.shape[1]} features "
            f"from {len(blobs)} file(s) ({sum(map(len, blobs))} bytes, {content_type}) in "
            f"{time.monotonic() - started:.2f} s"
        )
        return features, labels

    def fit(self, hp: Any, data: dict[str, tuple[Any, Any]]) -> Any:
        from mysfits_lab.recommender import DataError
        from mysfits_lab.recommender import train as knn_train

        started = time.monotonic()
        try:
            model = knn_train(hp, *data["train"], seed=0, log=self.say)
        except DataError as exc:
            raise JobFailure(f"ClientError: {exc}") from None
        self.say(f"Index built in {time.monotonic() - started:.2f} s")
        if "test" in data:
            self.score(hp, model, *data["test"])
        return model

    def score(self, hp: Any, model: Any, features: Any, labels: Any) -> None:
        from mysfits_lab.recommender import evaluate

        if features.shape[1] != hp.feature_dim:
            raise JobFailure(
                f"ClientError: feature_dim is {hp.feature_dim} but the test channel has "
                f"{features.shape[1]} columns per record"
            )
        started = time.monotonic()
        metric, value = next(iter(evaluate(model, features, labels).items()))
        self.say(
            f"Test {metric} {value:.6f} on {len(features)} records "
            f"(scored in {time.monotonic() - started:.2f} s)"
        )
        self.say(f"#quality_metric: host={HOST}, test {metric} <score>={value}")
        self.job.record_metric(f"test:{metric}", float(value), self.ctx.clock.now())

    # -- Uploading ------------------------------------------------------------------------
    def upload(self, model: Any) -> None:
        target = self.job.artifact_uri
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = model.to_tarball(self.workdir / "model.tar.gz")
        try:
            bucket, key = parse_s3_uri(target)
            self.ctx.client("s3", self.job.region).upload_file(str(path), bucket, key)
        except (ValueError, ClientError, BotoCoreError) as exc:
            raise JobFailure(
                f"ClientError: Unable to upload the model artifact to {target}: {exc}"
            ) from None
        self.say(f"Saved the model to {target} ({path.stat().st_size} bytes)")
