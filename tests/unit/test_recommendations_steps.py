import numpy as np
import pytest

from mysfits_lab.lab import LabError
from mysfits_lab.recommender import generator
from mysfits_lab.steps import recommendations as rec


def test_labels_map_to_the_twelve_mysfits_in_table_order():
    mysfits = rec.catalogue()
    assert len(mysfits) == 12
    assert mysfits[0]["name"] == "Evangeline" and mysfits[8]["name"] == "Atlantis"
    assert mysfits[8]["mysfitId"] == "c0684344-1eb7-40e7-b334-06d25ac9268c"
    assert all("<svg" in rec.picture(m) for m in mysfits)


def test_questionnaire_has_five_questions_of_eight_answers():
    assert len(rec.QUESTIONS) == 5
    assert all(len(options) == 8 for _question, options in rec.QUESTIONS)
    assert len(rec.DEFAULT_ANSWERS) == 5


def test_explore_counts_every_row_once():
    dataset = generator.generate(rows=5_000, seed=3)
    summary = rec.explore(dataset)
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
