"""A SageMaker SDK v2 notebook written for AWS (a public k-NN example's flow) on the local cloud,
unchanged after the one setup cell ``use_local_cloud()``, in a kernel that never connected a
Lab. Any name lookup other than loopback fails these tests: nothing may reach AWS."""

from __future__ import annotations

import socket
import time

import boto3
import numpy as np
import pytest
from botocore.exceptions import EndpointConnectionError

from mysfits_lab.localcloud.constants import ACCOUNT_ID
from mysfits_lab.sagemaker_setup import (
    EXECUTION_ROLE,
    ROLE_SESSION,
    LocalCloudSession,
    is_aws_endpoint,
)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture
def fresh_kernel(cloud, clean_aws_env, monkeypatch):
    """A kernel as a learner opens it: no AWS variables, no default boto3 session, and no way
    to AWS (each lookup of a non-loopback name fails, and is recorded)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a refused connection fails at once
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    monkeypatch.delenv("SAGEMAKER_USER_CONFIG_OVERRIDE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in LOOPBACK:
            attempts.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"test blocks lookups of {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return attempts


def test_without_the_setup_cell_the_sdk_asks_sts_on_aws(fresh_kernel, lab):
    """What the cell is for: AWS_ENDPOINT_URL (set by Lab.connect) does not redirect the STS
    client the SDK creates at an explicit regional endpoint."""
    import sagemaker

    with pytest.raises(EndpointConnectionError, match="sts.us-east-1.amazonaws.com"):
        sagemaker.Session().default_bucket()
    assert "sts.us-east-1.amazonaws.com" in fresh_kernel


def test_a_public_knn_example_runs_unchanged_after_the_setup_cell(fresh_kernel, capsys):
    # -- the setup cell -----------------------------------------------------------------------
    from mysfits_lab.sagemaker_setup import use_local_cloud

    setup = use_local_cloud()
    assert setup.identity.startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{EXECUTION_ROLE}/")
    assert repr(setup).startswith("SageMaker SDK → local cloud at http://127.0.0.1:")

    # -- the notebook, as written for AWS ---------------------------------------------------
    started = time.monotonic()
    import sagemaker

    sess = sagemaker.Session()
    bucket = sess.default_bucket()
    role = sagemaker.get_execution_role()

    rng = np.random.default_rng(7)
    train_features = rng.random((2_000, 8), dtype=np.float32)
    train_labels = (train_features[:, 0] * 4).astype("int32").astype("float32")  # 0..3
    knn = sagemaker.KNN(
        role=role,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        k=10,
        sample_size=1000,
        predictor_type="classifier",
        sagemaker_session=sess,
    )
    knn.fit(knn.record_set(train_features, train_labels))
    predictor = knn.deploy(initial_instance_count=1, instance_type="ml.m5.xlarge")
    results = predictor.predict(train_features[:20])
    predictor.delete_endpoint()
    elapsed = time.monotonic() - started

    # -- what it saw ------------------------------------------------------------------------
    assert bucket == f"sagemaker-us-east-1-{ACCOUNT_ID}"
    assert role == f"arn:aws:iam::{ACCOUNT_ID}:role/{EXECUTION_ROLE}"
    job = sess.describe_training_job(knn.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["RoleArn"] == role
    assert job["ModelArtifacts"]["S3ModelArtifacts"].startswith(f"s3://{bucket}/")
    labels = [r.label["predicted_label"].float32_tensor.values[0] for r in results]
    assert len(labels) == 20 and set(labels) <= {0.0, 1.0, 2.0, 3.0}
    # The features decide the label: the neighbours of a training row mostly share its label.
    assert np.mean(np.array(labels) == train_labels[:20]) >= 0.7
    endpoints = sess.sagemaker_client.list_endpoints()["Endpoints"]
    assert predictor.endpoint_name not in {e["EndpointName"] for e in endpoints}

    # The same identity for boto3 code in the notebook, and the bucket is really local.
    assert ROLE_SESSION in boto3.client("sts").get_caller_identity()["Arn"]
    names = {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}
    assert bucket in names
    assert fresh_kernel == [], f"the SDK tried to reach {sorted(set(fresh_kernel))}"
    with capsys.disabled():
        print(f"\npeer k-NN notebook on the local cloud: {elapsed:.1f} s")
    assert elapsed < 60


def test_the_session_sends_aws_endpoints_to_the_edge():
    session = LocalCloudSession(
        "http://127.0.0.1:1",
        region_name="eu-west-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    sts = session.client("sts", endpoint_url="https://sts.eu-west-1.amazonaws.com")
    assert sts.meta.endpoint_url == "http://127.0.0.1:1"
    assert session.client("s3").meta.endpoint_url == "http://127.0.0.1:1"
    assert session.resource("s3").meta.client.meta.endpoint_url == "http://127.0.0.1:1"
    other = session.client("s3", "eu-west-1", None, True, None, "http://127.0.0.1:2")
    assert other.meta.endpoint_url == "http://127.0.0.1:2"  # an explicit local endpoint stays
    assert is_aws_endpoint("https://s3.cn-north-1.amazonaws.com.cn")
    assert not is_aws_endpoint("http://127.0.0.1:4566")
