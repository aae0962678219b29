"""SageMaker on a fresh in-process local cloud through boto3: k-NN training jobs and endpoints
for real.

The data set is the recommender's generated questionnaire data; a model trained on it must come
close to the generator's Bayes accuracy, and the endpoint must answer exactly what the trained
artifact predicts locally, in every documented request and response format.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError, WaiterError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.recommender import KnnModel, generator
from mysfits_lab.recommender.generator import format_int_csv
from tests.helpers import edge_client, wait_for

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

REGION = "us-east-1"
BUCKET = "knn-provider-data"
ROLE = "arn:aws:iam::123456789012:role/knn-test"
KNN_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
HYPERPARAMETERS = {
    "feature_dim": "5",
    "k": "10",
    "sample_size": "20000",
    "predictor_type": "classifier",
}
DONE = ("Completed", "Failed", "Stopped")
STATES = [
    ("InProgress", "Starting"),
    ("InProgress", "Downloading"),
    ("InProgress", "Training"),
    ("InProgress", "Uploading"),
    ("Completed", "Completed"),
]


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Any]]:
    """boto3 clients on a local cloud with the SageMaker provider only (S3 and logs: moto)."""
    cloud = LocalCloud(0, tmp_path_factory.mktemp("sagemaker-cloud"), providers=["sagemaker"])
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = edge_client(cloud.edge_url, service, REGION)
        return clients[service]

    yield client
    cloud.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def dataset(aws):
    data = generator.generate(rows=60_000, seed=1)
    train, test = generator.split(data.data, 0.9, seed=0)
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name, rows in (("train", train), ("test", test)):
        label_first = np.column_stack([rows[:, 5], rows[:, :5]])
        s3.put_object(Bucket=BUCKET, Key=f"csv/{name}/part-0.csv", Body=format_int_csv(label_first))
        if name == "train":
            body = gzip.compress(format_int_csv(label_first))
            s3.put_object(Bucket=BUCKET, Key="csvgz/train/part-0.csv.gz", Body=body)
    s3.put_object(Bucket=BUCKET, Key="empty/train/part-0.csv", Body=b"")
    return {"train": train, "test": test, "bayes": data.report.bayes_accuracy}


def _channel(name: str, prefix: str, content_type: str | None = "text/csv") -> dict:
    channel = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{BUCKET}/{prefix}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel


def _start_job(aws, name: str, hyperparameters=None, image=KNN_IMAGE, channels=None) -> None:
    aws("sagemaker").create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters=hyperparameters or HYPERPARAMETERS,
        InputDataConfig=channels or [_channel("train", "csv/train"), _channel("test", "csv/test")],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output/"},
        ResourceConfig={"InstanceType": "ml.m5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def _wait_job(aws, name: str, timeout: float = 60) -> tuple[dict, list[tuple[str, str]]]:
    """Poll as a notebook would; returns the final description and the statuses seen."""
    seen: list[tuple[str, str]] = []

    def finished() -> dict | None:
        job = aws("sagemaker").describe_training_job(TrainingJobName=name)
        status = (job["TrainingJobStatus"], job["SecondaryStatus"])
        if not seen or seen[-1] != status:
            seen.append(status)
        return job if job["TrainingJobStatus"] in DONE else None

    return wait_for(finished, f"training job {name} to finish", timeout), seen


def _download_model(aws, uri: str) -> KnnModel:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.tar.gz")
        aws("s3").download_file(bucket, key, path)
        return KnnModel.from_tarball(path)


def _deploy(aws, name: str, artifact: str, image: str = KNN_IMAGE) -> None:
    sagemaker = aws("sagemaker")
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": artifact},
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m4.xlarge",
            }
        ],
    )


@pytest.fixture(scope="module")
def trained(aws, dataset):
    _start_job(aws, "knn-main")
    job, seen = _wait_job(aws, "knn-main")
    return {"job": job, "seen": seen}


@pytest.fixture(scope="module")
def endpoint(aws, trained):
    artifact = trained["job"]["ModelArtifacts"]["S3ModelArtifacts"]
    _deploy(aws, "knn-main", artifact)
    sagemaker = aws("sagemaker")
    sagemaker.create_endpoint(EndpointName="knn-main", EndpointConfigName="knn-main")
    first = sagemaker.describe_endpoint(EndpointName="knn-main")
    started = time.monotonic()
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="knn-main", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    return {
        "first_status": first["EndpointStatus"],
        "wait_seconds": time.monotonic() - started,
        "model": _download_model(aws, artifact),
    }


def _invoke(aws, body, content_type: str, accept: str, name: str = "knn-main") -> dict:
    return aws("sagemaker-runtime").invoke_endpoint(
        EndpointName=name, Body=body, ContentType=content_type, Accept=accept
    )


# -- training -------------------------------------------------------------------------------
def test_training_job_goes_through_the_sagemaker_phases(trained):
    job, seen = trained["job"], trained["seen"]
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # Each state waits until a DescribeTrainingJob has shown it: a poller meets them all.
    assert seen == STATES
    transitions = job["SecondaryStatusTransitions"]
    assert [t["Status"] for t in transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert all(t["StartTime"] <= t["EndTime"] for t in transitions)
    assert transitions[2]["StatusMessage"].startswith("Training image download completed")
    assert transitions[-1]["StatusMessage"] == "Training job completed"
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["HyperParameters"] == HYPERPARAMETERS
    assert "FailureReason" not in job


def test_training_writes_a_real_model_artifact(aws, trained, dataset):
    job = trained["job"]
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://{BUCKET}/output/knn-main/output/model.tar.gz"
    model = _download_model(aws, uri)
    assert model.feature_dim == 5 and model.hyperparameters.k == 10
    assert model.sample_count == 20_000
    # The artifact is the model that was scored: its accuracy is the reported metric.
    test = dataset["test"]
    accuracy = float(np.mean(model.predict(test[:, :5]).predicted_label == test[:, 5]))
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["test:accuracy"] == pytest.approx(accuracy)
    assert metrics["test:accuracy"] >= 0.9 * dataset["bayes"]
    names = [d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]]
    assert "test:accuracy" in names


def test_training_log_is_in_cloudwatch_where_the_sdk_reads_it(aws, trained):
    logs = aws("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="knn-main/"
    )["logStreams"]
    assert len(streams) == 1 and streams[0]["logStreamName"].startswith("knn-main/algo-1-")
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName=streams[0]["logStreamName"],
        startFromHead=True,
    )["events"]
    text = "\n".join(e["message"] for e in events)
    accuracy = trained["job"]["FinalMetricDataList"][0]["Value"]
    assert f"#quality_metric: host=algo-1, test accuracy <score>={accuracy}" in text
    assert "hyperparameters.json" in text and '"sample_size": "20000"' in text
    assert "Channel train: read 54000 records" in text
    assert "Channel test: read 6000 records" in text
    assert "faiss.Flat" in text


def test_a_describe_loop_records_every_state_in_order(aws, dataset):
    """No state is skipped and none is repeated after another: the worker leaves a state once
    a description has shown it, not after a fixed pause."""
    _start_job(aws, "knn-polled", channels=[_channel("train", "csv/train")])
    sagemaker = aws("sagemaker")
    seen: list[tuple[str, str]] = []
    while not seen or seen[-1][0] not in DONE:
        job = sagemaker.describe_training_job(TrainingJobName="knn-polled")
        state = (job["TrainingJobStatus"], job["SecondaryStatus"])
        if not seen or seen[-1] != state:
            seen.append(state)
    assert seen == STATES
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [s for _, s in STATES]


def test_list_training_jobs_reports_the_real_status(aws, trained):
    sagemaker = aws("sagemaker")
    summaries = sagemaker.list_training_jobs()["TrainingJobSummaries"]
    assert {"knn-main": "Completed"}.items() <= {
        s["TrainingJobName"]: s["TrainingJobStatus"] for s in summaries
    }.items()
    with pytest.raises(ClientError) as error:
        _start_job(aws, "knn-main")
    assert error.value.response["Error"]["Code"] == "ResourceInUse"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad-hyperparameter", "predictor_type must be one of classifier, regressor"),
        ("not-knn", "is not supported by the local cloud; it runs the built-in k-NN"),
        ("empty-train", "Unable to read the train channel: the train channel has no records"),
        ("wrong-feature-dim", "feature_dim is 4 but the train channel has 5 columns"),
        ("no-train-channel", "required 'train' channel"),
        ("missing-prefix", 'No S3 objects found under S3 URL "s3://knn-provider-data/nothing/"'),
        ("unsupported-content-type", "unsupported train channel content type 'application/json'"),
    ],
)
def test_failed_jobs_explain_why(aws, dataset, case, expected):
    hyperparameters, image, channels = dict(HYPERPARAMETERS), KNN_IMAGE, None
    if case == "bad-hyperparameter":
        hyperparameters["predictor_type"] = "classifer"
    elif case == "not-knn":
        image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    elif case == "empty-train":
        channels = [_channel("train", "empty/train")]
    elif case == "wrong-feature-dim":
        hyperparameters["feature_dim"] = "4"
    elif case == "no-train-channel":
        channels = [_channel("test", "csv/test")]
    elif case == "missing-prefix":
        channels = [_channel("train", "nothing")]
    elif case == "unsupported-content-type":
        channels = [_channel("train", "csv/train", "application/json")]
    _start_job(aws, f"fail-{case}", hyperparameters, image, channels)
    job, seen = _wait_job(aws, f"fail-{case}")
    assert seen[0][0] == "InProgress"
    assert job["TrainingJobStatus"] == "Failed" and job["SecondaryStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")
    assert expected in job["FailureReason"]
    assert "ModelArtifacts" not in job
    assert "TrainingEndTime" in job


def test_stop_training_job(aws, dataset):
    sagemaker = aws("sagemaker")
    _start_job(aws, "knn-stopped")
    sagemaker.stop_training_job(TrainingJobName="knn-stopped")
    job, seen = _wait_job(aws, "knn-stopped")
    assert job["TrainingJobStatus"] == "Stopped" and "ModelArtifacts" not in job
    assert "Stopping" in [t["Status"] for t in job["SecondaryStatusTransitions"]]
    with pytest.raises(ClientError) as error:
        sagemaker.stop_training_job(TrainingJobName="knn-stopped")
    assert "in status Stopped" in error.value.response["Error"]["Message"]
    stopped = sagemaker.list_training_jobs(StatusEquals="Stopped")["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in stopped] == ["knn-stopped"]


def test_regressor_reports_mse_and_reads_gzip_channels(aws, dataset):
    train = _channel("train", "csvgz/train", "text/csv; label_size=1")
    train["CompressionType"] = "Gzip"
    hyperparameters = dict(HYPERPARAMETERS, predictor_type="regressor", sample_size="5000")
    _start_job(
        aws, "knn-regressor", hyperparameters, channels=[train, _channel("test", "csv/test")]
    )
    job, _seen = _wait_job(aws, "knn-regressor")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    (metric,) = job["FinalMetricDataList"]
    assert metric["MetricName"] == "test:mse"
    model = _download_model(aws, job["ModelArtifacts"]["S3ModelArtifacts"])
    test = dataset["test"]
    mse = float(np.mean((model.predict(test[:, :5]).predicted_label - test[:, 5]) ** 2))
    assert metric["Value"] == pytest.approx(mse)


# -- endpoints ------------------------------------------------------------------------------
def test_endpoint_is_creating_until_the_model_is_loaded(aws, endpoint):
    assert endpoint["first_status"] == "Creating"
    assert endpoint["wait_seconds"] < 5
    described = aws("sagemaker").describe_endpoint(EndpointName="knn-main")
    assert described["EndpointStatus"] == "InService"
    variant = described["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic" and variant["CurrentInstanceCount"] == 1
    listed = aws("sagemaker").list_endpoints(StatusEquals="InService")["Endpoints"]
    assert "knn-main" in [e["EndpointName"] for e in listed]


def _requests(rows: np.ndarray) -> dict[str, bytes]:
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    protobuf = io.BytesIO()
    write_numpy_to_dense_tensor(protobuf, rows.astype("float32"))
    instances = [{"features": [int(v) for v in row]} for row in rows]
    return {
        "text/csv": "\n".join(",".join(str(int(v)) for v in row) for row in rows).encode(),
        "application/json": json.dumps({"instances": instances}).encode(),
        "application/jsonlines": "\n".join(json.dumps(i) for i in instances).encode(),
        "application/x-recordio-protobuf": protobuf.getvalue(),
    }


def _labels(body: bytes, accept: str) -> list[float]:
    if accept == "application/json":
        return [p["predicted_label"] for p in json.loads(body)["predictions"]]
    if accept == "application/jsonlines":
        return [json.loads(line)["predicted_label"] for line in body.splitlines()]
    from sagemaker.amazon.common import read_records

    records = read_records(io.BytesIO(body))
    return [r.label["predicted_label"].float32_tensor.values[0] for r in records]


@pytest.mark.parametrize(
    "accept", ["application/json", "application/jsonlines", "application/x-recordio-protobuf"]
)
def test_invocations_match_the_trained_model_in_every_format(aws, endpoint, dataset, accept):
    rows = dataset["test"][:40, :5]
    expected = endpoint["model"].predict(rows).predicted_label.tolist()
    for content_type, body in _requests(rows).items():
        answer = _invoke(aws, body, content_type, accept)
        assert answer["ContentType"] == accept
        assert answer["InvokedProductionVariant"] == "AllTraffic"
        assert _labels(answer["Body"].read(), accept) == expected, content_type


def test_verbose_answers_carry_neighbours(aws, endpoint, dataset):
    rows = dataset["test"][:20, :5]
    body = _requests(rows)["text/csv"]
    answer = _invoke(aws, body, "text/csv", "application/json; verbose=true")
    predictions = json.loads(answer["Body"].read())["predictions"]
    local = endpoint["model"].predict(rows, verbose=True)
    for prediction, distances, labels in zip(
        predictions, local.distances, local.labels, strict=True
    ):
        assert len(prediction["distances"]) == len(prediction["labels"]) == 10
        assert prediction["distances"] == sorted(prediction["distances"])
        assert prediction["distances"] == pytest.approx(distances.tolist())
        assert prediction["labels"] == labels.tolist()


def test_the_workshop_lambda_request(aws, endpoint):
    answer = _invoke(
        aws, json.dumps({"features": [1, 2, 3, 4, 5]}), "application/jsonlines", "application/json"
    )
    (prediction,) = json.loads(answer["Body"].read())["predictions"]
    assert prediction["predicted_label"] in [float(label) for label in range(12)]


def test_invocations_are_served_concurrently(aws, endpoint, dataset):
    rows = dataset["test"][:200, :5]
    expected = endpoint["model"].predict(rows).predicted_label.tolist()
    runtime = aws("sagemaker-runtime")
    failures: list[str] = []

    def worker(offset: int) -> None:
        for start in range(offset, 200, 40):
            chunk = rows[start : start + 10]
            body = _requests(chunk)["text/csv"]
            answer = runtime.invoke_endpoint(
                EndpointName="knn-main",
                Body=body,
                ContentType="text/csv",
                Accept="application/json",
            )
            got = [p["predicted_label"] for p in json.loads(answer["Body"].read())["predictions"]]
            if got != expected[start : start + 10]:
                failures.append(f"rows {start}..{start + 10}")

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(0, 40, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures


@pytest.fixture(scope="module")
def many_rows():
    """200,000 questionnaire answers: one CSV request of about 2 MB."""
    return generator.generate(rows=200_000, seed=9).features


def _csv_labels(aws, rows: np.ndarray) -> list[float]:
    body = format_int_csv(rows)
    assert len(body) < 6 * 2**20
    answer = _invoke(aws, body, "text/csv", "application/json")
    return _labels(answer["Body"].read(), "application/json")


def test_a_large_batch_answers_what_single_rows_answer(aws, endpoint, many_rows):
    labels = _csv_labels(aws, many_rows)
    assert len(labels) == len(many_rows)
    assert labels == endpoint["model"].predict(many_rows).predicted_label.tolist()
    sample = np.random.default_rng(0).choice(len(many_rows), size=150, replace=False)
    for index in sample:
        single = _invoke(aws, format_int_csv(many_rows[index : index + 1]), "text/csv", "*/*")
        assert _labels(single["Body"].read(), "application/json") == [labels[index]], index


@pytest.mark.parametrize("accept", ["application/json", "application/x-recordio-protobuf"])
def test_a_large_protobuf_batch_answers_like_csv(aws, endpoint, many_rows, accept):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    rows = many_rows[:100_000]  # about 4.8 MB of RecordIO: under the 6 MB request limit
    protobuf = io.BytesIO()
    write_numpy_to_dense_tensor(protobuf, rows.astype("float32"))
    answer = _invoke(aws, protobuf.getvalue(), "application/x-recordio-protobuf", accept)
    assert answer["ContentType"] == accept
    assert _labels(answer["Body"].read(), accept) == _csv_labels(aws, rows)


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "expected"),
    [
        (b"1,2,3", "text/csv", "application/json", "expected 5 features per record"),
        (b'{"instances": 5}', "application/json", "application/json", "malformed application/json"),
        (b"\xd7\x00\xff", "application/x-recordio-protobuf", "application/json", "malformed"),
        (b"1,2,3,4,5", "application/x-npy", "application/json", "unsupported content type"),
        (b"1,2,3,4,5", "text/csv", "text/csv", "unsupported accept type 'text/csv'"),
    ],
)
def test_bad_requests_are_model_errors(aws, endpoint, body, content_type, accept, expected):
    runtime = aws("sagemaker-runtime")
    with pytest.raises(runtime.exceptions.ModelError) as error:
        _invoke(aws, body, content_type, accept)
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert expected in response["OriginalMessage"]
    assert expected in response["Error"]["Message"]
    assert response["Error"]["Message"].startswith("Received client error (400) from primary")
    # The runtime's REST-JSON protocol: the code travels in a header, the fields in the body.
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    stream_arn = response["LogStreamArn"]
    group = "/aws/sagemaker/Endpoints/knn-main"
    assert stream_arn.startswith(f"arn:aws:logs:{REGION}:123456789012:log-group:{group}")
    stream = stream_arn.split(":log-stream:", 1)[1]
    assert stream.startswith("AllTraffic/i-")

    def logged() -> bool:
        events = aws("logs").get_log_events(logGroupName=group, logStreamName=stream)["events"]
        return any(expected in e["message"] for e in events)

    wait_for(logged, "the client error in the endpoint's log stream", timeout=5)


def test_unknown_endpoint_is_a_validation_error(aws, endpoint):
    runtime = aws("sagemaker-runtime")
    with pytest.raises(ClientError) as error:
        _invoke(aws, b"1,2,3,4,5", "text/csv", "application/json", name="no-such-endpoint")
    assert error.value.response["Error"]["Code"] == "ValidationError"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    headers = error.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "ValidationError"
    assert error.value.response["Error"]["Message"] == (
        "Endpoint no-such-endpoint of account 123456789012 not found."
    )
    assert isinstance(error.value, runtime.exceptions.ValidationError)


def test_update_endpoint_swaps_the_model(aws, endpoint, dataset):
    sagemaker = aws("sagemaker")
    _start_job(
        aws, "knn-k1", dict(HYPERPARAMETERS, k="1"), channels=[_channel("train", "csv/train")]
    )
    job, _seen = _wait_job(aws, "knn-k1")
    assert "FinalMetricDataList" not in job  # no test channel, no metric
    _deploy(aws, "knn-k1", job["ModelArtifacts"]["S3ModelArtifacts"])
    sagemaker.create_endpoint(EndpointName="knn-update", EndpointConfigName="knn-main")
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="knn-update", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    sagemaker.update_endpoint(EndpointName="knn-update", EndpointConfigName="knn-k1")
    assert sagemaker.describe_endpoint(EndpointName="knn-update")["EndpointStatus"] == "Updating"
    # The old model keeps serving while the new one loads.
    body = _requests(dataset["test"][:1, :5])["text/csv"]
    answer = _invoke(aws, body, "text/csv", "application/json; verbose=true", name="knn-update")
    assert len(json.loads(answer["Body"].read())["predictions"][0]["labels"]) in (1, 10)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="knn-update", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    described = sagemaker.describe_endpoint(EndpointName="knn-update")
    assert described["EndpointConfigName"] == "knn-k1"
    answer = _invoke(aws, body, "text/csv", "application/json; verbose=true", name="knn-update")
    assert len(json.loads(answer["Body"].read())["predictions"][0]["labels"]) == 1
    sagemaker.delete_endpoint(EndpointName="knn-update")


def test_endpoint_with_a_missing_artifact_fails(aws, endpoint):
    sagemaker = aws("sagemaker")
    _deploy(aws, "knn-missing", f"s3://{BUCKET}/output/nothing/output/model.tar.gz")
    sagemaker.create_endpoint(EndpointName="knn-missing", EndpointConfigName="knn-missing")
    with pytest.raises(WaiterError):
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName="knn-missing", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    described = sagemaker.describe_endpoint(EndpointName="knn-missing")
    assert described["EndpointStatus"] == "Failed"
    assert "Failed to download model data" in described["FailureReason"]
    with pytest.raises(ClientError) as error:
        _invoke(aws, b"1,2,3,4,5", "text/csv", "application/json", name="knn-missing")
    assert error.value.response["Error"]["Code"] == "ValidationError"
    sagemaker.delete_endpoint(EndpointName="knn-missing")


def test_deleted_endpoint_stops_answering(aws, endpoint):
    sagemaker = aws("sagemaker")
    assert _invoke(aws, b"1,2,3,4,5", "text/csv", "application/json")["Body"].read()
    sagemaker.delete_endpoint(EndpointName="knn-main")
    with pytest.raises(ClientError) as error:
        _invoke(aws, b"1,2,3,4,5", "text/csv", "application/json")
    assert error.value.response["Error"]["Code"] == "ValidationError"
    assert "knn-main" not in [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    # Models and configs stay until deleted, as on AWS.
    sagemaker.delete_endpoint_config(EndpointConfigName="knn-main")
    sagemaker.delete_model(ModelName="knn-main")


def test_lists_honour_their_filters_order_and_pages(aws):
    """moto's ListModels ignored NameContains (a learner's clean-up removed another's models)."""
    sagemaker = aws("sagemaker")
    names = ["lists-alice-knn-1", "lists-bob-knn-1", "lists-malice-knn-2", "lists-alice-knn-3"]
    for name in names:
        _deploy(aws, name, f"s3://{BUCKET}/output/{name}/model.tar.gz")
        time.sleep(0.01)  # distinct creation times
    for operation, key, field in (
        ("list_models", "Models", "ModelName"),
        ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
    ):
        listed = getattr(sagemaker, operation)(NameContains="lists-alice-")[key]
        assert [e[field] for e in listed] == ["lists-alice-knn-3", "lists-alice-knn-1"]
        by_name = getattr(sagemaker, operation)(
            NameContains="lists-", SortBy="Name", SortOrder="Ascending", MaxResults=3
        )
        assert [e[field] for e in by_name[key]] == sorted(names)[:3]
        rest = getattr(sagemaker, operation)(
            NameContains="lists-",
            SortBy="Name",
            SortOrder="Ascending",
            MaxResults=3,
            NextToken=by_name["NextToken"],
        )
        assert [e[field] for e in rest[key]] == sorted(names)[3:] and "NextToken" not in rest
    with pytest.raises(ClientError) as error:
        sagemaker.list_models(SortBy="Status")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for name in names:
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
        sagemaker.delete_model(ModelName=name)
    assert sagemaker.list_models(NameContains="lists-")["Models"] == []


def test_list_training_jobs_filters_before_it_pages(aws, trained):
    sagemaker = aws("sagemaker")
    first = sagemaker.list_training_jobs(NameContains="knn-main", MaxResults=1)
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == ["knn-main"]
    assert "NextToken" not in first
