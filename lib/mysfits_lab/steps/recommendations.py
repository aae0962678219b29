"""Module 7, part 1: the k-NN recommender — data, training, endpoint, evaluation.

Training and hosting go through the SageMaker Python SDK v2, exactly as on AWS; on the local
cloud the SDK finds the endpoint through ``AWS_ENDPOINT_URL``, which ``Lab.connect`` sets.
The plots and the questionnaire are in ``mysfits_lab.views.recommendations``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from ..lab import Lab, LabError
from ..paths import data_dir, learner_dir
from ..recommender import evaluation, generator
from ..waiting import wait_until
from . import iam
from .buckets import delete_bucket, ensure_bucket
from .logs import LogTail

# The SDK v2 warns on import that v3 exists (v3 has no built-in algorithm estimators), and logs
# where it looked for config files: noise in a learner's notebook.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)

MODULE = "07-recommendations"
PREFIX = "mysfit-recommendation-dataset"
TRAINING_INSTANCE = "ml.m5.2xlarge"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
HOSTING_INSTANCE = "ml.m4.xlarge"
# The original workshop's hyperparameters (the built-in algorithm's defaults otherwise).
HYPERPARAMETERS = {"feature_dim": 5, "k": 10, "sample_size": 100000, "predictor_type": "classifier"}


# -- data ---------------------------------------------------------------------------------
def workdir(lab: Lab) -> Path:
    path = learner_dir(lab.learner) / "recommender"
    path.mkdir(parents=True, exist_ok=True)
    return path


_sdk_import: threading.Thread | None = None


def preload_sdk() -> None:
    """Import the SageMaker SDK in the background: it takes 3-5 s, which the data's generation
    and upload hide; ``train`` then finds it loaded (an import in progress is waited for)."""
    global _sdk_import
    if _sdk_import is None:
        _sdk_import = threading.Thread(
            target=importlib.import_module, args=("sagemaker.estimator",), daemon=True
        )
        _sdk_import.start()


def generate_data(lab: Lab, rows: int = 1_000_000, seed: int = 0) -> generator.Dataset:
    """Generate the questionnaire data set and keep a csv.gz copy (the original's format)."""
    preload_sdk()
    dataset = generator.generate(rows=rows, seed=seed)
    generator.write_csv_gz(dataset, workdir(lab) / "mysfit-preferences.csv.gz")
    return dataset


def catalogue() -> list[dict[str, Any]]:
    """The 12 mysfits in label order (the order of the original table load)."""
    items = json.loads((data_dir() / "populate-dynamodb.json").read_text())["MysfitsTable"]
    mysfits = []
    for request in items:
        item = request["PutRequest"]["Item"]
        mysfits.append(
            {
                "mysfitId": item["MysfitId"]["S"],
                "name": item["Name"]["S"],
                "species": item["Species"]["S"],
                "stem": item["ThumbImageUri"]["S"].rsplit("/", 1)[-1].split("_", 1)[0],
            }
        )
    return mysfits


def split(dataset: generator.Dataset, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The seeded 90/10 split of the original notebook."""
    return generator.split(dataset.data, train_fraction=0.9, seed=seed)


def _label_first_csv(rows: np.ndarray) -> bytes:
    # The built-in algorithm reads CSV with the label in the first column (label_size=1).
    return generator.format_int_csv(np.column_stack([rows[:, -1], rows[:, :-1]]))


def upload(lab: Lab, train: np.ndarray, test: np.ndarray) -> dict[str, str]:
    """Upload both channels as CSV; returns their S3 URIs (keys carry a content hash)."""
    bucket = ensure_bucket(lab, "sagemaker")
    s3 = lab.client("s3")
    uris = {}
    for channel, rows in (("train", train), ("test", test)):
        body = _label_first_csv(rows)
        digest = hashlib.sha256(body).hexdigest()[:12]
        key = f"{PREFIX}/{channel}/{digest}/data.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
        uris[channel] = f"s3://{bucket}/{PREFIX}/{channel}/{digest}/"
    return uris


# -- SageMaker ----------------------------------------------------------------------------
# The SDK's estimators report each call to an AWS telemetry host unless opted out; an explicit
# config also keeps the SDK from searching the file system for defaults.
SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def _validate_config_once() -> None:
    """The SDK checks its defaults config against its JSON schema at every lookup: some 20 per
    ``fit`` or ``deploy``, 0.1-0.2 s each (jsonschema re-checks the SDK's own schema every
    time). ``SDK_CONFIG`` is a constant that ``Session()`` validates when it is created; later
    lookups of that very object skip the check, any other config is checked as before."""
    import sagemaker.utils

    check = sagemaker.utils.validate_sagemaker_config
    if getattr(check, "skips", None) is SDK_CONFIG:
        return

    def validate(sagemaker_config: dict | None = None) -> None:
        if sagemaker_config is not SDK_CONFIG:
            check(sagemaker_config)

    validate.skips = SDK_CONFIG  # type: ignore[attr-defined]
    sagemaker.utils.validate_sagemaker_config = validate


def sagemaker_session(lab: Lab) -> Any:
    """A SageMaker SDK session on the lab's boto3 session, with its own default bucket."""
    import sagemaker

    for name in ("sagemaker", "botocore.configprovider"):
        logging.getLogger(name).setLevel(logging.WARNING)  # progress is shown by lib instead
    _validate_config_once()
    return sagemaker.Session(
        boto_session=lab.session,
        default_bucket=ensure_bucket(lab, "sagemaker"),
        sagemaker_config=SDK_CONFIG,
    )


def ensure_role(lab: Lab) -> str:
    """The execution role SageMaker assumes to read the data and write the model."""
    bucket = lab.bucket_name("sagemaker")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                    "cloudwatch:PutMetricData",
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": "*",
            },
        ],
    }
    return iam.ensure_role(
        lab, role_name(lab), "sagemaker.amazonaws.com", inline_policies={"mysfits-knn": policy}
    )


