"""A training run shows every state to a poller without pausing for show: it leaves a state once
a DescribeTrainingJob has shown it, and waits for that at most HOLD_BUDGET seconds per job."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.sagemaker import training
from mysfits_lab.localcloud.services.sagemaker.models import DONE, TrainingJob
from mysfits_lab.localcloud.services.sagemaker.training import HOLD_BUDGET, TrainingRun
from mysfits_lab.recommender import KnnModel, generator

KNN = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
STATES = [
    ("InProgress", "Starting"),
    ("InProgress", "Downloading"),
    ("InProgress", "Training"),
    ("InProgress", "Uploading"),
    ("Completed", "Completed"),
]


class NoPauseClock(Clock):
    """A fixed pause on the clock fails the run (and so the test)."""

    def __init__(self) -> None:
        super().__init__()
        self.elapsed = 0.0  # what monotonic() adds: advanced by fake waits

    def wait(self, seconds: float, event: threading.Event | None = None) -> bool:
        raise AssertionError(f"the training run paused {seconds} s on the clock")

    def monotonic(self) -> float:
        return time.monotonic() + self.elapsed


class FakeS3:
    def __init__(self, objects: dict[tuple[str, str], bytes]):
        self.objects = objects
        self.uploaded: dict[tuple[str, str], bytes] = {}

    def get_paginator(self, _name: str) -> Any:
        def paginate(Bucket: str, Prefix: str) -> list[dict[str, Any]]:  # noqa: N803
            keys = [k for b, k in self.objects if b == Bucket and k.startswith(Prefix)]
            return [{"Contents": [{"Key": key} for key in keys]}]

        return SimpleNamespace(paginate=paginate)

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        self.uploaded[(bucket, key)] = Path(path).read_bytes()


def _run(tmp_path: Path, image: str = KNN) -> tuple[TrainingRun, TrainingJob, FakeS3]:
    data = generator.generate(rows=4_000, seed=1).data
    label_first = np.column_stack([data[:, 5], data[:, :5]])
    s3 = FakeS3({("b", "train/part-0.csv"): generator.format_int_csv(label_first)})
    lines: list[str] = []
    logs = SimpleNamespace(
        open=lambda *_args: SimpleNamespace(write=lines.append, flush=lambda: None)
    )
    ctx = SimpleNamespace(clock=NoPauseClock(), client=lambda *_args: s3, logs=logs)
    request = {
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": {
            "feature_dim": "5",
            "k": "5",
            "predictor_type": "classifier",
            "sample_size": "3000",
        },  # fmt: skip
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://b/output/"},
    }
    job = TrainingJob("job", "us-east-1", request, created=time.time())
    run = TrainingRun(ctx, job, tmp_path / "work", threading.Event())  # type: ignore[arg-type]
    return run, job, s3


def _poll(job: TrainingJob, seen: list[tuple[str, str]]) -> None:
    """DescribeTrainingJob in a loop, as a notebook does: the distinct states, in order."""
    while True:
        described = job.to_api({})
        state = (described["TrainingJobStatus"], described["SecondaryStatus"])
        if not seen or seen[-1] != state:
            seen.append(state)
        if state[0] in DONE:
            return
        time.sleep(0.002)


def test_a_poller_sees_every_state_in_order(tmp_path):
    run, job, s3 = _run(tmp_path)
    seen: list[tuple[str, str]] = []
    poller = threading.Thread(target=_poll, args=(job, seen))
    poller.start()
    run()
    poller.join(timeout=30)
    assert job.status == "Completed", job.failure_reason
    assert seen == STATES
    assert [t["Status"] for t in job.transitions] == [s for _, s in STATES]
    # The artifact is a real model.
    (artifact,) = s3.uploaded.values()
    model_file = tmp_path / "model.tar.gz"
    model_file.write_bytes(artifact)
    assert KnnModel.from_tarball(model_file).sample_count == 3_000


def test_without_a_poller_the_holds_share_one_budget(tmp_path, monkeypatch):
    run, job, _s3 = _run(tmp_path)
    asked: list[float] = []

    def nobody_looks(timeout: float, _interrupted: Any) -> None:
        asked.append(timeout)
        run.ctx.clock.elapsed += timeout  # as if it had waited the whole timeout

    monkeypatch.setattr(job, "wait_seen", nobody_looks)
    run()
    assert job.status == "Completed", job.failure_reason
    assert sum(asked) == pytest.approx(HOLD_BUDGET)
    assert run.held == pytest.approx(HOLD_BUDGET, abs=0.05)


def test_a_stop_request_ends_a_hold(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "HOLD_BUDGET", 600.0)  # nobody polls: it would hold 10 min
    run, job, _s3 = _run(tmp_path)
    worker = threading.Thread(target=run)
    worker.start()
    job.request_stop(now=time.time())
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert job.status == "Stopped"
    assert [t["Status"] for t in job.transitions][-2:] == ["Stopping", "Stopped"]


def test_a_failing_job_is_seen_in_progress_first(tmp_path):
    run, job, _s3 = _run(tmp_path, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    seen: list[tuple[str, str]] = []
    poller = threading.Thread(target=_poll, args=(job, seen))
    poller.start()
    run()
    poller.join(timeout=30)
    assert seen == [("InProgress", "Starting"), ("Failed", "Failed")]
    assert "not supported by the local cloud" in (job.failure_reason or "")
