import time
from types import SimpleNamespace

import numpy as np
import pytest

from mysfits_lab.lab import LabError
from mysfits_lab.recommender import generator
from mysfits_lab.steps import recommendations as rec
from mysfits_lab.views import recommendations as views
from tests.unit.fakes import FakeLab, Script


def test_labels_map_to_the_twelve_mysfits_in_table_order():
    mysfits = rec.catalogue()
    assert len(mysfits) == 12
    assert mysfits[0]["name"] == "Evangeline" and mysfits[8]["name"] == "Atlantis"
    assert mysfits[8]["mysfitId"] == "c0684344-1eb7-40e7-b334-06d25ac9268c"
    assert all("<svg" in views.picture(m) for m in mysfits)


def test_questionnaire_has_five_questions_of_eight_answers():
    assert len(views.QUESTIONS) == 5
    assert all(len(options) == 8 for _question, options in views.QUESTIONS)
    assert len(views.DEFAULT_ANSWERS) == 5


def test_explore_counts_every_row_once():
    dataset = generator.generate(rows=5_000, seed=3)
    summary = views.explore(dataset)
    assert summary["fans"].sum() == 5_000
    assert list(summary.columns[:2]) == ["mysfit", "fans"]
    assert summary["q1 usual answer"].between(1, 8).all()


def test_channels_are_written_label_first():
    rows = np.array([[1, 2, 3, 4, 5, 11], [8, 7, 6, 5, 4, 0]])
    assert rec._label_first_csv(rows).decode().splitlines() == ["11,1,2,3,4,5", "0,8,7,6,5,4"]


class _FakePredictor:
    def __init__(self, label):
        self.label, self.seen = label, []

    def predict(self, rows):
        self.seen.append(np.asarray(rows).tolist())
        return {"predictions": [{"predicted_label": float(self.label)} for _ in rows]}


def test_recommend_maps_the_predicted_label_to_its_mysfit():
    predictor = _FakePredictor(8)
    mysfit = rec.recommend(predictor, [1, 2, 3, 4, 5])
    assert mysfit["name"] == "Atlantis" and mysfit["label"] == 8
    assert predictor.seen == [[[1, 2, 3, 4, 5]]]


@pytest.mark.parametrize(
    "answers", [[1, 2, 3, 4], [0, 2, 3, 4, 5], [1, 2, 3, 4, 9], [1.5, 2, 3, 4, 5]]
)
def test_recommend_rejects_answers_outside_the_questionnaire(answers):
    with pytest.raises(LabError, match="five whole numbers from 1 to 8"):
        rec.recommend(_FakePredictor(0), answers)


def test_batched_prediction_keeps_order():
    class Echo:
        def predict(self, rows):
            return {"predictions": [{"predicted_label": float(r[0])} for r in rows]}

    features = np.arange(25).reshape(25, 1)
    assert rec.predict(Echo(), features, batch=7).tolist() == list(range(25))


class _TrainingLogs:
    def __init__(self):
        self.lines = []

    def describe_log_streams(self, logGroupName, logStreamNamePrefix):
        return {"logStreams": [{"logStreamName": f"{logStreamNamePrefix}algo-1"}]}

    def get_log_events(self, nextToken="0", **kwargs):
        start = int(nextToken)
        return {
            "events": [{"message": m} for m in self.lines[start:]],
            "nextForwardToken": str(len(self.lines)),
        }


def _job(status, *transitions, reason=""):
    return {
        "TrainingJobStatus": status,
        "SecondaryStatusTransitions": [
            {"Status": t, "StatusMessage": t.lower()} for t in transitions
        ],
        "FailureReason": reason,
    }


def test_training_is_followed_status_by_status_and_line_by_line(capsys):
    logs = _TrainingLogs()
    jobs = [_job("InProgress", "Starting"), _job("InProgress", "Starting", "Training"),
            _job("Completed", "Starting", "Training", "Completed")]  # fmt: skip

    class Sagemaker:
        def describe_training_job(self, TrainingJobName):
            logs.lines.append(f"line {len(logs.lines) + 1}")
            return jobs.pop(0)

    job = rec.follow_training(FakeLab(sagemaker=Sagemaker(), logs=logs), "job")
    assert job["TrainingJobStatus"] == "Completed"
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "[Starting] starting", "  | line 1",
        "[Training] training", "  | line 2",
        "[Completed] completed", "  | line 3",
    ]  # fmt: skip


def test_a_failed_training_job_fails_the_step_with_its_reason():
    sagemaker = SimpleNamespace(
        describe_training_job=Script(_job("Failed", "Failed", reason="bad channel"))
    )
    with pytest.raises(LabError, match="training job job Failed: bad channel"):
        rec.follow_training(FakeLab(sagemaker=sagemaker, logs=_TrainingLogs()), "job")


def test_a_failed_endpoint_fails_the_wait_at_once():
    describe = Script(
        {"EndpointStatus": "Creating"}, {"EndpointStatus": "Failed", "FailureReason": "no model"}
    )
    started = time.monotonic()
    with pytest.raises(LabError, match="endpoint failed: no model"):
        rec.wait_for_endpoint(FakeLab(sagemaker=SimpleNamespace(describe_endpoint=describe)))
    assert time.monotonic() - started < 1 and describe.calls == 2


def test_prediction_sends_large_batches_within_the_endpoint_limits():
    class Counting:
        def __init__(self):
            self.sizes = []

        def predict(self, rows):
            self.sizes.append(len(rows))
            return {"predictions": [{"predicted_label": float(r[0] % 12)} for r in rows]}

    predictor = Counting()
    features = np.arange(250_000).reshape(-1, 1)
    assert rec.predict(predictor, features).tolist() == (np.arange(250_000) % 12).tolist()
    assert predictor.sizes == [100_000, 100_000, 50_000]
    # 100,000 rows of five answers and their predictions stay under SageMaker's 6 MB.
    rows = generator.generate(rows=rec.PREDICT_BATCH, seed=1).features
    assert len(rec.csv_serializer().serialize(rows)) < 6 * 2**20
    assert len(b'{"predicted_label": 11.0}, ') * rec.PREDICT_BATCH < 6 * 2**20


@pytest.mark.parametrize(
    "data",
    [
        np.array([[3, 5, 1, 7, 2]]),
        np.array([[1, -20, 300], [4_000_000, 0, -1]], dtype=np.int32),
        np.arange(40, dtype=np.uint8).reshape(8, 5),
        np.array([[1.5, 2.0, 3.25]]),  # floats: the SDK's own writer
        [[1, 2], [3, 4]],
        np.array([1, 2, 3]),
    ],
)
def test_the_csv_serializer_writes_what_the_sdk_writes(data):
    from sagemaker.serializers import CSVSerializer

    serializer = rec.csv_serializer()
    assert isinstance(serializer, CSVSerializer) and serializer.CONTENT_TYPE == "text/csv"
    assert serializer.serialize(data) == CSVSerializer().serialize(data)


def test_the_sdk_config_is_validated_once_and_other_configs_always(monkeypatch):
    import sagemaker.utils

    calls = []
    monkeypatch.setattr(sagemaker.utils, "validate_sagemaker_config", calls.append)
    rec._validate_config_once()
    sagemaker.utils.validate_sagemaker_config(rec.SDK_CONFIG)
    other = {"SchemaVersion": "1.0"}
    sagemaker.utils.validate_sagemaker_config(other)
    assert calls == [other]
    rec._validate_config_once()  # idempotent: no second wrapper
    sagemaker.utils.validate_sagemaker_config(other)
    assert calls == [other, other]
