"""Synthetic questionnaire data for the Mythical Mysfits recommender.

The workshop trains SageMaker's k-NN on 5 questionnaire answers (integers 1..8) followed by the
favourite mysfit label (0..11), one CSV row per respondent: ``1,3,2,7,5,11``. The original data
was pure noise; this module samples from a fixed distribution that carries signal, and computes
how well any classifier could possibly do on it.

Generating model
----------------
* ``label ~ Categorical(PRIOR)`` with the prior weights below (deliberately not uniform, so that
  "always predict the most popular mysfit" is a meaningful baseline).
* For each question ``q`` independently, ``answer_q ~ profile[label, q]`` where
  ``profile[m, q, a] = (1 - NOISE) * g(a) / sum(g) + NOISE / 8`` with
  ``g(a) = exp(-(a - centre[m, q])^2 / (2 * spread[m, q]^2))`` for ``a = 1..8``: a discretised
  Gaussian around the mysfit's preferred answer, plus a little uniform noise so that every answer
  vector stays possible.
* ``centre`` (uniform on 1..8) and ``spread`` (uniform on [1.0, 2.0)) are drawn once from
  ``numpy.random.default_rng(PROFILE_SEED)``. The data seed only affects sampling, never the
  distribution, so every dataset shares the same Bayes accuracy.

Resulting profiles (prior, then preferred answer and spread for questions 1..5)::

    label  prior   centres      spreads
        0  0.14   8 6 6 8 5    1.5 1.2 1.0 1.2 1.7
        1  0.11   7 7 2 1 3    1.2 1.4 1.0 1.8 1.2
        2  0.10   3 7 8 1 4    1.3 1.9 1.5 1.8 1.6
        3  0.09   7 2 7 1 4    1.7 1.1 1.5 1.5 1.9
        4  0.09   7 3 3 3 6    1.4 1.6 1.1 1.4 1.3
        5  0.08   3 8 4 4 5    1.2 1.8 1.4 2.0 1.6
        6  0.08   5 5 5 8 7    1.6 1.6 1.7 1.2 1.4
        7  0.07   7 6 5 3 8    1.2 1.4 1.1 2.0 1.2
        8  0.07   4 2 7 2 7    1.7 1.3 1.9 1.7 1.1
        9  0.06   5 1 1 4 1    1.8 1.9 1.9 1.6 1.1
       10  0.06   2 5 8 4 7    1.2 1.9 1.6 1.2 1.9
       11  0.05   8 7 6 4 5    1.6 1.6 1.4 1.4 1.2

Bayes accuracy is computed exactly by enumerating all 8^5 = 32768 answer vectors; it is about
0.76 against a majority baseline of 0.14.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

N_MYSFITS = 12
N_QUESTIONS = 5
N_ANSWERS = 8
PROFILE_SEED = 7
NOISE = 0.05
SPREAD_RANGE = (1.0, 2.0)
PRIOR_WEIGHTS = (14, 11, 10, 9, 9, 8, 8, 7, 7, 6, 6, 5)
COLUMNS = ("a1", "a2", "a3", "a4", "a5", "label")


@dataclass(frozen=True)
class Profiles:
    """The generating distribution: label prior and per-question answer distributions."""

    prior: np.ndarray  # (N_MYSFITS,)
    centres: np.ndarray  # (N_MYSFITS, N_QUESTIONS), answers 1..8
    spreads: np.ndarray  # (N_MYSFITS, N_QUESTIONS)
    answer_probs: np.ndarray  # (N_MYSFITS, N_QUESTIONS, N_ANSWERS), index 0 is answer 1


@dataclass(frozen=True)
class GenerationReport:
    """Facts about the generating distribution (exact) and the sample drawn from it."""

    rows: int
    seed: int
    bayes_accuracy: float
    majority_baseline: float
    prior: tuple[float, ...]


@dataclass(frozen=True)
class Dataset:
    """Rows of ``a1..a5, label`` (label last, as in the workshop CSV) plus the report."""

    data: np.ndarray
    report: GenerationReport

    @property
    def features(self) -> np.ndarray:
        return self.data[:, :N_QUESTIONS]

    @property
    def labels(self) -> np.ndarray:
        return self.data[:, N_QUESTIONS]


@cache
def profiles() -> Profiles:
    """Build the fixed profiles; identical on every call since they only depend on PROFILE_SEED."""
    rng = np.random.default_rng(PROFILE_SEED)
    centres = rng.integers(1, N_ANSWERS + 1, size=(N_MYSFITS, N_QUESTIONS))
    spreads = rng.uniform(*SPREAD_RANGE, size=(N_MYSFITS, N_QUESTIONS))
    answers = np.arange(1, N_ANSWERS + 1)
    gauss = np.exp(-((answers - centres[..., None]) ** 2) / (2 * spreads[..., None] ** 2))
    gauss /= gauss.sum(axis=-1, keepdims=True)
    prior = np.asarray(PRIOR_WEIGHTS, dtype=float)
    prior /= prior.sum()
    probs = (1 - NOISE) * gauss + NOISE / N_ANSWERS
    for array in (prior, centres, spreads, probs):
        array.setflags(write=False)
    return Profiles(prior=prior, centres=centres, spreads=spreads, answer_probs=probs)


def describe_profiles() -> str:
    """Render the profiles as the text table quoted in this module's docstring."""
    p = profiles()
    lines = ["label  prior   centres      spreads"]
    for label in range(N_MYSFITS):
        centres = " ".join(str(c) for c in p.centres[label])
        spreads = " ".join(f"{s:.1f}" for s in p.spreads[label])
        lines.append(f"{label:5d}  {p.prior[label]:.2f}   {centres}    {spreads}")
    return "\n".join(lines)


