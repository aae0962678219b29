"""What CloudFormation refuses at the call: references, attributes, types, capabilities —
and a SAM template expanded by AWS's own translator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.cloudformation.errors import TemplateError
from mysfits_lab.localcloud.services.cloudformation.plan import Context, build, check_capabilities

CTX = Context("us-east-1", "stack", "arn:stack/stack/1", managed_policies=lambda: POLICIES)
POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ),
    "AWSLambdaDynamoDBExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
    ),
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


def body(resources: dict[str, Any], **sections: Any) -> str:
    return json.dumps({"Resources": resources, **sections})


def topic(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": properties}


@pytest.mark.parametrize(
    ("resources", "sections", "message"),
    [
        ({"T": topic(Name={"Ref": "Nope"})}, {}, r"Unresolved resource dependencies \[Nope\]"),
        (
            {"T": topic(Name={"Fn::GetAtt": ["Nope", "Arn"]})},
            {},
            "Fn::GetAtt references undefined resource Nope",
        ),
        (
            {"Q": {"Type": "AWS::SQS::Queue"}, "T": topic(N={"Fn::GetAtt": ["Q", "Nothing"]})},
            {},
            "resource Q does not support attribute type Nothing",
        ),
        (
            {"V": {"Type": "AWS::EC2::VPC"}, "T": topic(N={"Fn::GetAtt": ["V", "Arn"]})},
            {},
            "resource V does not support attribute type Arn",
        ),
        ({"T": {"Type": "NotAType"}}, {}, r"Unrecognized resource types: \[NotAType\]"),
        (
            {"A": topic(N={"Ref": "B"}), "B": topic(N={"Ref": "A"})},
            {},
            "Circular dependency between resources",
        ),
        (
            {"Off": {"Type": "AWS::SNS::Topic", "Condition": "No"}, "T": topic(N={"Ref": "Off"})},
            {"Conditions": {"No": {"Fn::Equals": ["a", "b"]}}},
            r"Unresolved resource dependencies \[Off\] in the Resources block",
        ),
        (
            {"T": topic()},
            {"Outputs": {"O": {"Value": {"Ref": "Gone"}}}},
            r"Unresolved resource dependencies \[Gone\] in the Outputs block",
        ),
        (
            {"T": topic(N={"Fn::Length": [1, 2]})},
            {},
            "Encountered unsupported function: Fn::Length",
        ),
    ],
)
def test_templates_refused_at_the_call(resources, sections, message):
    with pytest.raises(TemplateError, match=message):
        build(body(resources, **sections), [], CTX)


def test_a_taken_branch_decides_what_is_referred_to():
    template = body(
        {
            "Off": {"Type": "AWS::SNS::Topic", "Condition": "No"},
            "T": topic(N={"Fn::If": ["No", {"Ref": "Off"}, "literal"]}),
        },
        Conditions={"No": {"Fn::Equals": ["a", "b"]}},
    )
    plan = build(template, [], CTX)
    assert plan.order == ["T"]


def role(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {}, **properties},
    }


@pytest.mark.parametrize(
    ("resources", "given", "missing"),
    [
        ({"R": role()}, [], "CAPABILITY_IAM"),
        ({"R": role()}, ["CAPABILITY_NAMED_IAM"], None),
        ({"R": role(RoleName="named")}, ["CAPABILITY_IAM"], "CAPABILITY_NAMED_IAM"),
        ({"T": topic()}, [], None),
    ],
)
def test_capabilities(resources, given, missing):
    plan = build(body(resources), [], CTX)
    if missing is None:
        check_capabilities(plan, given, direct=True)
        return
    with pytest.raises(ServiceError) as refused:
        check_capabilities(plan, given, direct=True)
    assert refused.value.code == "InsufficientCapabilitiesException"
    assert refused.value.message == f"Requires capabilities : [{missing}]"


SAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handle
      CodeUri: s3://code/app.zip
      Tracing: Active
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
"""


def test_sam_is_expanded_by_the_translator():
    plan = build(SAM_TEMPLATE, [], CTX)
    types = {name: r["Type"] for name, r in plan.resources.items()}
    assert types == {
        "Fn": "AWS::Lambda::Function",
        "FnRole": "AWS::IAM::Role",
        "FnStream": "AWS::Lambda::EventSourceMapping",
        "Table": "AWS::DynamoDB::Table",
    }
    assert plan.transforms == ["AWS::Serverless-2016-10-31"]
    assert plan.resources["Fn"]["Properties"]["Code"] == {"S3Bucket": "code", "S3Key": "app.zip"}
    assert set(plan.resources["FnRole"]["Properties"]["ManagedPolicyArns"]) == set(
        POLICIES.values()
    )
    assert plan.order.index("FnRole") < plan.order.index("Fn") < plan.order.index("FnStream")
    with pytest.raises(ServiceError, match=r"CAPABILITY_AUTO_EXPAND, CAPABILITY_IAM"):
        check_capabilities(plan, [], direct=True)
    check_capabilities(plan, ["CAPABILITY_IAM"], direct=False)  # change sets expand freely


def test_sam_errors_are_the_translators():
    broken = SAM_TEMPLATE.replace("CodeUri: s3://code/app.zip", "CodeUri: ./src")
    with pytest.raises(TemplateError) as refused:
        build(broken, [], CTX)
    message = refused.value.message
    assert message.startswith("Transform AWS::Serverless-2016-10-31 failed with: Invalid ")
    assert "Resource with id [Fn] is invalid" in message


def test_other_transforms_are_refused():
    with pytest.raises(TemplateError, match="AWS::LanguageExtensions is not supported"):
        build(body({"T": topic()}, Transform="AWS::LanguageExtensions"), [], CTX)
