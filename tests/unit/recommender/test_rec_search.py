"""The cell search answers exactly what a faiss flat index answers: the same ids in the same
order (ties to the lower id) and the same float32 distances."""

from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np
import pytest

from mysfits_lab.recommender import generator, knn, search
from mysfits_lab.recommender.hyperparameters import parse_hyperparameters
from mysfits_lab.recommender.knn import _distinct_rows, train
from mysfits_lab.recommender.search import CellSearch


def flat(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlat(vectors.shape[1], faiss.METRIC_L2)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def assert_same_as_flat(index: faiss.Index, queries: np.ndarray, k: int) -> None:
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    expected_d, expected_i = index.search(queries, k)
    got_d, got_i = CellSearch(index).search(queries, k)
    np.testing.assert_array_equal(got_i, expected_i)
    np.testing.assert_array_equal(got_d, expected_d)


def grid(size: int, dim: int, offset: float = 0.0) -> np.ndarray:
    """Every point of {1..size}^dim: distances tie by the dozen."""
    axes = np.meshgrid(*[np.arange(1, size + 1)] * dim, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1).astype(np.float32) + offset


def test_questionnaire_answers_are_exact():
    data = generator.generate(rows=60_000, seed=3).data
    base = np.unique(data[:50_000, :5].astype(np.float32), axis=0)
    queries = np.unique(data[50_000:, :5].astype(np.float32), axis=0)
    assert len(base) >= search.MIN_VECTORS
    assert_same_as_flat(flat(base), queries, 10)


@pytest.mark.parametrize("k", [1, 10, 60])
def test_grid_ties_go_to_the_lower_id_as_in_a_flat_index(k):
    # On a full grid the k-th distance is shared by up to 80 points: more than the margin of
    # candidates a scan keeps, so some queries need the wider scans.
    base = grid(8, 4)
    queries = np.concatenate([grid(8, 4)[::7], grid(8, 4)[::11] + 0.5])
    assert_same_as_flat(flat(base), queries, k)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_continuous_data_far_from_the_origin_is_exact(offset):
    rng = np.random.default_rng(7)
    base = rng.normal(size=(6_000, 6)).astype(np.float32) + offset
    queries = np.concatenate(
        [
            rng.normal(size=(500, 6)).astype(np.float32) + offset,
            rng.normal(scale=8.0, size=(50, 6)).astype(np.float32) + offset,  # far outside
        ]
    )
    assert_same_as_flat(flat(base), queries, 10)


def test_clustered_data_with_empty_space_between_is_exact():
    rng = np.random.default_rng(11)
    centres = rng.uniform(-50, 50, size=(12, 3))
    base = (centres[rng.integers(0, 12, 5_000)] + rng.normal(size=(5_000, 3))).astype(np.float32)
    queries = rng.uniform(-60, 60, size=(400, 3)).astype(np.float32)
    assert_same_as_flat(flat(base), queries, 25)


def test_concurrent_searches_give_the_answers_of_sequential_ones():
    base = grid(7, 4)
    cells = CellSearch(flat(base))
    batches = [grid(7, 4)[start::9] + shift for start, shift in enumerate((0.0, 0.3, 0.5, 1.5))]
    sequential = [cells.search(batch, 12) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda batch: cells.search(batch, 12), batches))
    for (expected_d, expected_i), (got_d, got_i) in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(got_i, expected_i)
        np.testing.assert_array_equal(got_d, expected_d)


def test_only_large_low_dimensional_flat_l2_indexes_use_cells():
    assert CellSearch.applies(flat(grid(8, 4)))
    assert not CellSearch.applies(flat(grid(4, 4)))  # 256 vectors: a flat scan is cheap
    wide = np.random.default_rng(0).normal(size=(4_000, 32)).astype(np.float32)
    assert not CellSearch.applies(flat(wide))
    inner = faiss.IndexFlat(4, faiss.METRIC_INNER_PRODUCT)
    inner.add(grid(8, 4))
    assert not CellSearch.applies(inner)


def test_the_model_predicts_through_its_cells_what_the_flat_index_predicts(monkeypatch):
    data = generator.generate(rows=80_000, seed=5).data
    hp = parse_hyperparameters(
        {"feature_dim": "5", "k": "10", "sample_size": "60000", "predictor_type": "classifier"}
    )
    model = train(hp, data[:70_000, :5], data[:70_000, 5], seed=0)
    assert model.cells is not None
    features = data[70_000:, :5]
    through_cells = model.predict(features, verbose=True)
    monkeypatch.setattr(knn, "SMALL_BATCH", len(features) + 1)  # through the flat index
    through_flat = model.predict(features, verbose=True)
    np.testing.assert_array_equal(through_cells.predicted_label, through_flat.predicted_label)
    np.testing.assert_array_equal(through_cells.labels, through_flat.labels)
    np.testing.assert_array_equal(through_cells.distances, through_flat.distances)


def test_distinct_rows_rebuild_the_matrix():
    rng = np.random.default_rng(2)
    matrix = rng.integers(0, 3, size=(500, 4)).astype(np.float32)
    distinct, inverse = _distinct_rows(matrix)
    assert len(distinct) == len(np.unique(matrix, axis=0))
    np.testing.assert_array_equal(distinct[inverse], matrix)
    one, inverse = _distinct_rows(matrix[:1])
    np.testing.assert_array_equal(one[inverse], matrix[:1])
