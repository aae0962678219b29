"""Mysfit recommender: questionnaire data generator and a SageMaker-compatible k-NN.

``generator`` samples questionnaire answers with a known Bayes accuracy, ``hyperparameters``
validates the built-in k-NN hyperparameters, ``knn`` trains and serves a faiss-backed model
(``search`` answers its exact searches in batches), ``formats`` speaks the SageMaker k-NN wire
formats and ``evaluation`` scores predictions.
"""

from mysfits_lab.recommender.evaluation import (
    accuracy,
    confusion_matrix,
    evaluate,
    majority_baseline,
    mean_squared_error,
)
from mysfits_lab.recommender.formats import (
    DataError,
    InferenceError,
    decode_request,
    encode_response,
    parse_accept,
    read_training_channel,
)
from mysfits_lab.recommender.generator import (
    Dataset,
    GenerationReport,
    generate,
    read_csv_gz,
    split,
    write_csv_gz,
)
from mysfits_lab.recommender.hyperparameters import (
    HyperparameterError,
    KnnHyperparameters,
    parse_hyperparameters,
)
from mysfits_lab.recommender.knn import KnnModel, KnnResult, train

__all__ = [
    "DataError",
    "Dataset",
    "GenerationReport",
    "HyperparameterError",
    "InferenceError",
    "KnnHyperparameters",
    "KnnModel",
    "KnnResult",
    "accuracy",
    "confusion_matrix",
    "decode_request",
    "encode_response",
    "evaluate",
    "generate",
    "majority_baseline",
    "mean_squared_error",
    "parse_accept",
    "parse_hyperparameters",
    "read_csv_gz",
    "read_training_channel",
    "split",
    "train",
    "write_csv_gz",
]
