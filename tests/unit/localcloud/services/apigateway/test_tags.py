"""Tags without a cloud: which ARNs name a taggable resource, AWS's limits, the store."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.apigateway import tags
from mysfits_lab.localcloud.services.apigateway.tags import TagProblem, TagStore, UnknownResource

API = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3"


@pytest.mark.parametrize(
    ("arn", "kind", "fields"),
    [
        (API, "restapi", {"api_id": "a1b2c3"}),
        (f"{API}/stages/prod", "stage", {"api_id": "a1b2c3", "stage": "prod"}),
        ("arn:aws:apigateway:eu-west-1::/vpclinks/v1", "vpclink", {"link_id": "v1"}),
    ],
)
def test_taggable_arns_name_their_resource(arn, kind, fields):
    found = tags.parse_arn(arn)
    assert (found.arn, found.kind) == (arn, kind)
    assert {name: getattr(found, name) for name in fields} == fields
    assert found.region == ("eu-west-1" if "vpclinks" in arn else "us-east-1")


def test_arns_are_built_as_api_gateway_writes_them():
    assert tags.restapi_arn("us-east-1", "a1b2c3") == API
    assert tags.stage_arn("us-east-1", "a1b2c3", "prod") == f"{API}/stages/prod"
    assert tags.vpclink_arn("us-east-1", "v1") == "arn:aws:apigateway:us-east-1::/vpclinks/v1"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sqs:us-east-1:123456789012:queue",
        "arn:aws:apigateway:us-east-1:123456789012:/restapis/a1",  # API Gateway's have no account
        "restapis/a1",
        "",
        "arn:aws:apigateway:us-east-1::/apikeys/k1",  # taggable on AWS, not here: said so
    ],
)
def test_what_is_no_api_gateway_arn_of_ours_is_a_problem(arn):
    with pytest.raises(TagProblem):
        tags.parse_arn(arn)


@pytest.mark.parametrize(
    "path", ["/restapis", "/restapis/a1/resources/r1", "/restapis/a1/stages", "/things/t1"]
)
def test_api_gateway_arns_of_no_taggable_resource_are_unknown(path):
    with pytest.raises(UnknownResource, match="Invalid resource identifier specified"):
        tags.parse_arn(f"arn:aws:apigateway:us-east-1::{path}")


@pytest.mark.parametrize(
    "given",
    [
        {"team": "mysfits"},
        {"k" * 128: "v" * 256},
        {"Name": ""},
        {"a b+c-d=e.f_g:h/i@j": "Ünïcode 1"},
    ],
)
def test_tags_aws_accepts(given):
    tags.check(given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"aws:team": "x"}, "cannot start with 'aws:'"),
        ({"AwS:team": "x"}, "cannot start with 'aws:'"),
        ({"": "x"}, "1 to 128"),
        ({"k" * 129: "x"}, "1 to 128"),
        ({"key": "v" * 257}, "at most 256"),
        ({"semi;colon": "x"}, "Invalid tag key"),
        ({"key": "new\nline"}, "Invalid tag value"),
    ],
)
def test_tags_aws_refuses(given, message):
    with pytest.raises(TagProblem, match=message):
        tags.check(given)


def test_fifty_tags_at_most_counting_those_already_there():
    current = {f"k{i}": "v" for i in range(49)}
    assert len(tags.merged(current, {"k0": "new", "last": "v"})) == 50
    with pytest.raises(TagProblem, match="at most 50"):
        tags.merged(current, {"one": "v", "two": "v"})


def test_the_store_seeds_unknown_resources_from_moto_and_keeps_its_own_after():
    store = TagStore()
    assert store.tags(API, seed={"from": "moto"}) == {"from": "moto"}
    store.tag(API, {"team": "mysfits"}, seed={"from": "moto"})
    assert store.tags(API, seed={"ignored": "now"}) == {"from": "moto", "team": "mysfits"}
    store.untag(API, ["from", "never-there"], seed=None)
    assert store.tags(API) == {"team": "mysfits"}


def test_a_refused_tag_call_changes_nothing():
    store = TagStore()
    store.put(API, {"team": "mysfits"})
    with pytest.raises(TagProblem):
        store.tag(API, {"ok": "v", "aws:no": "v"}, seed=None)
    assert store.tags(API) == {"team": "mysfits"}


def test_forgetting_an_api_forgets_what_is_under_it_only():
    store = TagStore()
    other = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d"
    for arn in (API, f"{API}/stages/prod", other):
        store.put(arn, {"k": "v"})
    store.forget(API)
    assert store.tags(API) == {} and store.tags(f"{API}/stages/prod") == {}
    assert store.tags(other) == {"k": "v"}
