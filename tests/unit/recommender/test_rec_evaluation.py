import numpy as np
import pytest

from mysfits_lab.recommender.evaluation import (
    accuracy,
    confusion_matrix,
    evaluate,
    majority_baseline,
    mean_squared_error,
)
from mysfits_lab.recommender.hyperparameters import parse_hyperparameters
from mysfits_lab.recommender.knn import train


def test_accuracy_counts_exact_matches():
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 0]) == 0.5
    assert accuracy(np.array([1.0, 2.0]), np.array([1, 2])) == 1.0


def test_mismatched_or_empty_inputs_are_rejected():
    with pytest.raises(ValueError, match="3 true labels but 2 predictions"):
        accuracy([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(matrix, expected)
    assert confusion_matrix([0, 1], [1.0, 1.0], n_labels=12).shape == (12, 12)


@pytest.mark.parametrize(
    ("truth", "predicted", "message"),
    [([0, 1.5], [0, 1], "integer-valued"), ([0, -1], [0, 1], "non-negative")],
)
def test_confusion_matrix_needs_small_integer_labels(truth, predicted, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(truth, predicted)
    with pytest.raises(ValueError, match="n_labels=2"):
        confusion_matrix([0, 5], [0, 1], n_labels=2)


def test_majority_baseline_uses_the_most_frequent_train_label():
    assert majority_baseline([3, 3, 1, 2]) == 0.5
    assert majority_baseline([3, 3, 1, 2], train_labels=[1, 1, 1, 3]) == 0.25


def test_mean_squared_error():
    assert mean_squared_error([1.0, 2.0], [2.0, 4.0]) == pytest.approx(2.5)


def test_evaluate_reports_accuracy_or_mse():
    features = np.array([[0.0], [1.0], [10.0], [11.0]])
    labels = np.array([0.0, 0.0, 1.0, 1.0])
    raw = {"feature_dim": "1", "k": "2", "sample_size": "10"}
    classifier = train(
        parse_hyperparameters({**raw, "predictor_type": "classifier"}), features, labels
    )
    assert evaluate(classifier, [[0.5], [10.5]], [0, 0]) == {"accuracy": 0.5}
    regressor = train(
        parse_hyperparameters({**raw, "predictor_type": "regressor"}), features, labels
    )
    assert evaluate(regressor, [[0.5], [10.5]], [0.0, 0.5]) == {"mse": pytest.approx(0.125)}
