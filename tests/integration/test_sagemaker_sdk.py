"""The workshop's SageMaker Python SDK v2 path (module 7) against a fresh local cloud.

The SDK finds the local cloud through ``AWS_ENDPOINT_URL`` (set by ``Lab.connect``); any name
lookup other than loopback fails these tests. Facts they pin down:

* ``Session().default_bucket()`` asks STS at its hard-wired regional endpoint
  (``sts.<region>.amazonaws.com``, ignoring ``AWS_ENDPOINT_URL``): give the bucket, either
  ``Session(default_bucket=...)`` or ``DefaultS3Bucket`` in the SDK defaults config.
* The generic ``Estimator.fit`` sends telemetry (a GET to
  ``sm-pysdk-t-<region>.s3.<region>.amazonaws.com``) unless ``TelemetryOptOut`` is set in the
  SDK defaults config (``SAGEMAKER_USER_CONFIG_OVERRIDE``); ``KNN.fit`` sends none. With any
  defaults config the SDK re-validates it against its JSON schema on every lookup (~0.2 s each,
  seconds per ``fit``/``deploy``), so the fast path passes a Session instead.
* The SDK's own waits poll slowly (``fit(wait=True)`` every 5 s; with ``logs="All"`` a status
  check only every 30 s; ``deploy(wait=True)`` every 30 s; ``logs_for_job`` always sleeps 5 s
  first), so the notebook path is ``fit(wait=False)`` + ``wait_for_job(poll=1)`` and
  ``deploy(wait=False)`` + the ``endpoint_in_service`` waiter with ``Delay=1``.
"""

from __future__ import annotations

