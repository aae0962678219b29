"""Templates are read as CloudFormation reads them."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.cloudformation import template as templates
from mysfits_lab.localcloud.services.cloudformation.errors import TemplateError


def test_unquoted_dates_stay_strings():
    loaded = templates.load(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Resources:\n  R:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      PolicyDocument:\n        Version: 2012-10-17\n"
        "        When: 2001-12-14t21:59:43.10-05:00\n"
    )
    document = loaded["Resources"]["R"]["Properties"]["PolicyDocument"]
    assert loaded["AWSTemplateFormatVersion"] == "2010-09-09"
    assert document == {"Version": "2012-10-17", "When": "2001-12-14t21:59:43.10-05:00"}


def test_short_form_tags_become_functions():
    loaded = templates.load(
        "Resources:\n  R:\n    Type: AWS::SNS::Topic\n    Properties:\n"
        "      A: !Ref X\n"
        "      B: !GetAtt Res.Attr.Deep\n"
        "      C: !GetAtt [Res, Attr]\n"
        "      D: !Sub '${AWS::Region}-x'\n"
        "      E: !Join ['', [a, !Ref Y]]\n"
        "      F: !Select [1, !GetAZs '']\n"
        "      G: !If [Cond, !Ref AWS::NoValue, 1]\n"
        "      H: !Not [!Condition Other]\n"
    )
    p = loaded["Resources"]["R"]["Properties"]
    assert p["A"] == {"Ref": "X"}
    assert p["B"] == {"Fn::GetAtt": ["Res", "Attr.Deep"]}
    assert p["C"] == {"Fn::GetAtt": ["Res", "Attr"]}
    assert p["D"] == {"Fn::Sub": "${AWS::Region}-x"}
    assert p["E"] == {"Fn::Join": ["", ["a", {"Ref": "Y"}]]}
    assert p["F"] == {"Fn::Select": [1, {"Fn::GetAZs": ""}]}
    assert p["G"] == {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, 1]}
    assert p["H"] == {"Fn::Not": [{"Condition": "Other"}]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Resources: [unclosed", "YAML not well-formed"),
        ('{"Resources": ', "JSON not well-formed"),
        ("- a\n- b\n", "a template is a map"),
        ("Resources:\n  A: 1\n  A: 2\n", "duplicate key 'A'"),
        ("Resources:\n  A: &a {Type: X}\n  B: *a\n", "aliases are not allowed"),
        ("Resources:\n  A: !!python/object/apply:os.getcwd []\n", "unsupported YAML tag"),
    ],
)
def test_what_cloudformation_cannot_read_is_a_validation_error(text, message):
    with pytest.raises(TemplateError, match=message) as refused:
        templates.load(text)
    assert refused.value.code == "ValidationError" and refused.value.status == 400


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ({"Resources": {}}, "At least one Resources member"),
        ({"Outputs": {}}, "At least one Resources member"),
        ({"Resources": {"A": {"Type": "AWS::SNS::Topic"}}, "Extra": 1}, r"\[Extra\]"),
        (
            {"AWSTemplateFormatVersion": "2011-01-01", "Resources": {"A": {"Type": "T"}}},
            "Unsupported template version",
        ),
        ({"Resources": {"A": {"Properties": {}}}}, "must contain a Type member"),
        ({"Resources": {"A": {"Type": "T", "Propertes": {}}}}, "'Propertes'"),
        ({"Resources": {"A": {"Type": "T"}}, "Outputs": {"O": {"Description": "d"}}}, "Value"),
    ],
)
def test_structure_aws_refuses(template, message):
    with pytest.raises(TemplateError, match=message):
        templates.check_structure(template)


def test_transforms_are_listed_in_both_forms():
    assert templates.transforms({"Transform": "AWS::Serverless-2016-10-31"}) == [
        "AWS::Serverless-2016-10-31"
    ]
    assert templates.transforms({"Transform": ["A", {"Name": "B"}]}) == ["A", "B"]
    assert templates.transforms({}) == []
