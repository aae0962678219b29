"""InvokeEndpoint bombs on a cloud with a trained k-NN endpoint: each small or ordinary-sized
body that once made the cloud allocate gigabytes, overflow its stack or answer a 5xx must get a
4xx in SageMaker's shape, and the cloud process must stay within 50 MB of its memory before.

The figures (VmRSS before and after each bomb, and the peak VmHWM during it) are printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mysfits_lab import Lab
from mysfits_lab.localcloud import control
from mysfits_lab.recommender.formats import frame_recordio
from mysfits_lab.steps import recommendations as rec
from tests.conftest import _AWS_ENV as AWS_ENV

MB = 1024 * 1024
ALLOWED_GROWTH_MB = 50
JSON, JSONLINES, CSV = "application/json", "application/jsonlines", "text/csv"
RECORDIO = "application/x-recordio-protobuf"


def _record(keys: list[int], values: list[float], shape: list[int]) -> bytes:
    from sagemaker.amazon.record_pb2 import Record

    record = Record()
    tensor = record.features["values"].float32_tensor
    tensor.values.extend(values)
    tensor.keys.extend(keys)
    tensor.shape.extend(shape)
    return frame_recordio([record.SerializeToString()])


def _sparse(shape: int) -> dict[str, Any]:
    return {"data": {"features": {"keys": [0], "values": [1], "shape": [shape]}}}


BOMBS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    # 83 bytes that once asked for a dense vector of 3e8 floats (2.4 GB)
    "sparse shape, json": (
        JSON,
        JSON,
        lambda: json.dumps({"instances": [_sparse(300_000_000)]}).encode(),
    ),
    "sparse shape, jsonlines": (JSONLINES, JSON, lambda: json.dumps(_sparse(300_000_000)).encode()),
    "sparse shape, recordio": (RECORDIO, JSON, lambda: _record([0], [1.0], [300_000_000])),
    "2-d sparse shape, json": (
        JSON,
        JSON,
        lambda: (
            json.dumps({"instances": [_sparse(5) | {}]}).replace("[5]", "[100000000, 5]").encode()
        ),
    ),
    # 3 MB of one-byte varints: 3M sparse keys for a 5-feature model
    "3M sparse keys, recordio": (RECORDIO, JSON, lambda: _record([0] * 3_000_000, [1.0], [5])),
    # recursion: the JSON decoder once overflowed the stack (a 5xx model error)
    "nested 100k deep, json": (JSON, JSON, lambda: b"[" * 100_000 + b"]" * 100_000),
    "nested 100k deep, jsonlines": (
        JSONLINES,
        JSON,
        lambda: b'{"features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ),
    # 5 MB of valid rows: more predictions than a 6 MB response holds
    "500k csv rows": (CSV, JSON, lambda: b"1,2,3,4,5\n" * 500_000),
    "100k csv rows, verbose": (
        CSV,
        "application/json; verbose=true",
        lambda: b"1,2,3,4,5\n" * 100_000,
    ),
    "60k jsonlines rows, verbose": (
        JSONLINES,
        "application/json; verbose=true",
        lambda: b'{"features": [1, 2, 3, 4, 5]}\n' * 60_000,
    ),
    # 4 MB: one instance with 700k features for a 5-feature model
    "700k features, json": (
        JSON,
        JSON,
        lambda: json.dumps({"instances": [{"features": [0.5] * 700_000}]}).encode(),
    ),
}


def _memory(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _reset_peak(pid: int) -> bool:
    """Restart VmHWM from the current RSS (Linux: ``5`` to clear_refs), if allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def endpoint(cloud) -> Iterator[dict[str, Any]]:
    saved = {key: os.environ.get(key) for key in AWS_ENV}  # Lab.connect sets them for the SDK
    try:
        lab = Lab.connect(learner="bomber")
        dataset = rec.generate_data(lab, rows=20_000, seed=0)
        train, test = rec.split(dataset)
        hyperparameters = dict(rec.HYPERPARAMETERS, sample_size=5_000)
        rec.deploy(lab, rec.train(lab, rec.upload(lab, train, test), hyperparameters))
        yield {
            "runtime": lab.client("sagemaker-runtime"),
            "name": rec.endpoint_name(lab),
            "pid": control.status().pid,
        }
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _invoke(endpoint, body: bytes, content_type: str, accept: str) -> dict[str, Any]:
    return endpoint["runtime"].invoke_endpoint(
        EndpointName=endpoint["name"], Body=body, ContentType=content_type, Accept=accept
    )


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_bomb_is_a_client_error_and_memory_stays_flat(endpoint, bomb, capsys):
    content_type, accept, make = BOMBS[bomb]
    body = make()
    pid = endpoint["pid"]
    _invoke(endpoint, b"1,2,3,4,5", CSV, JSON)  # everything the endpoint loads lazily is loaded
    before = _memory(pid)
    peak_known = _reset_peak(pid)
    with pytest.raises(ClientError) as error:
        _invoke(endpoint, body, content_type, accept)
    after = _memory(pid)
    response = error.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    with capsys.disabled():
        print(
            f"\n  {bomb:32} {len(body) / MB:6.2f} MB body -> {status} "
            f"{response['Error']['Code']}: VmRSS {before['VmRSS'] / MB:.0f} -> "
            f"{after['VmRSS'] / MB:.0f} MB"
            + (f", peak {after['VmHWM'] / MB:.0f} MB" if peak_known else "")
        )
    assert 400 <= status < 500, response["Error"]
    if response["Error"]["Code"] == "ModelError":
        assert response["OriginalStatusCode"] == 400, response["OriginalMessage"]
    assert after["VmRSS"] - before["VmRSS"] < ALLOWED_GROWTH_MB * MB
    if peak_known:
        assert after["VmHWM"] - before["VmRSS"] < ALLOWED_GROWTH_MB * MB
    # The endpoint still answers.
    answer = json.loads(_invoke(endpoint, b"1,2,3,4,5", CSV, JSON)["Body"].read())
    assert len(answer["predictions"]) == 1