import io
import json
import os
import socket
import tempfile
import time

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from mysfits_lab.recommender import KnnModel, generator

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture
def no_internet(monkeypatch):
    """Fail (and record) every DNS lookup that is not loopback."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in LOOPBACK:
            attempts.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"test blocks lookups of {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return attempts


@pytest.fixture
def sdk(lab, monkeypatch, no_internet):
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    monkeypatch.delenv("SAGEMAKER_USER_CONFIG_OVERRIDE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # as in a fresh kernel
    import sagemaker

    return sagemaker


def _role(lab) -> str:
    from mysfits_lab.steps.recommendations import ensure_role

    return ensure_role(lab)


def _local_model(lab, uri: str) -> KnnModel:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.tar.gz")
        lab.client("s3").download_file(bucket, key, path)
        return KnnModel.from_tarball(path)


def test_workshop_knn_notebook_path(lab, sdk, no_internet, capsys):
    """KNN + record_set + fit/deploy/predict, with a Session that names its bucket."""
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import CSVSerializer

    timings: dict[str, float] = {}

    def timed(step: str, call, *args, **kwargs):
        started = time.monotonic()
        result = call(*args, **kwargs)
        timings[step] = round(time.monotonic() - started, 2)
        return result

    data = generator.generate(rows=60_000, seed=1)
    train, test = generator.split(data.data, 0.9, seed=0)
    train_features, train_labels = train[:, :5].astype("float32"), train[:, 5].astype("float32")
    test_features, test_labels = test[:, :5].astype("float32"), test[:, 5].astype("float32")
    role = _role(lab)

    session = timed("Session()", sdk.Session, default_bucket=lab.bucket_name("sagemaker"))
    assert session.default_bucket() == lab.bucket_name("sagemaker")
    knn = timed(
        "KNN()",
        sdk.KNN,
        sagemaker_session=session,
        role=role,
        instance_count=1,
        instance_type="ml.m5.2xlarge",
        k=10,
        sample_size=20_000,
        predictor_type="classifier",
        feature_dim=5,
    )
    train_records = timed("record_set(train)", knn.record_set, train_features, train_labels)
    test_records = timed(
        "record_set(test)", knn.record_set, test_features, test_labels, channel="test"
    )
    timed("fit(wait=False)", knn.fit, [train_records, test_records], wait=False)
    job = knn.latest_training_job.name
    assert session.describe_training_job(job)["TrainingJobStatus"] == "InProgress"
    described = timed("wait_for_job(poll=1)", session.wait_for_job, job, poll=1)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    channels = {c["ChannelName"]: c for c in described["InputDataConfig"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    accuracy = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert accuracy["test:accuracy"] >= 0.9 * data.report.bayes_accuracy
    capsys.readouterr()
    timed("logs_for_job(wait=False)", session.logs_for_job, job, wait=False)
    printed = capsys.readouterr().out
    assert "#quality_metric: host=algo-1, test accuracy <score>=" in printed
    assert "Training - Training image download completed. Training in progress." in printed

    predictor = timed("deploy(wait=False)", knn.deploy, 1, "ml.m4.xlarge", wait=False)
    waiter = session.sagemaker_client.get_waiter("endpoint_in_service")
    timed(
        "endpoint_in_service waiter",
        waiter.wait,
        EndpointName=predictor.endpoint_name,
        WaiterConfig={"Delay": 1, "MaxAttempts": 60},
    )

    expected = _local_model(lab, knn.model_data).predict(test_features[:100]).predicted_label
    records = timed("predict (protobuf)", predictor.predict, test_features[:100])
    labels = [r.label["predicted_label"].float32_tensor.values[0] for r in records]
    assert labels == expected.tolist()
    predictor.serializer, predictor.deserializer = CSVSerializer(), JSONDeserializer()
    answer = timed("predict (csv/json)", predictor.predict, test_features[:100])
    assert [p["predicted_label"] for p in answer["predictions"]] == expected.tolist()

    timed("delete_endpoint()", predictor.delete_endpoint)
    with pytest.raises(ClientError) as error:
        predictor.predict(test_features[:1])
    assert error.value.response["Error"]["Code"] == "ValidationError"

    assert no_internet == [], f"the SDK tried to reach {sorted(set(no_internet))}"
    with capsys.disabled():
        print("\nSageMaker SDK v2 on the local cloud:", json.dumps(timings))
    assert timings["fit(wait=False)"] + timings["wait_for_job(poll=1)"] < 30
    assert timings["endpoint_in_service waiter"] < 5
    assert timings["predict (protobuf)"] < 2


def test_original_notebook_estimator_with_sdk_defaults_config(
    lab, sdk, no_internet, tmp_path, monkeypatch
):
    """The original notebook: its own RecordIO upload, the generic Estimator, a bare Session();
    the SDK defaults config supplies the bucket and opts out of telemetry."""
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    bucket = lab.bucket_name("sagemaker")
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n"
        "  PythonSDK:\n"
        "    Modules:\n"
        "      TelemetryOptOut: true\n"
        "      Session:\n"
        f"        DefaultS3Bucket: {bucket}\n"
    )
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    data = generator.generate(rows=5_000, seed=2)
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(
        buffer, data.features.astype("float32"), data.labels.astype("float32")
    )
    session = sdk.Session()
    assert session.default_bucket() == bucket
    key = "mysfit-recommendation-dataset/train/recordio-pb-data"
    lab.client("s3").put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    estimator = sdk.estimator.Estimator(
        sdk.image_uris.retrieve("knn", lab.region),
        _role(lab),
        instance_count=1,
        instance_type="ml.m5.2xlarge",
        output_path=f"s3://{bucket}/mysfit-recommendation-dataset/default_example/output",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(
        feature_dim=5, k=10, sample_size=4_000, predictor_type="classifier"
    )
    estimator.fit({"train": f"s3://{bucket}/mysfit-recommendation-dataset/train/"}, wait=False)
    described = session.wait_for_job(estimator.latest_training_job.name, poll=1)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert "FinalMetricDataList" not in described  # no test channel
    model = _local_model(lab, described["ModelArtifacts"]["S3ModelArtifacts"])
    assert model.sample_count == 4_000
    assert np.isin(model.labels, np.arange(12)).all()
    assert no_internet == [], f"the SDK tried to reach {sorted(set(no_internet))}"
