"""What the resource handlers share: template scalars become the API's types, generated names
look like CloudFormation's, rules and policies read as AWS reads them."""

from __future__ import annotations

import json

from mysfits_lab.localcloud.services.cloudformation.resources.base import (
    ResourceRequest,
    StackInfo,
    api_params,
)
from mysfits_lab.localcloud.services.cloudformation.resources.ec2 import permission
from mysfits_lab.localcloud.services.cloudformation.resources.iam import document


def test_template_scalars_become_the_shapes_types():
    params = api_params(
        "dynamodb",
        "CreateTable",
        {
            "TableName": "t",
            "ProvisionedThroughput": {"ReadCapacityUnits": "5", "WriteCapacityUnits": 5},
            "DeletionProtectionEnabled": "True",
            "Unknown": "kept",
        },
    )
    assert params["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert params["DeletionProtectionEnabled"] is True
    assert params["Unknown"] == "kept"  # botocore refuses it, naming it
    rule = api_params(
        "ec2", "AuthorizeSecurityGroupIngress", {"IpPermissions": [{"IpProtocol": -1}]}
    )
    assert rule == {"IpPermissions": [{"IpProtocol": "-1"}]}


def test_generated_names_fit():
    req = ResourceRequest(
        "AVeryLongLogicalIdForAFunction" * 2,
        "T",
        {},
        StackInfo("s" * 80, "id", "r"),
        lambda s: None,
    )
    name = req.physical_name(64)
    assert len(name) <= 64 and name.startswith("sss") and name.split("-")[-1].isupper()
    bucket = req.physical_name(63, lower=True)
    assert len(bucket) <= 63 and bucket == bucket.lower()


def test_all_protocols_rule_takes_no_ports():
    assert permission({"IpProtocol": -1, "CidrIp": "10.0.0.0/16", "FromPort": -1}, "ingress") == {
        "IpProtocol": "-1",
        "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
    }
    assert permission(
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "SourceSecurityGroupId": "sg-1"},
        "ingress",
    ) == {
        "IpProtocol": "tcp",
        "FromPort": 80,
        "ToPort": 80,
        "UserIdGroupPairs": [{"GroupId": "sg-1"}],
    }


def test_policy_documents_without_version():
    assert json.loads(document({"Statement": []})) == {"Version": "2012-10-17", "Statement": []}
    assert (
        json.loads(document({"Version": "2008-10-17", "Statement": []}))["Version"] == "2008-10-17"
    )
    assert json.loads(document({"Statement": []}, inline=False)) == {"Statement": []}
