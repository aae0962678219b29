"""Two learners in two regions on one running local cloud: each gets a working module 2a, and
the second one does not harm the first."""

from __future__ import annotations

import requests

from mysfits_lab import Lab
from mysfits_lab.steps import service, website


def _mysfits(url: str) -> int:
    response = requests.get(f"{url}/mysfits", timeout=5)
    response.raise_for_status()
    return len(response.json()["mysfits"])


def test_a_learner_in_another_region_works_beside_the_default_one(cloud, clean_aws_env):
    home = Lab.connect()
    website.build(home)
    service.build(home, nat_gateways=0, desired_count=1)
    home_url = home.outputs.get("service.url")
    assert _mysfits(home_url) == 6

    euro = Lab.connect(learner="euro", region="eu-west-1")
    website.build(euro)
    service.build(euro, nat_gateways=0, desired_count=1)
    euro_url = euro.outputs.get("service.url")
    assert euro_url != home_url and _mysfits(euro_url) == 6
    assert website.check_site(euro.outputs.get("website.url")).source == "the API"
    balancers = euro.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert [lb["LoadBalancerArn"].split(":")[3] for lb in balancers] == ["eu-west-1"]

    # the default learner is unharmed, and rebuilding it changes nothing
    home = Lab.connect()
    assert _mysfits(home_url) == 6
    before = home.outputs.values()["service"]
    service.build(home, nat_gateways=0, desired_count=1)
    assert home.outputs.values()["service"] == before
    assert website.check_site(home.outputs.get("website.url")).source == "the API"
