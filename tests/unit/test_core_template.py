"""assets/templates/core.yml: cfn-lint clean, and CREATE_COMPLETE on moto for 0, 1 and 2 NATs."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode
from moto import mock_aws

TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "templates" / "core.yml"
STACK = "mysfits-core"
OUTPUTS = {
    "CurrentAccount",
    "CurrentRegion",
    "VPCId",
    "PublicSubnetOne",
    "PublicSubnetTwo",
    "PrivateSubnetOne",
    "PrivateSubnetTwo",
    "ServiceSubnetOne",
    "ServiceSubnetTwo",
    "AssignPublicIp",
    "FargateContainerSecurityGroup",
    "EcsServiceRole",
    "ECSTaskRole",
    "CodeBuildRole",
    "CodePipelineRole",
}


def test_cfn_lint_has_no_findings() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_public_subnets_map_public_ips() -> None:
    # Checked on the template: moto's CloudFormation ignores MapPublicIpOnLaunch.
    template, matches = decode(str(TEMPLATE))
    assert not matches
    resources = template["Resources"]
    for name in ("PublicSubnetOne", "PublicSubnetTwo", "PrivateSubnetOne", "PrivateSubnetTwo"):
        expected = True if name.startswith("Public") else None
        assert resources[name]["Properties"].get("MapPublicIpOnLaunch") is expected, name
    assert template["Parameters"]["NatGateways"]["AllowedValues"] == ["0", "1", "2"]
    assert template["Parameters"]["NatGateways"]["Default"] == "1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def create(nat_gateways: str | None) -> dict[str, str]:
    cloudformation = boto3.client("cloudformation")
    parameters = (
        [{"ParameterKey": "NatGateways", "ParameterValue": nat_gateways}]
        if nat_gateways is not None
        else []
    )
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
        Parameters=parameters,
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def name_tag(resource: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == "Name"), None)


@pytest.mark.parametrize(
    ("nat_gateways", "expected_nats", "public_ip"),
    [("0", 0, "ENABLED"), ("1", 1, "DISABLED"), ("2", 2, "DISABLED"), (None, 1, "DISABLED")],
)
def test_stack_on_moto(
    aws: None, nat_gateways: str | None, expected_nats: int, public_ip: str
) -> None:
    outputs = create(nat_gateways)
    assert set(outputs) == OUTPUTS
    assert outputs["CurrentAccount"] == "123456789012"
    assert outputs["CurrentRegion"] == "us-east-1"
    assert outputs["AssignPublicIp"] == public_ip

    exports = boto3.client("cloudformation").list_exports()["Exports"]
    assert {e["Name"]: e["Value"] for e in exports} == {
        f"{STACK}:{key}": value for key, value in outputs.items()
    }

    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[outputs["VPCId"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert name_tag(vpc) == f"{STACK}-vpc"

    subnet_ids = {key: outputs[key] for key in OUTPUTS if "Subnet" in key and "Service" not in key}
    subnets = {
        s["SubnetId"]: s
        for s in ec2.describe_subnets(SubnetIds=list(subnet_ids.values()))["Subnets"]
    }
    cidrs = {key: subnets[sid]["CidrBlock"] for key, sid in subnet_ids.items()}
    assert cidrs == {
        "PublicSubnetOne": "10.0.0.0/24",
        "PublicSubnetTwo": "10.0.1.0/24",
        "PrivateSubnetOne": "10.0.2.0/24",
        "PrivateSubnetTwo": "10.0.3.0/24",
    }
    for sid in subnet_ids.values():
        assert name_tag(subnets[sid])
    one, two = subnets[outputs["PublicSubnetOne"]], subnets[outputs["PublicSubnetTwo"]]
    assert one["AvailabilityZone"] != two["AvailabilityZone"]

    # Tasks go where they can reach the internet: private behind NAT, else public.
    kind = "Public" if expected_nats == 0 else "Private"
    assert outputs["ServiceSubnetOne"] == outputs[f"{kind}SubnetOne"]
    assert outputs["ServiceSubnetTwo"] == outputs[f"{kind}SubnetTwo"]

    nats = ec2.describe_nat_gateways()["NatGateways"]
    assert len(nats) == expected_nats
    if expected_nats:
        assert nats[0]["VpcId"] == outputs["VPCId"]

    # Private route tables: default route to a NAT exactly when NATs exist.
    # (moto's CloudFormation records no subnet associations, so go by logical id.)
    physical = {
        r.get("LogicalResourceId"): r.get("PhysicalResourceId")
        for r in boto3.client("cloudformation").describe_stack_resources(StackName=STACK)[
            "StackResources"
        ]
    }
    for association in ("PrivateSubnetOne", "PrivateSubnetTwo", "PublicSubnetOne"):
        assert f"{association}RouteTableAssociation" in physical
    private_tables = ec2.describe_route_tables(
        RouteTableIds=[physical["PrivateRouteTableOne"], physical["PrivateRouteTableTwo"]]
    )["RouteTables"]
    assert len(private_tables) == 2
    public_table = ec2.describe_route_tables(RouteTableIds=[physical["PublicRouteTable"]])
    public_routes = public_table["RouteTables"][0]["Routes"]
    assert any(r.get("GatewayId", "").startswith("igw-") for r in public_routes)
    nat_targets = {
        route.get("NatGatewayId")
        for table in private_tables
        for route in table["Routes"]
        if route.get("DestinationCidrBlock") == "0.0.0.0/0"
    }
    assert nat_targets == ({n["NatGatewayId"] for n in nats} if expected_nats else set())

    endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
    assert [e["ServiceName"] for e in endpoints] == ["com.amazonaws.us-east-1.dynamodb"]
    assert set(endpoints[0]["RouteTableIds"]) == {t["RouteTableId"] for t in private_tables}

    group = ec2.describe_security_groups(GroupIds=[outputs["FargateContainerSecurityGroup"]])
    rules = group["SecurityGroups"][0]["IpPermissions"]
    assert any(
        r["IpProtocol"] == "-1" and {"CidrIp": "10.0.0.0/16"} in r["IpRanges"] for r in rules
    )
    public_8080 = [r for r in rules if r.get("FromPort") == 8080]
    assert len(public_8080) == (1 if expected_nats == 0 else 0)


def test_roles_trust_and_permissions(aws: None) -> None:
    outputs = create("1")
    iam = boto3.client("iam")

    def role(key: str) -> dict[str, Any]:
        return iam.get_role(RoleName=outputs[key].rsplit("/", 1)[1])["Role"]

    def policy_actions(key: str) -> set[str]:
        name = role(key)["RoleName"]
        actions: set[str] = set()
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            if isinstance(document, str):
                # moto keeps CloudFormation inline policies as a Python repr, not JSON.
                document = ast.literal_eval(document)
            for statement in document["Statement"]:
                action = statement["Action"]
                actions |= {action} if isinstance(action, str) else set(action)
        return actions

    principals = {
        key: role(key)["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        for key in ("EcsServiceRole", "ECSTaskRole", "CodeBuildRole", "CodePipelineRole")
    }
    # Scalars, not lists: moto's CodePipeline rejects the list form.
    assert principals == {
        "EcsServiceRole": "ecs-tasks.amazonaws.com",
        "ECSTaskRole": "ecs-tasks.amazonaws.com",
        "CodeBuildRole": "codebuild.amazonaws.com",
        "CodePipelineRole": "codepipeline.amazonaws.com",
    }
    assert {"ecr:BatchGetImage", "logs:PutLogEvents"} <= policy_actions("EcsServiceRole")
    assert {
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "xray:PutTraceSegments",
    } <= policy_actions("ECSTaskRole")
    assert {
        "ecr:GetAuthorizationToken",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchCheckLayerAvailability",
        "s3:PutObject",
    } <= policy_actions("CodeBuildRole")
    assert {
        "codebuild:StartBuild",
        "codebuild:BatchGetBuilds",
        "ecs:UpdateService",
        "ecs:RegisterTaskDefinition",
        "iam:PassRole",
    } <= policy_actions("CodePipelineRole")
    assert name_tag(role("CodePipelineRole")) == f"{STACK}-codepipeline"
