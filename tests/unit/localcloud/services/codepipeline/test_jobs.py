from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from typing import Any

import pytest

from mysfits_lab.localcloud.core.changes import Changes
from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.codepipeline.jobs import (
    ActionFailed,
    Job,
    artifact_key,
    build_failure,
    read_artifact_file,
)


def test_artifact_keys_are_laid_out_as_codepipeline_lays_them_out():
    key = artifact_key("MythicalMysfitsServiceCICDPipeline", "BuildArtifact")
    assert re.fullmatch(r"MythicalMysfitsServi/BuildArtif/[A-Za-z0-9]{7}", key)
    assert artifact_key("p", "a") != artifact_key("p", "a")


def test_a_failed_build_is_reported_with_its_failed_phase():
    build = {
        "id": "proj:1234",
        "buildStatus": "FAILED",
        "phases": [
            {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED"},
            {
                "phaseType": "BUILD",
                "phaseStatus": "FAILED",
                "contexts": [
                    {
                        "statusCode": "COMMAND_EXECUTION_ERROR",
                        "message": "Error while executing command: make. Reason: exit status 2",
                    }
                ],
            },
            {"phaseType": "POST_BUILD", "phaseStatus": "SUCCEEDED"},
            {"phaseType": "COMPLETED"},
        ],
    }
    assert build_failure(build) == (
        "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: make. Reason: exit status 2 (build proj:1234)"
    )
    stopped = {"id": "proj:5", "buildStatus": "STOPPED", "phases": [{"phaseType": "QUEUED"}]}
    assert build_failure(stopped) == "Build terminated with state: STOPPED. (build proj:5)"


class _S3:
    def __init__(self, data: bytes):
        self.data = data

    def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's names
        return {"Body": io.BytesIO(self.data)}


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


LOCATION = ("BuildArtifact", "artifacts", "p/BuildArtif/abc")


def test_a_file_is_read_from_an_artifact_zip():
    s3 = _S3(_zip({"./imagedefinitions.json": "[]", "other": "x"}))
    assert read_artifact_file(s3, LOCATION, "imagedefinitions.json") == b"[]"


def test_an_artifact_without_the_file_or_not_a_zip_fails_readably():
    with pytest.raises(
        ActionFailed, match="imagedefinitions.json was not found in input artifact BuildArtifact"
    ):
        read_artifact_file(_S3(_zip({"other": "x"})), LOCATION, "imagedefinitions.json")
    with pytest.raises(
        ActionFailed, match=r"BuildArtifact \(s3://artifacts/p/BuildArtif/abc\) is not a zip"
    ):
        read_artifact_file(_S3(b"plain text"), LOCATION, "imagedefinitions.json")


def _job(changes: Changes, cancelled: threading.Event | None = None) -> Job:
    def client(service: str) -> Any:
        raise AssertionError("waiting calls no AWS API")

    return Job(
        run=None,  # type: ignore[arg-type] - waiting does not look at the record
        pipeline="p",
        store="artifacts",
        pinned=None,
        client=client,
        clock=Clock(),
        report=lambda **fields: None,
        cancelled=(cancelled or threading.Event()).is_set,
        changes=changes,
    )


def _timed(job: Job, seconds: float) -> float:
    started = time.monotonic()
    job.wait(seconds)
    return time.monotonic() - started


def test_a_waiting_job_reads_again_as_soon_as_the_cloud_changed():
    changes = Changes()
    job = _job(changes)
    changes.notify()  # after the job started: its first wait ends at once
    assert _timed(job, 5.0) < 0.5
    threading.Timer(0.05, changes.notify).start()
    assert _timed(job, 5.0) < 1.0
    assert 0.2 <= _timed(job, 0.2) < 1.0  # nothing new: the whole period


def test_an_abandoned_job_stops_waiting_within_a_tenth_of_a_second():
    cancelled = threading.Event()
    job = _job(Changes(), cancelled)
    threading.Timer(0.05, cancelled.set).start()
    assert _timed(job, 5.0) < 0.5
