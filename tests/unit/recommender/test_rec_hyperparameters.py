import pytest

from mysfits_lab.recommender.hyperparameters import (
    HyperparameterError,
    KnnHyperparameters,
    parse_hyperparameters,
)

BASE = {"feature_dim": "5", "k": "10", "predictor_type": "classifier", "sample_size": "100000"}


def parse(**overrides):
    raw = {**BASE, **overrides}
    return parse_hyperparameters({key: value for key, value in raw.items() if value is not None})


def test_strings_are_parsed_and_defaults_applied():
    hp = parse()
    assert hp == KnnHyperparameters(
        feature_dim=5, k=10, predictor_type="classifier", sample_size=100000
    )
    assert hp.index_type == "faiss.Flat"
    assert hp.index_metric == "L2"
    assert hp.mini_batch_size == 5000
    assert hp.dimension_reduction_type is None
    assert hp.ivf_nlists == 316  # "auto" = round(sqrt(100000))


def test_numbers_are_accepted_like_strings():
    assert parse(feature_dim=5, k=10.0, sample_size=" 100000 ") == parse()


def test_all_optional_values_are_parsed():
    hp = parse(
        index_type="faiss.IVFPQ",
        faiss_index_ivf_nlists="20",
        faiss_index_pq_m="4",
        dimension_reduction_type="fjlt",
        dimension_reduction_target="4",
        mini_batch_size="100",
        _faiss_index_nprobe="3",
        _kvstore="dist_async",
        _num_gpus="auto",
    )
    assert (hp.index_type, hp.ivf_nlists, hp.faiss_index_pq_m) == ("faiss.IVFPQ", 20, 4)
    assert (hp.dimension_reduction_type, hp.dimension_reduction_target) == ("fjlt", 4)
    assert (hp.index_dim, hp.mini_batch_size, hp.faiss_index_nprobe) == (4, 100, 3)
    assert dict(hp.internal) == {"_kvstore": "dist_async", "_num_gpus": "auto"}


def test_to_strings_round_trips():
    hp = parse(index_type="faiss.IVFFlat", index_metric="COSINE", _kvstore="local")
    assert parse_hyperparameters(hp.to_strings()) == hp
    reduced = parse(dimension_reduction_type="sign", dimension_reduction_target="2")
    assert parse_hyperparameters(reduced.to_strings()) == reduced


@pytest.mark.parametrize("name", ["feature_dim", "k", "predictor_type", "sample_size"])
def test_each_required_parameter_is_required(name):
    with pytest.raises(HyperparameterError, match=f"^{name} is required"):
        parse(**{name: None})


@pytest.mark.parametrize("name", ["feature_dim", "k", "sample_size", "mini_batch_size"])
@pytest.mark.parametrize("bad", ["0", "-3", "2.5", "ten", "", True])
def test_positive_integers_are_enforced(name, bad):
    with pytest.raises(HyperparameterError) as caught:
        parse(**{name: bad})
    assert str(caught.value) == f"{name} must be a positive integer (got {bad!r})"


@pytest.mark.parametrize(
    ("name", "bad", "allowed"),
    [
        ("predictor_type", "classify", "classifier, regressor"),
        ("index_type", "faiss.HNSW", "faiss.Flat, faiss.IVFFlat, faiss.IVFPQ"),
        ("index_metric", "l2", "L2, INNER_PRODUCT, COSINE"),
    ],
)
def test_choices_name_the_parameter_value_and_allowed_values(name, bad, allowed):
    with pytest.raises(HyperparameterError) as caught:
        parse(**{name: bad})
    assert str(caught.value) == f"{name} must be one of {allowed} (got {bad!r})"


@pytest.mark.parametrize("metric", ["INNER_PRODUCT", "COSINE"])
def test_ivfpq_only_supports_l2(metric):
    with pytest.raises(HyperparameterError, match=f"index_metric must be L2 .*'{metric}'"):
        parse(index_type="faiss.IVFPQ", index_metric=metric)
    assert parse(index_type="faiss.IVFFlat", index_metric=metric).index_metric == metric


def test_dimension_reduction_type_is_checked():
    with pytest.raises(HyperparameterError, match="dimension_reduction_type must be one of sign"):
        parse(dimension_reduction_type="pca", dimension_reduction_target="2")


def test_dimension_reduction_type_requires_a_target():
    with pytest.raises(HyperparameterError, match="^dimension_reduction_target is required"):
        parse(dimension_reduction_type="sign")


def test_dimension_reduction_target_requires_a_type():
    with pytest.raises(HyperparameterError, match="^dimension_reduction_target needs"):
        parse(dimension_reduction_target="2")


@pytest.mark.parametrize("bad", ["0", "5", "6", "x"])
def test_dimension_reduction_target_must_be_below_feature_dim(bad):
    with pytest.raises(HyperparameterError) as caught:
        parse(dimension_reduction_type="sign", dimension_reduction_target=bad)
    message = str(caught.value)
    assert message.startswith("dimension_reduction_target must be")
    assert f"(got {bad!r})" in message and "feature_dim = 5" in message


@pytest.mark.parametrize("bad", ["0", "many", "1.5"])
def test_nlists_must_be_auto_or_positive(bad):
    with pytest.raises(HyperparameterError) as caught:
        parse(faiss_index_ivf_nlists=bad)
    assert str(caught.value) == (
        f"faiss_index_ivf_nlists must be 'auto' or a positive integer (got {bad!r})"
    )
    assert parse(faiss_index_ivf_nlists="auto").faiss_index_ivf_nlists is None


@pytest.mark.parametrize("bad", ["5", "0", "128", "x"])
def test_pq_m_must_be_one_of_the_faiss_values(bad):
    with pytest.raises(
        HyperparameterError, match=r"^faiss_index_pq_m must be one of 1, 2, 3, 4, 8"
    ):
        parse(faiss_index_pq_m=bad)
    assert parse(faiss_index_pq_m="96").faiss_index_pq_m == 96


def test_unknown_parameters_are_rejected_by_name():
    with pytest.raises(HyperparameterError, match=r"^unknown hyperparameter 'kk' \(allowed: "):
        parse(kk="3")
    with pytest.raises(HyperparameterError, match="'_made_up', 'alpha'"):
        parse(alpha="1", _made_up="2")


def test_hyperparameter_error_is_a_value_error():
    assert issubclass(HyperparameterError, ValueError)
