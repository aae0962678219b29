"""Validation of the SageMaker built-in k-NN hyperparameters.

SageMaker hands hyperparameters to the algorithm as strings; ``parse_hyperparameters`` accepts
strings or plain numbers, applies the documented defaults and rules, and raises
``HyperparameterError`` naming the parameter, the offending value and what is allowed.
The underscore-prefixed keys are the algorithm's internal settings that appear in its default
configuration; they are accepted (``_faiss_index_nprobe`` is honoured, the rest recorded only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

PREDICTOR_TYPES = ("classifier", "regressor")
INDEX_TYPES = ("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ")
INDEX_METRICS = ("L2", "INNER_PRODUCT", "COSINE")
REDUCTION_TYPES = ("sign", "fjlt")
PQ_M_VALUES = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)
DEFAULT_MINI_BATCH_SIZE = 5000
DEFAULT_NPROBE = 5

REQUIRED = ("feature_dim", "k", "predictor_type", "sample_size")
OPTIONAL = (
    "index_type",
    "index_metric",
    "dimension_reduction_type",
    "dimension_reduction_target",
    "faiss_index_ivf_nlists",
    "faiss_index_pq_m",
    "mini_batch_size",
    "epochs",
)
INTERNAL = (
    "_faiss_index_nprobe",
    "_kvstore",
    "_num_gpus",
    "_num_kv_servers",
    "_log_level",
    "_tuning_objective_metric",
)

RawValue = str | int | float


class HyperparameterError(ValueError):
    """A hyperparameter is missing, unknown or invalid (a client error for the training job)."""


@dataclass(frozen=True)
class KnnHyperparameters:
    """Validated k-NN hyperparameters with defaults resolved."""

    feature_dim: int
    k: int
    predictor_type: str
    sample_size: int
    index_type: str = "faiss.Flat"
    index_metric: str = "L2"
    dimension_reduction_type: str | None = None
    dimension_reduction_target: int | None = None
    faiss_index_ivf_nlists: int | None = None  # None means "auto": round(sqrt(sample_size))
    faiss_index_pq_m: int | None = None  # None means: chosen from the data dimension
    mini_batch_size: int = DEFAULT_MINI_BATCH_SIZE
    faiss_index_nprobe: int = DEFAULT_NPROBE
    internal: tuple[tuple[str, str], ...] = ()

    @property
    def ivf_nlists(self) -> int:
        """Number of IVF cells requested, with "auto" resolved."""
        if self.faiss_index_ivf_nlists is not None:
            return self.faiss_index_ivf_nlists
        return max(1, round(math.sqrt(self.sample_size)))

    @property
    def index_dim(self) -> int:
        """Dimension of the vectors stored in the index (after any dimension reduction)."""
        return self.dimension_reduction_target or self.feature_dim

    def to_strings(self) -> dict[str, str]:
        """The hyperparameters as SageMaker passes them; parse_hyperparameters() round-trips it."""
        out = {
            "feature_dim": str(self.feature_dim),
            "k": str(self.k),
            "predictor_type": self.predictor_type,
            "sample_size": str(self.sample_size),
            "index_type": self.index_type,
            "index_metric": self.index_metric,
            "faiss_index_ivf_nlists": str(self.faiss_index_ivf_nlists or "auto"),
            "mini_batch_size": str(self.mini_batch_size),
            "_faiss_index_nprobe": str(self.faiss_index_nprobe),
        }
        if self.dimension_reduction_type is not None:
            out["dimension_reduction_type"] = self.dimension_reduction_type
            out["dimension_reduction_target"] = str(self.dimension_reduction_target)
        if self.faiss_index_pq_m is not None:
            out["faiss_index_pq_m"] = str(self.faiss_index_pq_m)
        out.update(self.internal)
        return out


def _positive_int(name: str, value: RawValue) -> int:
    """Accept 5, 5.0, "5" or "5.0"; reject booleans, fractions, zero and negatives."""
    parsed: int | None = None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int):
        parsed = value
    elif isinstance(value, float) and value.is_integer():
        parsed = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            parsed = int(number) if number.is_integer() else None
    if parsed is None or parsed <= 0:
        raise HyperparameterError(f"{name} must be a positive integer (got {value!r})")
    return parsed


def _choice(name: str, value: RawValue, allowed: tuple[str, ...]) -> str:
    text = value.strip() if isinstance(value, str) else value
    if text not in allowed:
        raise HyperparameterError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return text


def _nlists(value: RawValue) -> int | None:
    if isinstance(value, str) and value.strip() == "auto":
        return None
    try:
        return _positive_int("faiss_index_ivf_nlists", value)
    except HyperparameterError:
        raise HyperparameterError(
            f"faiss_index_ivf_nlists must be 'auto' or a positive integer (got {value!r})"
        ) from None


def _pq_m(value: RawValue) -> int:
    allowed = ", ".join(str(m) for m in PQ_M_VALUES)
    message = f"faiss_index_pq_m must be one of {allowed} (got {value!r})"
    try:
        parsed = _positive_int("faiss_index_pq_m", value)
    except HyperparameterError:
        raise HyperparameterError(message) from None
    if parsed not in PQ_M_VALUES:
        raise HyperparameterError(message)
    return parsed


def parse_hyperparameters(raw: Mapping[str, RawValue]) -> KnnHyperparameters:
    """Validate raw hyperparameters (strings or numbers) into a KnnHyperparameters."""
    known = set(REQUIRED) | set(OPTIONAL) | set(INTERNAL)
    unknown = sorted(set(raw) - known)
    if unknown:
        allowed = ", ".join((*REQUIRED, *OPTIONAL, *INTERNAL))
        raise HyperparameterError(
            f"unknown hyperparameter {unknown[0]!r} (allowed: {allowed})"
            if len(unknown) == 1
            else f"unknown hyperparameters {', '.join(map(repr, unknown))} (allowed: {allowed})"
        )
    for name in REQUIRED:
        if name not in raw:
            rule = "one of classifier, regressor" if name == "predictor_type" else "positive int"
            raise HyperparameterError(f"{name} is required ({rule})")

    feature_dim = _positive_int("feature_dim", raw["feature_dim"])
    index_type = _choice("index_type", raw.get("index_type", "faiss.Flat"), INDEX_TYPES)
    index_metric = _choice("index_metric", raw.get("index_metric", "L2"), INDEX_METRICS)
    if index_type == "faiss.IVFPQ" and index_metric != "L2":
        raise HyperparameterError(
            f"index_metric must be L2 when index_type is faiss.IVFPQ (got {index_metric!r})"
        )

    reduction_type = None
    reduction_target = None
    if "dimension_reduction_type" in raw:
        reduction_type = _choice(
            "dimension_reduction_type", raw["dimension_reduction_type"], REDUCTION_TYPES
        )
        if "dimension_reduction_target" not in raw:
            raise HyperparameterError(
                "dimension_reduction_target is required when dimension_reduction_type is set"
                f" (an integer between 1 and feature_dim - 1 = {feature_dim - 1})"
            )
    if "dimension_reduction_target" in raw:
        if reduction_type is None:
            raise HyperparameterError(
                "dimension_reduction_target needs dimension_reduction_type (one of sign, fjlt)"
                f" (got target {raw['dimension_reduction_target']!r} without a type)"
            )
        value = raw["dimension_reduction_target"]
        try:
            reduction_target = _positive_int("dimension_reduction_target", value)
        except HyperparameterError:
            reduction_target = None
        if reduction_target is None or reduction_target >= feature_dim:
            raise HyperparameterError(
                "dimension_reduction_target must be an integer with 0 < target < feature_dim"
                f" = {feature_dim} (got {value!r})"
            )

    epochs = raw.get("epochs", "1")
    _positive_int("epochs", epochs)  # k-NN makes a single pass; the value is only validated

    internal = tuple(sorted((name, str(raw[name])) for name in INTERNAL if name in raw))
    return KnnHyperparameters(
        feature_dim=feature_dim,
        k=_positive_int("k", raw["k"]),
        predictor_type=_choice("predictor_type", raw["predictor_type"], PREDICTOR_TYPES),
        sample_size=_positive_int("sample_size", raw["sample_size"]),
        index_type=index_type,
        index_metric=index_metric,
        dimension_reduction_type=reduction_type,
        dimension_reduction_target=reduction_target,
        faiss_index_ivf_nlists=_nlists(raw.get("faiss_index_ivf_nlists", "auto")),
        faiss_index_pq_m=_pq_m(raw["faiss_index_pq_m"]) if "faiss_index_pq_m" in raw else None,
        mini_batch_size=_positive_int(
            "mini_batch_size", raw.get("mini_batch_size", DEFAULT_MINI_BATCH_SIZE)
        ),
        faiss_index_nprobe=_positive_int(
            "_faiss_index_nprobe", raw.get("_faiss_index_nprobe", DEFAULT_NPROBE)
        ),
        internal=tuple(item for item in internal if item[0] != "_faiss_index_nprobe"),
    )
