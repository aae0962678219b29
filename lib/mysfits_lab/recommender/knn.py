"""A k-NN algorithm compatible with SageMaker's built-in k-NN, with faiss as the engine.

Training samples ``sample_size`` records, optionally reduces their dimension, and stores them in
a faiss index together with their labels. A batch of queries is answered in one search; an
exact (``faiss.Flat``) L2 index of low dimension answers it through ``search.CellSearch``,
which finds the same neighbours as the flat index while computing a fraction of its distances.
Prediction conventions:

* Neighbours come back in faiss order. For ``L2`` that is ascending distance, reported as the
  Euclidean distance (the square root of faiss's squared L2). For ``INNER_PRODUCT`` and
  ``COSINE`` the reported values are faiss's similarity scores, in faiss's order: descending,
  i.e. the most similar neighbour first (``COSINE`` is an inner product of normalised vectors).
* ``classifier``: majority vote of the k neighbour labels; a tie goes to the tied label whose
  nearest occurrence comes first in that order (the closest neighbour among the tied labels).
* ``regressor``: mean of the k neighbour labels.
* IVF indexes may return fewer than k neighbours for a query (empty probed cells); missing
  neighbours are ignored, and a query with none at all gets the most frequent training label
  (classifier) or the mean training label (regressor).

Artifact layout (a directory, or the root of ``model.tar.gz``): ``model.json`` (format version,
hyperparameters as strings, index facts, IVF ``nprobe``), ``index.faiss``
(``faiss.serialize_index`` bytes of the index of distinct vectors) and ``arrays.npz`` (``labels``
grouped per index vector, ``offsets`` delimiting the groups, and ``projection`` when dimension
reduction is used).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from mysfits_lab.recommender.formats import DataError, InferenceError
from mysfits_lab.recommender.hyperparameters import (
    PQ_M_VALUES,
    KnnHyperparameters,
    parse_hyperparameters,
)
from mysfits_lab.recommender.search import CellSearch, single_threaded

ARTIFACT_FORMAT = "mysfits-lab-knn/1"
MODEL_JSON = "model.json"
INDEX_FILE = "index.faiss"
ARRAYS_FILE = "arrays.npz"
# Bounds the (rows, k, k) comparison cube used by the vote.
_VOTE_CHUNK_CELLS = 8_000_000
# Fewer queries than this go through the flat index directly: the cells' bookkeeping would
# cost more than the distances it saves.
SMALL_BATCH = 8

Log = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class KnnResult:
    """Predictions for n queries; neighbour arrays are (n, k) with NaN for missing neighbours."""

    predicted_label: np.ndarray
    distances: np.ndarray | None = None
    labels: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class KnnModel:
    """A trained k-NN model.

    The faiss index holds each distinct training vector once; ``labels[offsets[i]:offsets[i+1]]``
    are the labels of the sampled records equal to index vector ``i`` (in sample order). Searching
    distinct vectors and expanding them by multiplicity gives the same k neighbours as indexing
    every record, several times faster on discrete questionnaire answers.
    """

    hyperparameters: KnnHyperparameters
    index: faiss.Index
    labels: np.ndarray
    offsets: np.ndarray
    projection: np.ndarray | None = None
    # Derived once from the fields above (see __post_init__), never saved.
    cells: CellSearch | None = field(default=None, init=False, repr=False)
    fallback: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        # An exact flat L2 index answers through its cells: the same neighbours, a fraction of
        # the distances (search.py). Built here, so that serving never waits for it.
        cells = CellSearch(self.index) if CellSearch.applies(self.index) else None
        object.__setattr__(self, "cells", cells)
        # What a query without any neighbour gets (IVF); not recomputed per request.
        if len(self.labels) == 0:
            fallback = 0.0
        elif self.hyperparameters.predictor_type == "classifier":
            fallback = _most_frequent(self.labels)
        else:
            fallback = float(self.labels.mean())
        object.__setattr__(self, "fallback", fallback)

    @property
    def feature_dim(self) -> int:
        return self.hyperparameters.feature_dim

    @property
    def sample_count(self) -> int:
        """Number of training records behind the index (duplicates included)."""
        return len(self.labels)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Map raw feature rows to the float32 vectors stored in the index."""
        return _transform(self.hyperparameters, self.projection, features, self.index.d)

    def predict(self, features: np.ndarray, *, verbose: bool = False) -> KnnResult:
        """Predict each row; with verbose, also return neighbour distances and labels."""
        matrix = np.asarray(features, dtype=np.float32)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.feature_dim:
            got = matrix.shape[1] if matrix.ndim == 2 else matrix.shape
            raise InferenceError(
                f"expected {self.feature_dim} features per record (feature_dim), got {got}"
            )
        if not np.isfinite(matrix).all():
            raise InferenceError("features must be finite numbers (found NaN or infinity)")
        # Discrete data repeats the same query a lot; each distinct query is searched and voted
        # once, then the answers are copied back to every row that asked it.
        queries, inverse = _distinct_rows(self.transform(matrix))
        scores, neighbour_labels = self._neighbours(queries)
        valid = ~np.isnan(neighbour_labels)
        if self.hyperparameters.predictor_type == "classifier":
            predicted = _vote(neighbour_labels, valid, fallback=self.fallback)
        else:
            predicted = _mean(neighbour_labels, valid, fallback=self.fallback)
        if not verbose:
            return KnnResult(predicted_label=predicted[inverse])
        if self.hyperparameters.index_metric == "L2":
            scores = np.sqrt(np.maximum(scores, 0.0))
        return KnnResult(
            predicted_label=predicted[inverse],
            distances=scores[inverse],
            labels=neighbour_labels[inverse],
        )

    def _neighbours(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, labels) of the k nearest records per query, NaN-padded, shape (n, k)."""
        k = min(self.hyperparameters.k, self.sample_count)
        scores = np.full((len(queries), k), np.nan, dtype=np.float32)
        labels = np.full((len(queries), k), np.nan)
        if len(queries) == 0:
            return scores, labels
        # k distinct vectors always cover k records, since each stands for at least one.
        found_scores, ids = self.search(queries, min(k, self.index.ntotal))
        found = np.maximum(ids, 0)  # -1 marks a missing neighbour (IVF)
        multiplicity = np.where(ids >= 0, self.offsets[found + 1] - self.offsets[found], 0)
        before = np.cumsum(multiplicity, axis=1) - multiplicity
        take = np.clip(k - before, 0, multiplicity).ravel()
        # One entry per neighbour record: its row, its slot in the row and its label position.
        rows = np.repeat(np.arange(len(queries)), ids.shape[1])[take > 0]
        take_positive = take[take > 0]
        entry_rows = np.repeat(rows, take_positive)
        entry_first = np.repeat(np.cumsum(take_positive) - take_positive, take_positive)
        within_group = np.arange(len(entry_rows)) - entry_first
        row_sizes = np.bincount(entry_rows, minlength=len(queries))
        slots = np.arange(len(entry_rows)) - np.repeat(np.cumsum(row_sizes) - row_sizes, row_sizes)
        groups = np.repeat(ids.ravel()[take > 0], take_positive)
        labels[entry_rows, slots] = self.labels[self.offsets[groups] + within_group]
        scores[entry_rows, slots] = np.repeat(found_scores.ravel()[take > 0], take_positive)
        return scores, labels

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The index's (scores, ids) of the k nearest distinct vectors of each query, in one
        call for the whole batch."""
        if self.cells is not None and len(queries) >= SMALL_BATCH:
            return self.cells.search(queries, k)
        with single_threaded():
            return self.index.search(queries, k)

    def artifact_files(self) -> dict[str, bytes]:
        """The artifact as {file name: bytes}, shared by save() and to_tarball()."""
        arrays = {"labels": self.labels, "offsets": self.offsets}
        if self.projection is not None:
            arrays["projection"] = self.projection
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        meta = {
            "format": ARTIFACT_FORMAT,
            "hyperparameters": self.hyperparameters.to_strings(),
            "index_dim": int(self.index.d),
            "index_size": int(self.index.ntotal),
            "sample_count": self.sample_count,
            "nprobe": int(getattr(self.index, "nprobe", 0)),
        }
        return {
            MODEL_JSON: json.dumps(meta, indent=2, sort_keys=True).encode(),
            INDEX_FILE: faiss.serialize_index(self.index).tobytes(),
            ARRAYS_FILE: buffer.getvalue(),
        }

    @classmethod
    def from_artifact_files(cls, files: dict[str, bytes]) -> KnnModel:
        missing = [name for name in (MODEL_JSON, INDEX_FILE, ARRAYS_FILE) if name not in files]
        if missing:
            raise DataError(f"model artifact is missing {', '.join(missing)}")
        meta = json.loads(files[MODEL_JSON])
        if meta.get("format") != ARTIFACT_FORMAT:
            raise DataError(f"unsupported model artifact format {meta.get('format')!r}")
        index = faiss.deserialize_index(np.frombuffer(files[INDEX_FILE], dtype=np.uint8))
        if meta["nprobe"]:
            faiss.extract_index_ivf(index).nprobe = meta["nprobe"]
        with np.load(io.BytesIO(files[ARRAYS_FILE]), allow_pickle=False) as arrays:
            labels, offsets = arrays["labels"], arrays["offsets"]
            projection = arrays.get("projection")
        if len(offsets) != index.ntotal + 1 or offsets[-1] != len(labels):
            raise DataError("model artifact is inconsistent: offsets do not match index and labels")
        return cls(
            hyperparameters=parse_hyperparameters(meta["hyperparameters"]),
            index=index,
            labels=labels,
            offsets=offsets,
            projection=projection,
        )

    def save(self, directory: str | Path) -> Path:
        """Write the artifact files into ``directory`` (created if needed)."""
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        for name, data in self.artifact_files().items():
            (target / name).write_bytes(data)
        return target

    @classmethod
    def load(cls, directory: str | Path) -> KnnModel:
        source = Path(directory)
        names = (MODEL_JSON, INDEX_FILE, ARRAYS_FILE)
        return cls.from_artifact_files(
            {name: (source / name).read_bytes() for name in names if (source / name).is_file()}
        )

    def to_tarball(self, path: str | Path) -> Path:
        """Write a SageMaker-style ``model.tar.gz`` with the artifact files at its root."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Level 6: level 9 (the default) takes seconds for no useful gain on an index.
        with tarfile.open(target, "w:gz", compresslevel=6) as tar:
            for name, data in self.artifact_files().items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return target

    @classmethod
    def from_tarball(cls, path: str | Path) -> KnnModel:
        """Read a model.tar.gz in memory (nothing is extracted to disk, so no path tricks)."""
        files: dict[str, bytes] = {}
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("./")
                stream = tar.extractfile(member) if member.isfile() else None
                if stream is not None and name in (MODEL_JSON, INDEX_FILE, ARRAYS_FILE):
                    files[name] = stream.read()
        return cls.from_artifact_files(files)


def train(
    hp: KnnHyperparameters,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    log: Log | None = None,
) -> KnnModel:
    """Sample, project and index the training data; deterministic for a seed."""
    say = log or (lambda _message: None)
    matrix = np.asarray(features, dtype=np.float32)
    targets = np.asarray(labels, dtype=np.float64).reshape(-1)
    if matrix.ndim != 2 or len(matrix) == 0:
        raise DataError("the train channel has no records")
    if matrix.shape[1] != hp.feature_dim:
        raise DataError(
            f"feature_dim is {hp.feature_dim} but the train channel has {matrix.shape[1]}"
            " columns per record"
        )
    if len(targets) != len(matrix):
        raise DataError(f"got {len(matrix)} feature rows but {len(targets)} labels")
    if not (np.isfinite(matrix).all() and np.isfinite(targets).all()):
        raise DataError("the train channel contains NaN or infinite values")

    rng = np.random.default_rng(seed)
    if len(matrix) > hp.sample_size:
        chosen = np.sort(rng.choice(len(matrix), size=hp.sample_size, replace=False))
        matrix, targets = matrix[chosen], targets[chosen]
    say(f"sampled {len(matrix)} records (sample_size={hp.sample_size})")

    projection = _make_projection(hp, rng)
    index_dim = _index_dim(hp)
    vectors = _transform(hp, projection, matrix, index_dim)
    if projection is not None:
        say(f"reduced dimension {hp.feature_dim} -> {hp.index_dim} ({hp.dimension_reduction_type})")
    # Index each distinct vector once and keep the labels grouped per vector (see KnnModel).
    distinct, group = np.unique(vectors, axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=len(distinct)))])
    index = _build_index(hp, vectors, distinct, say)
    say(
        f"built {hp.index_type} ({hp.index_metric}): {index.ntotal} distinct vectors, dim {index.d}"
    )
    return KnnModel(
        hyperparameters=hp,
        index=index,
        labels=targets[order],
        offsets=offsets,
        projection=projection,
    )


def _pq_m(hp: KnnHyperparameters) -> int:
    """The requested m, or the largest allowed m dividing the dimension ("auto")."""
    if hp.faiss_index_pq_m is not None:
        return hp.faiss_index_pq_m
    return max(m for m in PQ_M_VALUES if hp.index_dim % m == 0)


def _index_dim(hp: KnnHyperparameters) -> int:
    """Index dimension; IVFPQ zero-pads up to a multiple of m, as SageMaker does."""
    if hp.index_type != "faiss.IVFPQ":
        return hp.index_dim
    m = _pq_m(hp)
    return -(-hp.index_dim // m) * m


def _fwht(matrix: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh-Hadamard transform along the last axis (length a power of 2)."""
    out = np.array(matrix, dtype=np.float64)
    size = out.shape[-1]
    half = 1
    while half < size:
        blocks = out.reshape(*out.shape[:-1], size // (2 * half), 2, half)
        top, bottom = blocks[..., 0, :].copy(), blocks[..., 1, :].copy()
        blocks[..., 0, :] = top + bottom
        blocks[..., 1, :] = top - bottom
        half *= 2
    return out


def _make_projection(hp: KnnHyperparameters, rng: np.random.Generator) -> np.ndarray | None:
    """A (feature_dim, target) linear map, or None without dimension reduction."""
    if hp.dimension_reduction_type is None or hp.dimension_reduction_target is None:
        return None
    dim, target = hp.feature_dim, hp.dimension_reduction_target
    if hp.dimension_reduction_type == "sign":
        return rng.standard_normal((dim, target)).astype(np.float32)
    # FJLT (subsampled randomised Hadamard): random sign flips, a normalised Hadamard transform
    # over the zero-padded input, then `target` sampled coordinates rescaled to keep norms.
    padded = 1 << (dim - 1).bit_length()
    signs = rng.choice(np.array([-1.0, 1.0]), size=padded)
    rows = rng.choice(padded, size=target, replace=False)
    hadamard_rows = _fwht(np.diag(signs)[:dim]) / np.sqrt(padded)
    return (hadamard_rows[:, rows] * np.sqrt(padded / target)).astype(np.float32)


def _transform(
    hp: KnnHyperparameters, projection: np.ndarray | None, features: np.ndarray, index_dim: int
) -> np.ndarray:
    vectors = np.asarray(features, dtype=np.float32)
    if projection is not None:
        vectors = vectors @ projection
        if hp.dimension_reduction_type == "sign":
            vectors = np.where(vectors >= 0, 1.0, -1.0).astype(np.float32)
    if hp.index_metric == "COSINE":
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)  # zero vectors stay zero
    if vectors.shape[1] < index_dim:
        vectors = np.pad(vectors, ((0, 0), (0, index_dim - vectors.shape[1])))
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _build_index(
    hp: KnnHyperparameters, vectors: np.ndarray, distinct: np.ndarray, say: Log
) -> faiss.Index:
    """Index the distinct vectors; IVF clustering trains on all of them to follow the density."""
    dim = distinct.shape[1]
    metric = faiss.METRIC_L2 if hp.index_metric == "L2" else faiss.METRIC_INNER_PRODUCT
    if hp.index_type == "faiss.Flat":
        index = faiss.IndexFlat(dim, metric)
        index.add(distinct)
        return index
    count = len(vectors)
    nlists = min(hp.ivf_nlists, count)  # k-means cannot make more cells than points
    quantizer = faiss.IndexFlat(dim, metric)
    if hp.index_type == "faiss.IVFFlat":
        index = faiss.IndexIVFFlat(quantizer, dim, nlists, metric)
    else:
        if count < 2:
            raise DataError("faiss.IVFPQ needs at least 2 training records")
        # 8-bit codes need 256 points per sub-quantizer; use fewer bits for tiny samples.
        nbits = min(8, int(np.log2(count)))
        index = faiss.IndexIVFPQ(quantizer, dim, nlists, _pq_m(hp), nbits)
    say(f"training {hp.index_type} with {nlists} lists")
    index.train(vectors)
    index.add(distinct)
    index.nprobe = min(hp.faiss_index_nprobe, nlists)
    return index


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, inverse): ``distinct[inverse] == matrix``. Rows are compared as byte
    strings, several times faster than ``np.unique(axis=0)``; -0.0 and 0.0 may then stay two
    rows, which only searches that vector twice."""
    rows = np.ascontiguousarray(matrix)
    if len(rows) <= 1:
        return rows, np.zeros(len(rows), dtype=np.int64)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).reshape(-1)
    _keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


def _most_frequent(labels: np.ndarray) -> float:
    values, counts = np.unique(labels, return_counts=True)
    return float(values[np.argmax(counts)])


def _vote(neighbour_labels: np.ndarray, valid: np.ndarray, fallback: float) -> np.ndarray:
    """Row-wise majority vote; ties go to the tied label seen first (closest) in the row."""
    rows, k = neighbour_labels.shape
    predicted = np.full(rows, fallback, dtype=np.float64)
    if k == 0:
        return predicted
    chunk = max(1, _VOTE_CHUNK_CELLS // (k * k))
    for start in range(0, rows, chunk):
        labels = neighbour_labels[start : start + chunk]
        ok = valid[start : start + chunk]
        # support[i, j] = how many valid neighbours of row i share neighbour j's label.
        same = (labels[:, :, None] == labels[:, None, :]) & ok[:, None, :]
        support = np.where(ok, same.sum(axis=2), 0)
        # argmax returns the first maximum, i.e. the closest neighbour carrying a winning label.
        winner = support.argmax(axis=1)
        chosen = labels[np.arange(len(labels)), winner]
        predicted[start : start + chunk] = np.where(ok.any(axis=1), chosen, fallback)
    return predicted


def _mean(neighbour_labels: np.ndarray, valid: np.ndarray, fallback: float) -> np.ndarray:
    counts = valid.sum(axis=1)
    totals = np.where(valid, neighbour_labels, 0.0).sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), fallback)
