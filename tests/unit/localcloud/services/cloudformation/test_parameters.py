"""Stack parameters: defaults, constraints and CloudFormation's messages."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.cloudformation.errors import TemplateError
from mysfits_lab.localcloud.services.cloudformation.parameters import resolve, summary

DECLARED = {
    "Nats": {"Type": "String", "AllowedValues": ["0", "1", "2"], "Default": 1},
    "Email": {"Type": "String", "AllowedPattern": r"[^@]+@[^@]+", "NoEcho": True},
    "Size": {"Type": "Number", "MinValue": 1, "MaxValue": 10, "Default": "5"},
    "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
}


def given(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def test_defaults_and_given_values():
    params = resolve(DECLARED, given(Email="a@b.c"))
    assert params["Nats"].value == "1"
    assert params["Size"].resolved == "5"
    assert params["Zones"].resolved == ["a", "b"]
    assert params["Email"].to_api() == {"ParameterKey": "Email", "ParameterValue": "****"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, r"Parameters: \[Email\] must have values"),
        ({"Email": "a@b.c", "Extra": "1"}, r"Parameters: \[Extra\] do not exist in the template"),
        ({"Email": "a@b.c", "Nats": "3"}, "'Nats' must be one of AllowedValues"),
        ({"Email": "nobody"}, "'Email' must match pattern"),
        ({"Email": "a@b.c", "Size": "11"}, "must be a number not greater than 10"),
        ({"Email": "a@b.c", "Size": "x"}, "'Size' must be a number"),
    ],
)
def test_refused_values(values, message):
    with pytest.raises(TemplateError, match=message):
        resolve(DECLARED, given(**values))


def test_parameter_declarations_aws_refuses():
    with pytest.raises(TemplateError, match="Unrecognized parameter type: Bogus"):
        resolve({"P": {"Type": "Bogus", "Default": "x"}}, [])
    with pytest.raises(TemplateError, match="Invalid parameter property"):
        resolve({"P": {"Type": "String", "Default": "x", "MinLength": "many"}}, [])


def test_previous_values_and_ssm():
    first = resolve(DECLARED, given(Email="a@b.c", Nats="2"))
    again = resolve(
        DECLARED,
        [{"ParameterKey": "Nats", "UsePreviousValue": True}, *given(Email="x@y.z")],
        previous=first,
    )
    assert again["Nats"].value == "2"
    ssm = resolve(
        {"Ami": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        given(Ami="/ami/latest"),
        ssm=lambda name: f"value-of{name}",
    )
    assert ssm["Ami"].resolved == "value-of/ami/latest"
    assert ssm["Ami"].to_api()["ResolvedValue"] == "value-of/ami/latest"


def test_summary_lists_what_validate_template_shows():
    listed = {p["ParameterKey"]: p for p in summary(DECLARED)}
    assert listed["Nats"]["DefaultValue"] == "1"
    assert listed["Nats"]["ParameterConstraints"] == {"AllowedValues": ["0", "1", "2"]}
    assert listed["Email"]["NoEcho"] is True
