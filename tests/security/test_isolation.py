"""Two learners on one local cloud: a clean-up removes its own learner's resources only.

alice and bob each build module 01 (website) and module 07 (data, k-NN training job, model,
endpoint config, endpoint) through the ``steps`` functions. alice tears down: every resource of
bob's remains and his rerun is a no-op that still answers. Then bob tears down, and nothing of
either is left. (The local ListModels once ignored ``NameContains``, and module 07's teardown,
trusting it, removed bob's model along with alice's.)
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab import Lab
from mysfits_lab.steps import recommendations as rec
from mysfits_lab.steps import website

LEARNERS = ("alice", "bob")
HYPERPARAMETERS = dict(rec.HYPERPARAMETERS, sample_size=5_000)


def _build(lab: Lab) -> Any:
    website.build(lab)
    dataset = rec.generate_data(lab, rows=20_000, seed=0)
    train, test = rec.split(dataset)
    estimator = rec.train(lab, rec.upload(lab, train, test), HYPERPARAMETERS)
    return rec.deploy(lab, estimator)


def _sagemaker(lab: Lab) -> dict[str, list[str]]:
    """Every model, endpoint config and endpoint on the cloud, whoever made it."""
    sm = lab.client("sagemaker")

    def every(operation: str, key: str, field: str) -> list[str]:
        pages = sm.get_paginator(operation).paginate()
        return sorted(entry[field] for page in pages for entry in page[key])

    return {
        "models": every("list_models", "Models", "ModelName"),
        "configs": every("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
        "endpoints": every("list_endpoints", "Endpoints", "EndpointName"),
    }


def _mine(inventory: dict[str, list[str]], learner: str) -> dict[str, list[str]]:
    return {
        kind: [n for n in names if n.startswith(f"{learner}-")] for kind, names in inventory.items()
    }


def _buckets(lab: Lab) -> list[str]:
    return sorted(b["Name"] for b in lab.client("s3").list_buckets()["Buckets"])


def _role_exists(lab: Lab) -> bool:
    try:
        lab.client("iam").get_role(RoleName=rec.role_name(lab))
    except ClientError:
        return False
    return True


@pytest.fixture
def built(cloud, clean_aws_env) -> dict[str, Any]:
    labs = {learner: Lab.connect(learner=learner) for learner in LEARNERS}
    predictors = {learner: _build(lab) for learner, lab in labs.items()}
    return {"labs": labs, "predictors": predictors}


def test_teardown_removes_only_its_own_learners_resources(built):
    alice, bob = built["labs"]["alice"], built["labs"]["bob"]
    before = _sagemaker(bob)
    bob_sagemaker = _mine(before, "bob")
    assert all(bob_sagemaker.values()), before  # a model, a config and an endpoint each
    assert all(_mine(before, "alice").values()), before
    bob_site = bob.outputs.get("website.url")
    bob_buckets = [b for b in _buckets(bob) if "-bob-" in b]
    assert len(bob_buckets) == 2  # website and sagemaker

    removed = rec.teardown(alice) + website.teardown(alice)
    assert removed and all("bob" not in what for what in removed), removed

    after = _sagemaker(bob)
    assert _mine(after, "alice") == {"models": [], "configs": [], "endpoints": []}
    assert _mine(after, "bob") == bob_sagemaker
    assert [b for b in _buckets(bob) if "-alice-" in b] == []
    assert [b for b in _buckets(bob) if "-bob-" in b] == bob_buckets
    assert not _role_exists(alice) and _role_exists(bob)
    assert rec.is_built(bob) and website.is_built(bob)
    assert requests.get(f"{bob_site}/", timeout=10).status_code == 200
    assert rec.recommend(built["predictors"]["bob"], [1, 2, 3, 4, 5])["name"]

    # bob's rerun finds everything in place: nothing new, and the endpoint still answers.
    predictor = _build(bob)
    assert _sagemaker(bob) == after
    assert [b for b in _buckets(bob) if "-bob-" in b] == bob_buckets
    assert bob.outputs.get("website.url") == bob_site
    assert rec.recommend(predictor, [8, 7, 6, 5, 4])["name"]

    rec.teardown(bob)
    website.teardown(bob)
    left = _sagemaker(bob)
    for learner in LEARNERS:
        assert _mine(left, learner) == {"models": [], "configs": [], "endpoints": []}
        assert [b for b in _buckets(bob) if f"-{learner}-" in b] == []
    assert not _role_exists(bob)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{bob_site}/", timeout=10)
