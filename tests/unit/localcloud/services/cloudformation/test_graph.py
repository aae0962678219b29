"""Resources are made after what they refer to, and deleted in the reverse order."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.cloudformation.errors import TemplateError
from mysfits_lab.localcloud.services.cloudformation.graph import creation_order, dependents


def test_order_follows_ref_get_att_sub_and_depends_on():
    resources = {
        "Route": {
            "Type": "T",
            "DependsOn": "Attachment",
            "Properties": {"Table": {"Ref": "Table"}},
        },
        "Table": {"Type": "T", "Properties": {"Vpc": {"Ref": "Vpc"}}},
        "Attachment": {"Type": "T", "Properties": {"Vpc": {"Fn::GetAtt": ["Vpc", "VpcId"]}}},
        "Name": {"Type": "T", "Properties": {"N": {"Fn::Sub": "${Vpc}-${AWS::Region}"}}},
        "Vpc": {"Type": "T"},
        "Alone": {"Type": "T"},
    }
    order = creation_order(resources)
    assert order == ["Vpc", "Table", "Attachment", "Route", "Name", "Alone"]
    assert dependents(resources, "Vpc") == {"Table", "Attachment", "Route", "Name"}


def test_a_cycle_names_its_resources():
    resources = {
        "A": {"Type": "T", "Properties": {"X": {"Ref": "B"}}},
        "B": {"Type": "T", "Properties": {"X": {"Fn::GetAtt": ["A", "Arn"]}}},
        "C": {"Type": "T"},
    }
    with pytest.raises(TemplateError, match=r"Circular dependency between resources: \[A, B\]"):
        creation_order(resources)


def test_depends_on_a_missing_resource():
    with pytest.raises(TemplateError, match=r"Unresolved resource dependencies \[Gone\]"):
        creation_order({"A": {"Type": "T", "DependsOn": ["Gone"]}})
