"""Intrinsic functions and conditions resolve as CloudFormation resolves them — where moto's
resolution differs (GetAZs of a Ref, nested conditions, Sub, Cidr) above all."""

from __future__ import annotations

from typing import Any

import pytest

from mysfits_lab.localcloud.services.cloudformation.intrinsics import Lookups, Resolver
from mysfits_lab.localcloud.services.cloudformation.references import references
from mysfits_lab.localcloud.services.cloudformation.syntax import IntrinsicError

ZONES = {"eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"], "us-east-1": ["us-east-1a"]}


def resolver(conditions: dict[str, Any] | None = None, **values: Any) -> Resolver:
    lookups = Lookups(
        region="eu-west-1",
        values={"AWS::Region": "eu-west-1", "AWS::StackName": "s", "AWS::AccountId": "1", **values},
        mappings={"Sizes": {"Small": {"Cpu": 256}}},
        ref=lambda name: f"phys-{name}",
        attribute=lambda name, attribute: f"{name}.{attribute}",
        availability_zones=lambda region: ZONES[region],
        import_value=lambda name: f"imported-{name}",
    )
    return Resolver(lookups, conditions)


@pytest.mark.parametrize(
    "argument", ["", {"Ref": "AWS::Region"}, "eu-west-1"], ids=["empty", "ref", "literal"]
)
def test_get_azs_gives_the_regions_zones(argument):
    assert resolver().resolve({"Fn::GetAZs": argument}) == ZONES["eu-west-1"]
    assert resolver().resolve({"Fn::Select": [1, {"Fn::GetAZs": argument}]}) == "eu-west-1b"


def test_get_azs_of_another_region():
    assert resolver().resolve({"Fn::GetAZs": "us-east-1"}) == ["us-east-1a"]


def test_sub_forms():
    r = resolver(Env="dev")
    assert r.resolve({"Fn::Sub": "${AWS::StackName}-${Env}-${Bucket}"}) == "s-dev-phys-Bucket"
    assert r.resolve({"Fn::Sub": "${Fn.Arn}/invocations"}) == "Fn.Arn/invocations"
    assert r.resolve({"Fn::Sub": "${Res.Endpoint.Address}"}) == "Res.Endpoint.Address"
    assert r.resolve({"Fn::Sub": "${!Literal} $util.x('$')"}) == "${Literal} $util.x('$')"
    assert r.resolve({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Thing"}}]}) == "phys-Thing-dev"


def test_join_select_split_find_in_map_base64_cidr():
    r = resolver()
    assert r.resolve({"Fn::Join": [":", [{"Ref": "AWS::StackName"}, "x", 3]]}) == "s:x:3"
    assert r.resolve({"Fn::Select": ["0", {"Fn::Split": [",", "a,b"]}]}) == "a"
    assert r.resolve({"Fn::FindInMap": ["Sizes", "Small", "Cpu"]}) == 256
    assert r.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert r.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}) == ["10.0.0.0/24", "10.0.1.0/24"]
    assert r.resolve({"Fn::ImportValue": "core:VPCId"}) == "imported-core:VPCId"
    assert r.resolve({"Fn::GetAtt": ["Role", "Arn"]}) == "Role.Arn"


def test_no_value_leaves_maps_and_lists():
    r = resolver(conditions={"Yes": {"Fn::Equals": ["a", "a"]}})
    value = {
        "Keep": 1,
        "Drop": {"Fn::If": ["Yes", {"Ref": "AWS::NoValue"}, 2]},
        "List": [1, {"Fn::If": ["Yes", {"Ref": "AWS::NoValue"}, 2]}, 3],
    }
    assert r.resolve(value) == {"Keep": 1, "List": [1, 3]}


def test_conditions_that_name_conditions():
    conditions = {
        "NoNat": {"Fn::Equals": [{"Ref": "Nats"}, "0"]},
        "HasNat": {"Fn::Not": [{"Condition": "NoNat"}]},
        "TwoNats": {"Fn::And": [{"Condition": "HasNat"}, {"Fn::Equals": [{"Ref": "Nats"}, 2]}]},
        "Either": {"Fn::Or": [{"Condition": "NoNat"}, {"Condition": "TwoNats"}]},
    }
    assert resolver(conditions, Nats="2").all_conditions() == {
        "NoNat": False,
        "HasNat": True,
        "TwoNats": True,
        "Either": True,
    }
    assert resolver({"B": {"Fn::Equals": [True, "true"]}}).condition("B") is True


def test_condition_cycles_and_unknown_names_are_errors():
    cyclic = {"A": {"Fn::Not": [{"Condition": "B"}]}, "B": {"Fn::Not": [{"Condition": "A"}]}}
    with pytest.raises(IntrinsicError, match="Circular dependency between conditions"):
        resolver(cyclic).condition("A")
    with pytest.raises(IntrinsicError, match="Unresolved condition dependency Nope"):
        resolver().resolve({"Fn::If": ["Nope", 1, 2]})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::Select": [3, ["a"]]}, "nonexistent value at index 3"),
        ({"Fn::Join": [",", "not a list"]}, "must be a list"),
        (
            {"Fn::FindInMap": ["Sizes", "Large", "Cpu"]},
            "Unable to get mapping for Sizes::Large::Cpu",
        ),
        ({"Fn::Length": [1]}, "Encountered unsupported function: Fn::Length"),
        ({"Fn::GetAtt": ["OnlyOne"]}, "requires two non-empty parameters"),
        ({"Fn::Sub": ["${A}", "no map"]}, "Fn::Sub takes"),
        ({"Fn::Transform": {"Name": "AWS::Include"}}, "not supported"),
    ],
)
def test_function_errors_name_the_problem(value, message):
    with pytest.raises(IntrinsicError, match=message):
        resolver().resolve(value)


def test_references_finds_ref_get_att_and_sub_names():
    found = references(
        {
            "A": {"Ref": "Vpc"},
            "B": {"Fn::GetAtt": "Role.Arn"},
            "C": {
                "Fn::Sub": ["${Fn.Arn}/${AWS::Region}/${Local}/${!Lit}", {"Local": {"Ref": "P"}}]
            },
            "D": {"Fn::If": ["C", {"Ref": "One"}, {"Ref": "Two"}]},
        }
    )
    pairs = [(r.name, r.attribute) for r in found]
    assert pairs == [
        ("Vpc", None),
        ("Role", "Arn"),
        ("Fn", "Arn"),
        ("AWS::Region", None),
        ("P", None),
        ("One", None),
        ("Two", None),
    ]
