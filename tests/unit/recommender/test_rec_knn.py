import tarfile

import numpy as np
import pytest

from mysfits_lab.recommender.formats import DataError, InferenceError
from mysfits_lab.recommender.hyperparameters import parse_hyperparameters
from mysfits_lab.recommender.knn import KnnModel, train


def make_hp(feature_dim, k, predictor_type="classifier", sample_size=100_000, **extra):
    raw = {
        "feature_dim": feature_dim,
        "k": k,
        "predictor_type": predictor_type,
        "sample_size": sample_size,
        **extra,
    }
    return parse_hyperparameters({key: str(value) for key, value in raw.items()})


def reference_neighbours(base, queries, k, metric):
    """Brute force in float64: (scores, indices) in the documented order."""
    if metric == "COSINE":
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    if metric == "L2":
        scores = np.sqrt(((queries[:, None, :] - base[None, :, :]) ** 2).sum(axis=2))
        order = np.argsort(scores, axis=1)[:, :k]
    else:
        scores = queries @ base.T
        order = np.argsort(-scores, axis=1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), order


def reference_vote(neighbour_labels):
    """Majority vote; ties go to the tied label met first when walking from the closest."""
    out = []
    for row in neighbour_labels:
        values, counts = np.unique(row, return_counts=True)
        tied = set(values[counts == counts.max()])
        out.append(next(label for label in row if label in tied))
    return np.array(out)


@pytest.fixture(scope="module")
def continuous():
    rng = np.random.default_rng(42)
    base = rng.normal(size=(400, 6)) + 0.5
    queries = rng.normal(size=(60, 6)) + 0.5
    return base, queries