def all_answer_vectors() -> np.ndarray:
    """Every possible answer vector, shape (8^5, 5), in row-major order of the answers."""
    grid = np.indices((N_ANSWERS,) * N_QUESTIONS).reshape(N_QUESTIONS, -1).T
    return grid + 1


@cache
def _joint_table() -> np.ndarray:
    """P(label, answers) for every label and answer vector, shape (12, 8^5)."""
    p = profiles()
    cells = all_answer_vectors() - 1
    per_question = p.answer_probs[:, np.arange(N_QUESTIONS), cells]  # (12, 8^5, 5)
    joint = p.prior[:, None] * per_question.prod(axis=-1)
    joint.setflags(write=False)
    return joint


def bayes_accuracy() -> float:
    """Exact accuracy of the Bayes-optimal classifier: sum over cells of max_label P(label, x)."""
    return float(_joint_table().max(axis=0).sum())


def majority_baseline() -> float:
    """Accuracy of always answering the most probable label."""
    return float(profiles().prior.max())


def bayes_predict(features: np.ndarray) -> np.ndarray:
    """The Bayes-optimal label for each answer vector (ties go to the lower label)."""
    answers = np.asarray(features, dtype=np.int64)
    if answers.ndim != 2 or answers.shape[1] != N_QUESTIONS:
        raise ValueError(f"expected shape (n, {N_QUESTIONS}), got {answers.shape}")
    if answers.size and (answers.min() < 1 or answers.max() > N_ANSWERS):
        raise ValueError(f"answers must be in 1..{N_ANSWERS}")
    best = _joint_table().argmax(axis=0)
    cell = np.ravel_multi_index(tuple((answers - 1).T), (N_ANSWERS,) * N_QUESTIONS)
    return best[cell]


def generate(rows: int = 1_000_000, seed: int = 0) -> Dataset:
    """Sample ``rows`` respondents; deterministic for a given seed."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0 (got {rows})")
    p = profiles()
    rng = np.random.default_rng(seed)
    labels = rng.choice(N_MYSFITS, size=rows, p=p.prior)
    cdf = np.cumsum(p.answer_probs, axis=-1)
    cdf[..., -1] = 1.0  # guard against rounding leaving u > cdf[-1], which would yield answer 9
    uniform = rng.random((rows, N_QUESTIONS))
    # Inverse-CDF sampling, one question at a time: an answer is 1 + the number of its mysfit's
    # CDF steps below u. Shifting mysfit m's CDF into (m, m + 1] puts all of them in one sorted
    # array, so one binary search per row finds the step without a (rows, 5, 8) temporary.
    answers = np.empty((rows, N_QUESTIONS), dtype=np.int64)
    steps = cdf.shape[-1]
    for question in range(N_QUESTIONS):
        shifted = (np.arange(N_MYSFITS)[:, None] + cdf[:, question, :]).ravel()
        found = np.searchsorted(shifted, labels + uniform[:, question], side="left")
        answers[:, question] = found - labels * steps + 1
    data = np.column_stack([answers, labels]).astype(np.int64)
    report = GenerationReport(
        rows=rows,
        seed=seed,
        bayes_accuracy=bayes_accuracy(),
        majority_baseline=majority_baseline(),
        prior=tuple(float(x) for x in p.prior),
    )
    return Dataset(data=data, report=report)


def format_int_csv(data: np.ndarray) -> bytes:
    """Format a 2-D integer array as header-less CSV bytes, fully vectorised.

    Each cell is rendered right-aligned into a fixed-width byte grid, then the unused leading
    bytes are dropped with one boolean mask; far faster than per-row string formatting.
    """
    values = np.asarray(data)
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError("format_int_csv expects a 2-D integer array")
    if values.size == 0:
        return b""
    values = values.astype(np.int64)
    magnitude = np.abs(values)
    digits = np.ones(values.shape, dtype=np.int64)
    for power in range(1, len(str(int(magnitude.max())))):  # only as many passes as digits
        digits += magnitude >= 10**power
    negative = values < 0
    width = digits + negative
    max_width = int(width.max())
    grid = np.empty(values.shape + (max_width + 1,), dtype=np.uint8)
    remainder = magnitude.copy()
    for position in range(max_width - 1, -1, -1):
        grid[..., position] = ord("0") + remainder % 10
        remainder //= 10
    sign_position = max_width - width
    rows_idx, cols_idx = np.nonzero(negative)
    grid[rows_idx, cols_idx, sign_position[negative]] = ord("-")
    grid[..., max_width] = ord(",")
    grid[:, -1, max_width] = ord("\n")
    keep = np.arange(max_width + 1) >= sign_position[..., None]
    return grid[keep].tobytes()


def write_csv_gz(dataset: Dataset | np.ndarray, path: str | Path) -> Path:
    """Write rows as header-less gzip CSV; low compression since the file is cheap to rebuild."""
    data = dataset.data if isinstance(dataset, Dataset) else dataset
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wb", compresslevel=1) as stream:
        stream.write(format_int_csv(data))
    return target


def read_csv_gz(path: str | Path) -> np.ndarray:
    """Read a header-less gzip CSV of integers back into a 2-D int64 array."""
    with gzip.open(path, "rt", encoding="ascii") as stream:
        return np.loadtxt(stream, delimiter=",", dtype=np.int64, ndmin=2)


def split(
    data: np.ndarray, train_fraction: float = 0.9, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle rows with a seeded generator and cut them into (train, test)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be strictly between 0 and 1 (got {train_fraction})")
    order = np.random.default_rng(seed).permutation(len(data))
    cut = int(len(data) * train_fraction)
    return data[order[:cut]], data[order[cut:]]