def role_name(lab: Lab) -> str:
    return lab.name("MysfitsSageMakerRole")


def knn_image(lab: Lab) -> str:
    from sagemaker import image_uris

    return image_uris.retrieve("knn", lab.region)


def job_name(lab: Lab, uris: dict[str, str], hyperparameters: dict[str, Any]) -> str:
    """Same data and hyperparameters → same job, so a rerun reuses the trained model."""
    fingerprint = json.dumps([uris, hyperparameters], sort_keys=True).encode()
    return lab.name(f"knn-{hashlib.sha256(fingerprint).hexdigest()[:10]}")[:63]


def _describe_job(lab: Lab, name: str) -> dict[str, Any] | None:
    try:
        return lab.client("sagemaker").describe_training_job(TrainingJobName=name)
    except ClientError:
        return None


def train(lab: Lab, uris: dict[str, str], hyperparameters: dict[str, Any] | None = None) -> Any:
    """Train (or reuse) the k-NN model with the SDK's Estimator; returns the estimator."""
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    hyperparameters = dict(hyperparameters or HYPERPARAMETERS)
    session = sagemaker_session(lab)
    name = job_name(lab, uris, hyperparameters)
    existing = _describe_job(lab, name)
    if existing and existing["TrainingJobStatus"] == "Completed":
        print(f"Reusing training job {name} (same data and hyperparameters).")
        return Estimator.attach(name, sagemaker_session=session)
    estimator = Estimator(
        image_uri=knn_image(lab),
        role=ensure_role(lab),
        instance_count=1,
        instance_type=TRAINING_INSTANCE,
        output_path=f"s3://{lab.bucket_name('sagemaker')}/{PREFIX}/output",
        sagemaker_session=session,
        hyperparameters=hyperparameters,
        tags=lab.tag_list(),
    )
    channels = {
        channel: TrainingInput(uri, content_type="text/csv;label_size=1")
        for channel, uri in uris.items()
    }
    if existing is None or existing["TrainingJobStatus"] in ("Failed", "Stopped"):
        if existing is not None:
            name = f"{name[:50]}-{int(time.time())}"
        # wait=False: the SDK's own wait polls every 5-30 s; follow_training polls faster.
        estimator.fit(channels, job_name=name, wait=False)
        follow_training(lab, name)
        return estimator
    follow_training(lab, name)
    return Estimator.attach(name, sagemaker_session=session)


def follow_training(lab: Lab, name: str, timeout: float | None = None) -> dict[str, Any]:
    """Wait for a training job, printing its status changes and log lines as they come."""
    sm = lab.client("sagemaker")
    tail = LogTail(lab.client("logs"))
    seen: set[str] = set()

    def finished() -> dict[str, Any] | None:
        job = sm.describe_training_job(TrainingJobName=name)
        for transition in job.get("SecondaryStatusTransitions", []):
            if transition["Status"] not in seen:
                seen.add(transition["Status"])
                print(f"[{transition['Status']}] {transition.get('StatusMessage', '')}")
        tail.streams(TRAINING_LOG_GROUP, f"{name}/")
        return job if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") else None

    job = wait_until(
        finished,
        f"training job {name} to finish",
        timeout=timeout or lab.wait_budget(3600),
        interval=lab.poll_interval,
        hint=f"Its log lines are above and in log group {TRAINING_LOG_GROUP}.",
        progress=False,  # the status changes and log lines are the progress
    )
    tail.streams(TRAINING_LOG_GROUP, f"{name}/")  # the lines written after the last poll
    if job["TrainingJobStatus"] != "Completed":
        raise LabError(
            f"training job {name} {job['TrainingJobStatus']}: {job.get('FailureReason', '')}"
        )
    return job