@pytest.mark.parametrize("metric", ["L2", "INNER_PRODUCT", "COSINE"])
def test_flat_neighbours_match_brute_force(continuous, metric):
    base, queries = continuous
    # Using the row number as a regression label makes the neighbour labels identify neighbours.
    ids = np.arange(len(base), dtype=float)
    model = train(make_hp(6, 7, "regressor", index_metric=metric), base, ids)
    result = model.predict(queries, verbose=True)
    ref_scores, ref_ids = reference_neighbours(base, queries, 7, metric)
    np.testing.assert_array_equal(result.labels, ref_ids)
    np.testing.assert_allclose(result.distances, ref_scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(result.predicted_label, ref_ids.mean(axis=1))


@pytest.mark.parametrize("metric", ["L2", "INNER_PRODUCT", "COSINE"])
def test_flat_classifier_matches_brute_force_vote(continuous, metric):
    base, queries = continuous
    labels = np.random.default_rng(1).integers(0, 3, size=len(base)).astype(float)
    model = train(make_hp(6, 6, index_metric=metric), base, labels)
    _, ref_ids = reference_neighbours(base, queries, 6, metric)
    expected = reference_vote(labels[ref_ids])
    np.testing.assert_array_equal(model.predict(queries).predicted_label, expected)


def test_vote_ties_go_to_the_closest_neighbours_label():
    base = np.array([[0.0], [1.0], [2.0], [3.0]])
    labels = np.array([5.0, 3.0, 3.0, 5.0])
    model = train(make_hp(1, 4), base, labels)
    # both queries see two 5s and two 3s; the closest neighbour decides
    np.testing.assert_array_equal(model.predict([[0.1], [2.1]]).predicted_label, [5.0, 3.0])
    model_k3 = train(make_hp(1, 3), base, labels)
    np.testing.assert_array_equal(model_k3.predict([[0.1]]).predicted_label, [3.0])


def test_duplicate_training_vectors_are_counted_with_multiplicity():
    rng = np.random.default_rng(7)
    base = rng.integers(0, 3, size=(300, 2)).astype(float)  # only 9 distinct points
    ids = np.arange(len(base), dtype=float)
    queries = rng.integers(0, 3, size=(40, 2)) + rng.uniform(-0.3, 0.3, size=(40, 2))
    model = train(make_hp(2, 50, "regressor"), base, ids)
    assert model.index.ntotal == 9 and model.sample_count == 300
    result = model.predict(queries, verbose=True)
    ref_scores, _ = reference_neighbours(base, queries, 50, "L2")
    np.testing.assert_allclose(result.distances, ref_scores, rtol=1e-5)
    for row, found in enumerate(result.labels.astype(int)):
        assert len(set(found)) == 50, "each training record may appear once"
        true_distances = np.sqrt(((base[found] - queries[row]) ** 2).sum(axis=1))
        np.testing.assert_allclose(true_distances, result.distances[row], rtol=1e-5)


def test_k_larger_than_the_sample_returns_every_record():
    base = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    model = train(make_hp(2, 10, "regressor"), base, np.array([1.0, 2.0, 4.0]))
    result = model.predict([[0.0, 0.0]], verbose=True)
    assert result.labels.shape == (1, 3)
    np.testing.assert_allclose(result.distances[0], [0.0, np.sqrt(2), np.sqrt(2)], rtol=1e-6)
    assert result.predicted_label[0] == pytest.approx(7 / 3)


def test_sampling_is_seeded_and_limits_the_index():
    rng = np.random.default_rng(3)
    base, labels = rng.normal(size=(1_000, 4)), np.arange(1_000, dtype=float)
    hp = make_hp(4, 5, "regressor", sample_size=100)
    first, again = train(hp, base, labels, seed=1), train(hp, base, labels, seed=1)
    other = train(hp, base, labels, seed=2)
    assert first.sample_count == 100 and len(np.unique(first.labels)) == 100
    np.testing.assert_array_equal(np.sort(first.labels), np.sort(again.labels))
    assert not np.array_equal(np.sort(first.labels), np.sort(other.labels))
    # every sampled label is a row whose features are in the index
    sampled = first.labels.astype(int)
    result = first.predict(base[sampled[:10]], verbose=True)
    np.testing.assert_array_equal(result.labels[:, 0], sampled[:10])


def test_train_logs_its_steps():
    messages = []
    train(make_hp(2, 1, sample_size=2), np.eye(3, 2), np.zeros(3), log=messages.append)
    assert any("sampled 2 records" in message for message in messages)


def clustered(n, dim=8, clusters=12, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(clusters, dim))
    labels = rng.integers(0, clusters, size=n)
    return centres[labels] + rng.normal(size=(n, dim)), labels.astype(float)


@pytest.mark.parametrize(
    ("extra", "minimum"),
    [
        ({"index_type": "faiss.IVFFlat"}, 0.95),
        ({"index_type": "faiss.IVFFlat", "index_metric": "COSINE"}, 0.95),
        ({"index_type": "faiss.IVFPQ"}, 0.95),
        ({"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "4"}, 0.95),
        # 6 random hyperplanes only keep angles, so clusters blur more (chance is about 0.08)
        ({"dimension_reduction_type": "sign", "dimension_reduction_target": "6"}, 0.8),
        ({"dimension_reduction_type": "fjlt", "dimension_reduction_target": "6"}, 0.95),
    ],
)
def test_approximate_indexes_and_reductions_classify_clusters(extra, minimum):
    features, labels = clustered(4_000)
    model = train(make_hp(8, 10, sample_size=3_000, **extra), features[:3_000], labels[:3_000])
    predicted = model.predict(features[3_000:]).predicted_label
    assert np.mean(predicted == labels[3_000:]) > minimum


@pytest.mark.parametrize("index_type", ["faiss.IVFFlat", "faiss.IVFPQ"])
def test_ivf_indexes_find_most_exact_neighbours(index_type):
    features, _ = clustered(3_000)
    ids = np.arange(2_000, dtype=float)
    exact = train(make_hp(8, 10, "regressor"), features[:2_000], ids)
    approx = train(make_hp(8, 10, "regressor", index_type=index_type), features[:2_000], ids)
    queries = features[2_000:]
    truth = exact.predict(queries, verbose=True).labels
    found = approx.predict(queries, verbose=True).labels
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall > 0.7


def test_ivf_queries_with_too_few_candidates_mark_missing_neighbours():
    features, labels = clustered(200)
    hp = make_hp(
        8, 30, index_type="faiss.IVFFlat", faiss_index_ivf_nlists="40", _faiss_index_nprobe="1"
    )
    model = train(hp, features, labels)
    result = model.predict(features, verbose=True)
    missing = np.isnan(result.labels)
    assert missing.any(), "one probed list of ~5 points cannot hold 30 neighbours"
    np.testing.assert_array_equal(missing, np.isnan(result.distances))
    assert not np.isnan(result.predicted_label).any()
    assert np.mean(result.predicted_label == labels) > 0.9


def test_ivf_lists_are_capped_by_the_number_of_points():
    features, labels = clustered(50)
    model = train(make_hp(8, 3, index_type="faiss.IVFFlat"), features, labels)
    assert model.hyperparameters.ivf_nlists == 316
    assert model.index.nlist == 50
    assert np.mean(model.predict(features).predicted_label == labels) > 0.9


def test_ivfpq_pads_dimensions_to_a_multiple_of_m():
    features, labels = clustered(600, dim=5)
    model = train(make_hp(5, 5, index_type="faiss.IVFPQ", faiss_index_pq_m="2"), features, labels)
    assert model.index.d == 6
    assert np.mean(model.predict(features).predicted_label == labels) > 0.9


def test_sign_reduction_indexes_plus_minus_one_vectors():
    features, labels = clustered(200)
    hp = make_hp(8, 3, dimension_reduction_type="sign", dimension_reduction_target="5")
    model = train(hp, features, labels)
    vectors = model.transform(features)
    assert vectors.shape == (200, 5)
    assert set(np.unique(vectors)) == {-1.0, 1.0}


def test_fjlt_roughly_preserves_squared_norms():
    hp = make_hp(64, 3, dimension_reduction_type="fjlt", dimension_reduction_target="32")
    model = train(hp, np.eye(64), np.zeros(64))
    x = np.random.default_rng(0).normal(size=(2_000, 64))
    ratios = (model.transform(x) ** 2).sum(axis=1) / (x**2).sum(axis=1)
    assert ratios.mean() == pytest.approx(1.0, abs=0.05)
    assert ratios.min() > 0.3
    assert ratios.max() < 2.0


def test_cosine_tolerates_zero_vectors():
    model = train(make_hp(2, 1, index_metric="COSINE"), np.array([[0.0, 0.0], [1.0, 0.0]]), [0, 1])
    assert model.predict([[2.0, 0.1]]).predicted_label[0] == 1.0


def test_train_rejects_a_feature_count_different_from_feature_dim():
    with pytest.raises(DataError) as caught:
        train(make_hp(5, 3), np.zeros((10, 6)), np.zeros(10))
    assert str(caught.value) == "feature_dim is 5 but the train channel has 6 columns per record"


@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (np.zeros((0, 2)), np.zeros(0), "no records"),
        (np.zeros((3, 2)), np.zeros(2), "3 feature rows but 2 labels"),
        (np.array([[np.nan, 0.0]]), np.zeros(1), "NaN"),
    ],
)
def test_train_rejects_bad_data(features, labels, message):
    with pytest.raises(DataError, match=message):
        train(make_hp(2, 1), features, labels)


def test_predict_rejects_a_wrong_feature_count():
    model = train(make_hp(2, 1), np.eye(2), np.zeros(2))
    with pytest.raises(InferenceError, match="expected 2 features per record"):
        model.predict(np.zeros((1, 3)))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"index_type": "faiss.IVFPQ", "dimension_reduction_type": "sign"}
        | {"dimension_reduction_target": "4", "_faiss_index_nprobe": "2"},
        {"index_type": "faiss.IVFFlat", "index_metric": "INNER_PRODUCT"},
    ],
)
def test_save_load_and_tarball_round_trips_give_identical_predictions(tmp_path, extra):
    features, labels = clustered(1_500)
    model = train(make_hp(8, 5, **extra), features[:1_000], labels[:1_000])
    queries = features[1_000:]
    expected = model.predict(queries, verbose=True)
    loaded = KnnModel.load(model.save(tmp_path / "model"))
    unpacked = KnnModel.from_tarball(model.to_tarball(tmp_path / "out" / "model.tar.gz"))
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["arrays.npz", "index.faiss", "model.json"]
    for restored in (loaded, unpacked):
        assert restored.hyperparameters == model.hyperparameters
        got = restored.predict(queries, verbose=True)
        np.testing.assert_array_equal(got.predicted_label, expected.predicted_label)
        np.testing.assert_array_equal(got.distances, expected.distances)
        np.testing.assert_array_equal(got.labels, expected.labels)


def test_loading_an_incomplete_artifact_fails_clearly(tmp_path):
    model = train(make_hp(2, 1), np.eye(2), np.zeros(2))
    directory = model.save(tmp_path / "model")
    (directory / "index.faiss").unlink()
    with pytest.raises(DataError, match="missing index.faiss"):
        KnnModel.load(directory)
