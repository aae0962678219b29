import gzip

import numpy as np
import pytest

from mysfits_lab.recommender import generator
from mysfits_lab.recommender.generator import generate, read_csv_gz, split, write_csv_gz


@pytest.fixture(scope="module")
def sample():
    return generate(rows=200_000, seed=11)


def test_same_seed_gives_identical_data_and_other_seed_differs():
    first, again, other = generate(5_000, seed=3), generate(5_000, seed=3), generate(5_000, seed=4)
    np.testing.assert_array_equal(first.data, again.data)
    assert not np.array_equal(first.data, other.data)


def test_schema_and_ranges(sample):
    data = sample.data
    assert data.shape == (200_000, 6)
    assert np.issubdtype(data.dtype, np.integer)
    assert data[:, :5].min() == 1 and data[:, :5].max() == 8
    assert data[:, 5].min() == 0 and data[:, 5].max() == 11
    np.testing.assert_array_equal(sample.features, data[:, :5])
    np.testing.assert_array_equal(sample.labels, data[:, 5])


def test_label_frequencies_follow_the_prior(sample):
    frequencies = np.bincount(sample.labels, minlength=12) / len(sample.labels)
    prior = np.asarray(sample.report.prior)
    assert prior.sum() == pytest.approx(1.0)
    assert len(set(prior)) > 1, "the prior must not be uniform"
    # the standard error of each frequency is below 0.0008 at 200k rows
    np.testing.assert_allclose(frequencies, prior, atol=0.004)


def test_answers_follow_the_profile_of_their_label(sample):
    probs = generator.profiles().answer_probs
    for label in (0, 11):
        answers = sample.features[sample.labels == label]
        for question in range(5):
            observed = np.bincount(answers[:, question] - 1, minlength=8) / len(answers)
            np.testing.assert_allclose(observed, probs[label, question], atol=0.02)


def test_report_values_are_exact_properties_of_the_distribution(sample):
    report = sample.report
    assert 1 / 12 < report.bayes_accuracy < 1
    assert 0.6 <= report.bayes_accuracy <= 0.85
    assert report.majority_baseline == pytest.approx(max(report.prior))
    assert report.majority_baseline < report.bayes_accuracy
    assert report.rows == 200_000 and report.seed == 11


def test_bayes_accuracy_matches_an_independent_enumeration():
    p = generator.profiles()
    best = np.zeros((8,) * 5)
    for label in range(12):
        q = p.answer_probs[label]
        joint = p.prior[label] * np.einsum("a,b,c,d,e->abcde", *q)
        best = np.maximum(best, joint)
    assert generator.bayes_accuracy() == pytest.approx(best.sum(), rel=1e-12)


def test_bayes_classifier_empirical_accuracy_matches_the_analytic_value(sample):
    predicted = generator.bayes_predict(sample.features)
    empirical = float(np.mean(predicted == sample.labels))
    # the standard error is about 0.001 at 200k rows
    assert empirical == pytest.approx(sample.report.bayes_accuracy, abs=0.005)


def test_docstring_documents_the_actual_profiles():
    documented = [line.strip() for line in generator.__doc__.splitlines()]
    for line in generator.describe_profiles().splitlines():
        assert line.strip() in documented


def test_profiles_do_not_depend_on_the_data_seed():
    before = generator.profiles().answer_probs.copy()
    generate(1_000, seed=99)
    np.testing.assert_array_equal(generator.profiles().answer_probs, before)


def test_csv_gz_round_trip_uses_the_workshop_schema(tmp_path):
    dataset = generate(2_000, seed=5)
    path = write_csv_gz(dataset, tmp_path / "data" / "mysfits.csv.gz")
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert len(lines) == 2_000
    assert lines[0] == ",".join(str(v) for v in dataset.data[0])
    np.testing.assert_array_equal(read_csv_gz(path), dataset.data)


def test_format_int_csv_handles_wide_and_negative_values():
    values = np.array([[0, -7, 123456789], [10, 5, -42]])
    assert generator.format_int_csv(values) == b"0,-7,123456789\n10,5,-42\n"


def test_split_is_a_seeded_90_10_partition():
    data = np.arange(1_000 * 6).reshape(1_000, 6)
    train, test = split(data, train_fraction=0.9, seed=1)
    assert len(train) == 900 and len(test) == 100
    combined = np.vstack([train, test])
    np.testing.assert_array_equal(np.sort(combined[:, 0]), data[:, 0])
    again, _ = split(data, seed=1)
    other, _ = split(data, seed=2)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, other)
    assert not np.array_equal(train, data[:900]), "rows must be shuffled"


def test_split_rejects_a_fraction_outside_zero_one():
    with pytest.raises(ValueError, match="train_fraction"):
        split(np.zeros((10, 6)), train_fraction=1.0)
