"""How the control route names load balancers when two regions use the same name."""

import pytest

from mysfits_lab.localcloud.services.elb.models import LoadBalancer, find_by_name, listing_keys


def _balancer(region: str, name: str) -> LoadBalancer:
    arn = f"arn:aws:elasticloadbalancing:{region}:123456789012:loadbalancer/net/{name}/0123"
    return LoadBalancer(arn, name, f"{name}-0123.elb.{region}.amazonaws.com", "network")


EUROPE, AMERICA, ASIA = (
    _balancer("eu-west-1", "web"),
    _balancer("us-east-1", "web"),
    _balancer("ap-south-1", "web"),
)


def test_the_default_region_keeps_the_plain_name():
    assert listing_keys([EUROPE, AMERICA, ASIA], "us-east-1") == {
        "web": AMERICA,
        "ap-south-1/web": ASIA,
        "eu-west-1/web": EUROPE,
    }
    assert listing_keys([EUROPE], "us-east-1") == {"web": EUROPE}


def test_a_name_is_found_in_a_region_or_the_default_one():
    assert find_by_name([EUROPE, AMERICA], "web", None, "us-east-1") is AMERICA
    assert find_by_name([EUROPE, AMERICA], "web", "eu-west-1", "us-east-1") is EUROPE
    assert find_by_name([EUROPE], "web", None, "us-east-1") is EUROPE
    with pytest.raises(LookupError, match="exists in ap-south-1, eu-west-1: name the region"):
        find_by_name([EUROPE, ASIA], "web", None, "us-east-1")
    with pytest.raises(LookupError, match="no load balancer named 'web' in us-west-2"):
        find_by_name([EUROPE, AMERICA], "web", "us-west-2", "us-east-1")
