"""Scoring helpers for the recommender: accuracy, confusion matrix, baselines, model metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mysfits_lab.recommender.knn import KnnModel


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, predicted = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    if len(truth) == 0:
        raise ValueError("cannot score an empty set of predictions")
    return truth, predicted


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of predictions equal to the true label."""
    truth, predicted = _pair(y_true, y_pred)
    return float(np.mean(truth == predicted))


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    truth, predicted = _pair(y_true, y_pred)
    return float(np.mean((truth.astype(np.float64) - predicted.astype(np.float64)) ** 2))


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, n_labels: int | None = None
) -> np.ndarray:
    """Counts with rows = true label, columns = predicted label; labels are ints 0..n_labels-1."""
    truth, predicted = _pair(y_true, y_pred)
    truth_int, predicted_int = truth.astype(np.int64), predicted.astype(np.int64)
    if (truth_int != truth).any() or (predicted_int != predicted).any():
        raise ValueError("confusion_matrix needs integer-valued labels")
    if min(truth_int.min(), predicted_int.min()) < 0:
        raise ValueError("confusion_matrix needs non-negative labels")
    size = int(max(truth_int.max(), predicted_int.max())) + 1
    if n_labels is not None:
        if n_labels < size:
            raise ValueError(f"labels go up to {size - 1}, which does not fit n_labels={n_labels}")
        size = n_labels
    flat = np.bincount(truth_int * size + predicted_int, minlength=size * size)
    return flat.reshape(size, size)


def majority_baseline(test_labels: np.ndarray, train_labels: np.ndarray | None = None) -> float:
    """Accuracy on test_labels of always predicting the most frequent train (or test) label."""
    test = np.asarray(test_labels).reshape(-1)
    reference = test if train_labels is None else np.asarray(train_labels).reshape(-1)
    if len(test) == 0 or len(reference) == 0:
        raise ValueError("majority_baseline needs non-empty labels")
    values, counts = np.unique(reference, return_counts=True)
    return float(np.mean(test == values[np.argmax(counts)]))


def evaluate(model: KnnModel, features: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Score a model: {"accuracy": ...} for a classifier, {"mse": ...} for a regressor."""
    predicted = model.predict(features).predicted_label
    if model.hyperparameters.predictor_type == "classifier":
        return {"accuracy": accuracy(labels, predicted)}
    return {"mse": mean_squared_error(labels, predicted)}