def final_metrics(lab: Lab, estimator: Any) -> list[dict[str, str]]:
    job = lab.client("sagemaker").describe_training_job(
        TrainingJobName=estimator.latest_training_job.name
    )
    return [
        {"metric": m["MetricName"], "value": f"{m['Value']:.4f}"}
        for m in job.get("FinalMetricDataList", [])
    ]


def endpoint_name(lab: Lab) -> str:
    return lab.name("knn-ml-m4-xlarge")


def _endpoint(lab: Lab) -> dict[str, Any] | None:
    try:
        return lab.client("sagemaker").describe_endpoint(EndpointName=endpoint_name(lab))
    except ClientError:
        return None


def deploy(lab: Lab, estimator: Any) -> Any:
    """Host the model on an endpoint (reused when it already serves this model)."""
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor

    sm, name = lab.client("sagemaker"), endpoint_name(lab)
    job = estimator.latest_training_job.name
    current = _endpoint(lab)
    if current is None:
        # wait=False: the SDK would poll every 30 s; lib's waiter below polls faster.
        estimator.deploy(
            initial_instance_count=1,
            instance_type=HOSTING_INSTANCE,
            endpoint_name=name,
            model_name=job,
            wait=False,
            tags=lab.tag_list(),
        )
    elif current["EndpointConfigName"] != name or _config_model(lab, name) != job:
        model = estimator.create_model(name=job)
        model._create_sagemaker_model(instance_type=HOSTING_INSTANCE)
        config = f"{name}-{int(time.time())}"
        sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": job,
                    "InitialInstanceCount": 1,
                    "InstanceType": HOSTING_INSTANCE,
                }
            ],
        )
        sm.update_endpoint(EndpointName=name, EndpointConfigName=config)
    wait_for_endpoint(lab)
    lab.outputs.record(
        MODULE,
        {
            "recommendations.endpoint_name": name,
            "recommendations.training_job": job,
            "recommendations.model_data": estimator.model_data,
        },
    )
    return Predictor(
        name,
        sagemaker_session=estimator.sagemaker_session,
        serializer=csv_serializer(),
        deserializer=JSONDeserializer(),
    )


@functools.cache
def _integer_csv_serializer() -> type:
    from sagemaker.serializers import CSVSerializer

    class IntegerCSVSerializer(CSVSerializer):
        """The SDK's CSVSerializer, writing integer matrices with numpy: the same text, where
        the SDK's ``csv.writer`` row by row takes half a second per 100,000 rows."""

        def serialize(self, data: Any) -> Any:
            if (
                isinstance(data, np.ndarray)
                and data.ndim == 2
                and len(data)
                and data.shape[1]
                and data.dtype.kind in "iu"
            ):
                return generator.format_int_csv(data).decode().removesuffix("\n")
            return super().serialize(data)

    return IntegerCSVSerializer


def csv_serializer() -> Any:
    """The predictor's serializer: ``text/csv``, as the SDK's ``CSVSerializer`` writes it."""
    return _integer_csv_serializer()()


def _config_model(lab: Lab, config: str) -> str | None:
    try:
        described = lab.client("sagemaker").describe_endpoint_config(EndpointConfigName=config)
    except ClientError:
        return None
    return described["ProductionVariants"][0]["ModelName"]


def wait_for_endpoint(lab: Lab) -> dict[str, Any]:
    def in_service() -> dict[str, Any] | None:
        endpoint = _endpoint(lab)
        if endpoint and endpoint["EndpointStatus"] == "Failed":
            raise LabError(f"endpoint failed: {endpoint.get('FailureReason', '')}")
        return endpoint if endpoint and endpoint["EndpointStatus"] == "InService" else None

    return wait_until(
        in_service,
        f"endpoint {endpoint_name(lab)} to be InService",
        timeout=lab.wait_budget(1800),
        interval=lab.poll_interval * 2,
    )


# -- evaluation and recommendation --------------------------------------------------------
# Rows per InvokeEndpoint. SageMaker takes at most 6 MB each way: 100,000 rows of five answers
# are about 1 MB of CSV, their predictions about 2.6 MB of JSON.
PREDICT_BATCH = 100_000


