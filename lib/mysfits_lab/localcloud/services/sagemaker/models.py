"""The truth about training jobs and endpoints, which moto does not keep: moto reports a job
Completed and an endpoint InService at once. ``to_api`` writes this state over moto's answers.

No I/O here: the engines (``training.py``, ``endpoints.py``) change the state, passing the time
(``now``, epoch seconds) so that one clock stamps everything. Each object guards itself with its
own lock, since engines change it while the edge's threads describe it.

A state is worth showing: a description marks the state it shows as seen, and an engine about
to leave a state nobody has seen yet may wait for that (``wait_seen``, bounded by the engine),
so that a poller meets every state without the engine pausing when someone is looking.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...edge import ServiceError
from .algorithm import KNN_METRIC_DEFINITIONS, is_knn_image

DONE = ("Completed", "Failed", "Stopped")


class JobFailure(Exception):
    """Ends a training job as Failed; the message is its FailureReason."""


def _overlay(out: dict[str, Any], values: dict[str, Any]) -> None:
    """Set each value on ``out``, removing the keys whose value is None."""
    for key, value in values.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value


@dataclass
class TrainingJob:
    name: str
    region: str
    request: dict[str, Any]  # the CreateTrainingJob parameters
    created: float
    status: str = "InProgress"
    secondary: str = "Starting"
    transitions: list[dict[str, Any]] = field(default_factory=list)
    start_time: float | None = None
    end_time: float | None = None
    failure_reason: str | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    model_artifact: str | None = None
    last_modified: float = 0.0
    stop_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    seen: int = 0  # how many transitions a DescribeTrainingJob has shown
    changed: threading.Condition = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)
        self.last_modified = self.last_modified or self.created
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
    def channels(self) -> dict[str, dict[str, Any]]:
        return {c["ChannelName"]: c for c in self.request.get("InputDataConfig", [])}

    @property
    def artifact_uri(self) -> str:
        output = self.request.get("OutputDataConfig", {}).get("S3OutputPath", "").rstrip("/")
        return f"{output}/{self.name}/output/model.tar.gz"

    # -- changes ------------------------------------------------------------------------
    def enter(self, secondary: str, message: str, now: float) -> None:
        """Move to a new secondary status (or update the message of the current one)."""
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

    def record_metric(self, name: str, value: float, now: float) -> None:
        with self.lock:
            self.metrics = [{"MetricName": name, "Value": value, "Timestamp": now}]

    def finish(
        self,
        status: str,
        message: str,
        now: float,
        failure_reason: str | None = None,
        artifact: str | None = None,
    ) -> None:
        with self.lock:
            self.transitions[-1]["EndTime"] = now
            self.transitions.append(
                {"Status": status, "StartTime": now, "EndTime": now, "StatusMessage": message}
            )
            self.status = self.secondary = status
            self.failure_reason = failure_reason
            self.model_artifact = artifact
            self.start_time = self.start_time or now
            self.end_time = self.last_modified = now

    def request_stop(self, now: float) -> None:
        """StopTrainingJob: the worker stops at its next checkpoint."""
        with self.lock:
            if self.status != "InProgress":
                raise ServiceError(
                    "ValidationException",
                    "The request was rejected because the training job is in status "
                    f"{self.status}.",
                )
            self.stop_requested.set()
            self.transitions[-1]["EndTime"] = now
            self.transitions.append(
                {
                    "Status": "Stopping",
                    "StartTime": now,
                    "StatusMessage": "Stopping the training job",
                }
            )
            self.status = self.secondary = "Stopping"
            self.last_modified = now
            self.changed.notify_all()  # a worker waiting to be seen stops at once

    def wait_seen(self, timeout: float, interrupted: Callable[[], bool]) -> None:
        """Wait until a DescribeTrainingJob has shown the current state, a stop is requested,
        ``interrupted()`` is true (checked when ``wake`` is called) or ``timeout`` seconds pass."""
        with self.changed:
            self.changed.wait_for(
                lambda: (
                    self.seen >= len(self.transitions)
                    or self.stop_requested.is_set()
                    or interrupted()
                ),
                timeout,
            )

    def wake(self) -> None:
        """Make ``wait_seen`` check again (the cloud is stopping)."""
        with self.changed:
            self.changed.notify_all()

    # -- views --------------------------------------------------------------------------
    def to_api(self, described: dict[str, Any]) -> dict[str, Any]:
        """moto's DescribeTrainingJob answer with the real state written over it; the state it
        shows counts as seen."""
        with self.lock:
            if self.seen < len(self.transitions):
                self.seen = len(self.transitions)
                self.changed.notify_all()
            out = dict(described)
            seconds = None
            if self.start_time is not None and self.end_time is not None:
                seconds = max(1, round(self.end_time - self.start_time))
            _overlay(
                out,
                {
                    "TrainingJobStatus": self.status,
                    "SecondaryStatus": self.secondary,
                    "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
                    "LastModifiedTime": self.last_modified,
                    "TrainingStartTime": self.start_time,
                    "TrainingEndTime": self.end_time,
                    "TrainingTimeInSeconds": seconds,
                    "BillableTimeInSeconds": seconds,
                    "FailureReason": self.failure_reason,
                    "FinalMetricDataList": [dict(m) for m in self.metrics] or None,
                    "ModelArtifacts": (
                        {"S3ModelArtifacts": self.model_artifact} if self.model_artifact else None
                    ),
                },
            )
        spec = dict(out.get("AlgorithmSpecification", {}))
        if is_knn_image(self.image):
            spec["MetricDefinitions"] = KNN_METRIC_DEFINITIONS
        else:
            spec.pop("MetricDefinitions", None)  # moto invents a "test:dcg" definition
        out["AlgorithmSpecification"] = spec
        # AWS always reports the (possibly empty) KMS key; the SDK's Estimator.attach reads it.
        out["OutputDataConfig"] = {"KmsKeyId": ""} | dict(out.get("OutputDataConfig", {}))
        return out

    def summary_to_api(self, summary: dict[str, Any]) -> dict[str, Any]:
        """A ListTrainingJobs entry with the real status."""
        with self.lock:
            out = dict(summary)
            _overlay(
                out,
                {
                    "TrainingJobStatus": self.status,
                    "LastModifiedTime": self.last_modified,
                    "TrainingEndTime": self.end_time,
                },
            )
            return out

    def state(self) -> dict[str, Any]:
        """For the control route and ``mysfits-lab cloud status``."""
        with self.lock:
            return {
                "status": self.status,
                "secondary_status": self.secondary,
                "failure_reason": self.failure_reason,
                "metrics": {m["MetricName"]: m["Value"] for m in self.metrics},
                "model": self.model_artifact,
            }


@dataclass
class Endpoint:
    name: str
    region: str
    arn: str
    config_name: str
    created: float
    status: str = "Creating"
    failure_reason: str | None = None
    last_modified: float = 0.0
    model: Any = None  # the loaded KnnModel
    variants: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    loaded_at: float | None = None
    log_stream: str | None = None  # its CloudWatch stream, once it has written a line
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    seen: bool = False  # whether a DescribeEndpoint or ListEndpoints showed the current status
    changed: threading.Condition = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)
        self.last_modified = self.last_modified or self.created

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def log_group(self) -> str:
        return f"/aws/sagemaker/Endpoints/{self.name}"

    @property
    def variant_name(self) -> str:
        return self.variants[0]["VariantName"] if self.variants else "AllTraffic"

    @property
    def log_stream_arn(self) -> str:
        return (
            f"arn:aws:logs:{self.region}:{self.account}:log-group:{self.log_group}"
            f":log-stream:{self.log_stream or ''}"
        )

    # -- changes ------------------------------------------------------------------------
    def stream_name(self, instance_id: str) -> str:
        """Its log stream (``<variant>/<instance>``), named on first use."""
        with self.lock:
            if self.log_stream is None:
                self.log_stream = f"{self.variant_name}/{instance_id}"
            return self.log_stream

    def begin_update(self, now: float) -> None:
        with self.lock:
            if self.status != "InService":
                state = "failed" if self.status == "Failed" else "in-progress"
                raise ServiceError(
                    "ValidationException", f'Cannot update {state} endpoint "{self.arn}".'
                )
            self.status, self.last_modified = "Updating", now
            self.seen = False

    def wait_seen(self, timeout: float, interrupted: Callable[[], bool]) -> None:
        """Wait until a description has shown the current status, ``interrupted()`` is true
        (checked when ``wake`` is called) or ``timeout`` seconds pass."""
        with self.changed:
            self.changed.wait_for(lambda: self.seen or interrupted(), timeout)

    def wake(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _shown(self) -> None:
        """A description shows the current status (the caller holds the lock)."""
        if not self.seen:
            self.seen = True
            self.changed.notify_all()

    def loaded(
        self, model: Any, variants: list[dict[str, Any]], image: str, config: str, now: float
    ) -> None:
        with self.lock:
            self.model, self.variants, self.images = model, variants, [image]
            self.config_name = config
            self.status, self.failure_reason = "InService", None
            self.loaded_at = self.last_modified = now
            self.seen = False

    def load_failed(self, reason: str, now: float) -> None:
        """On creation the endpoint fails; on update the old model keeps serving, as AWS rolls
        an update back."""
        with self.lock:
            self.failure_reason = reason
            self.status = "InService" if self.model is not None else "Failed"
            self.last_modified = now
            self.seen = False

    # -- views --------------------------------------------------------------------------
    def serving(self) -> tuple[Any, str, str]:
        """(model, status, variant name), read together."""
        with self.lock:
            return self.model, self.status, self.variant_name

    def to_api(self, described: dict[str, Any]) -> dict[str, Any]:
        """moto's DescribeEndpoint answer with the real state written over it; the status it
        shows counts as seen."""
        with self.lock:
            self._shown()
            out = dict(described)
            _overlay(
                out,
                {
                    "EndpointStatus": self.status,
                    "EndpointConfigName": self.config_name,
                    "LastModifiedTime": self.last_modified,
                    "FailureReason": self.failure_reason,
                    # Nothing is deployed before the first model has loaded.
                    "ProductionVariants": self._variants() if self.model is not None else None,
                },
            )
            return out

    def _variants(self) -> list[dict[str, Any]]:
        return [
            {
                "VariantName": variant["VariantName"],
                "DeployedImages": [
                    {"SpecifiedImage": image, "ResolutionTime": self.loaded_at}
                    for image in self.images[:1]
                ],
                "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "CurrentInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                "DesiredInstanceCount": int(variant.get("InitialInstanceCount", 1)),
            }
            for variant in self.variants
        ]

    def summary_to_api(self, summary: dict[str, Any]) -> dict[str, Any]:
        """A ListEndpoints entry with the real status (which counts as seen)."""
        with self.lock:
            self._shown()
            return dict(summary) | {
                "EndpointStatus": self.status,
                "LastModifiedTime": self.last_modified,
            }

    def state(self) -> dict[str, Any]:
        """For the control route and ``mysfits-lab cloud status``."""
        with self.lock:
            return {
                "status": self.status,
                "config": self.config_name,
                "failure_reason": self.failure_reason,
                "variant": self.variant_name,
                "feature_dim": getattr(self.model, "feature_dim", None),
            }