def predict(predictor: Any, features: np.ndarray, batch: int = PREDICT_BATCH) -> np.ndarray:
    """Labels predicted by the endpoint, in batches of CSV rows."""
    labels = []
    for start in range(0, len(features), batch):
        answer = predictor.predict(features[start : start + batch])
        labels += [int(p["predicted_label"]) for p in answer["predictions"]]
    return np.asarray(labels)


@dataclass
class Evaluation:
    accuracy: float
    bayes_ceiling: float
    baseline: float
    confusion: np.ndarray
    rows: int

    def table(self) -> list[dict[str, str]]:
        return [
            {"measure": "k-NN accuracy on the test split", "value": f"{self.accuracy:.3f}"},
            {"measure": "Bayes-optimal ceiling", "value": f"{self.bayes_ceiling:.3f}"},
            {"measure": "k-NN / ceiling", "value": f"{self.accuracy / self.bayes_ceiling:.1%}"},
            {"measure": "majority-class baseline", "value": f"{self.baseline:.3f}"},
            {"measure": "test rows", "value": str(self.rows)},
        ]


def evaluate(
    predictor: Any, dataset: generator.Dataset, test: np.ndarray, train: np.ndarray
) -> Evaluation:
    predicted = predict(predictor, test[:, :-1])
    truth = test[:, -1]
    return Evaluation(
        accuracy=evaluation.accuracy(truth, predicted),
        bayes_ceiling=dataset.report.bayes_accuracy,
        baseline=evaluation.majority_baseline(truth, train[:, -1]),
        confusion=evaluation.confusion_matrix(truth, predicted, n_labels=12),
        rows=len(test),
    )


def recommend(predictor: Any, answers: list[int]) -> dict[str, Any]:
    """The mysfit the endpoint recommends for five answers (each 1-8)."""
    if len(answers) != 5 or not all(isinstance(a, int) and 1 <= a <= 8 for a in answers):
        raise LabError(f"answers must be five whole numbers from 1 to 8 (got {answers!r})")
    label = int(predictor.predict(np.asarray([answers]))["predictions"][0]["predicted_label"])
    return catalogue()[label] | {"label": label}


# -- clean-up -----------------------------------------------------------------------------
def _owned(lab: Lab, name: str) -> bool:
    """Whether this module made the model or endpoint config ``name`` for this learner: the
    training job names (models are named after them) and the endpoint's configs, matched
    whole: learner ``al`` never takes ``alice-knn-...``, nor learner ``al-knn``'s names."""
    job = rf"{re.escape(lab.name('knn'))}-[0-9a-f]{{10}}"
    return re.fullmatch(rf"(?:{job}|{re.escape(endpoint_name(lab))})(?:-\d+)?", name) is not None


def _owned_names(lab: Lab, operation: str, key: str, field: str) -> list[str]:
    """Every page of a List call, then our own filter: a server-side ``NameContains`` only
    narrows the list (moto's ListModels ignored it once, and removed another learner's models)."""
    pages = lab.client("sagemaker").get_paginator(operation).paginate(NameContains=lab.name("knn"))
    return [e[field] for page in pages for e in page[key] if _owned(lab, e[field])]


def teardown(lab: Lab) -> list[str]:
    sm, removed = lab.client("sagemaker"), []
    endpoint = _endpoint(lab)
    if endpoint:
        sm.delete_endpoint(EndpointName=endpoint_name(lab))
        removed.append(f"endpoint {endpoint_name(lab)}")
    configs = _owned_names(lab, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName")
    for config in configs:
        sm.delete_endpoint_config(EndpointConfigName=config)
        removed.append(f"endpoint config {config}")
    for model in _owned_names(lab, "list_models", "Models", "ModelName"):
        sm.delete_model(ModelName=model)
        removed.append(f"model {model}")
    removed += delete_bucket(lab, "sagemaker")
    removed += iam.delete_role(lab, role_name(lab))
    lab.outputs.forget(
        "recommendations.endpoint_name",
        "recommendations.training_job",
        "recommendations.model_data",
    )
    return removed


# -- whole module (for lab.prepare) --------------------------------------------------------
def build(lab: Lab, rows: int = 1_000_000, seed: int = 0) -> dict[str, Any]:
    dataset = generate_data(lab, rows, seed)
    train_rows, test_rows = split(dataset, seed)
    deploy(lab, train(lab, upload(lab, train_rows, test_rows)))
    return {"recommendations.endpoint_name": endpoint_name(lab)}


def is_built(lab: Lab) -> bool:
    endpoint = _endpoint(lab)
    return bool(endpoint) and endpoint["EndpointStatus"] == "InService"
