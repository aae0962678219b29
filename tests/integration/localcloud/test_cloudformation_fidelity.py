"""CloudFormation on an in-process local cloud, called through boto3 as ``aws cloudformation
create-stack`` and ``aws cloudformation deploy`` (change sets, waiters) call it: the workshop's
own core stack as AWS accepts it, failed stacks rolled back with AWS's events, resource types
moto skips made or refused by name, and the workshop's SAM stacks of modules 5, 6 and 7
expanded, deployed and really running (functions, API stages, Firehose, stream mappings).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, WaiterError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from tests.helpers import EdgeSession, wait_for

TEMPLATES = Path(__file__).parent / "templates"
SCALE = 0.05  # Firehose's 60 s buffer lasts 3 s
FAST = {"Delay": 1, "MaxAttempts": 60}
CODE_BUCKET = "mysfits-sam-code"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeSession]:
    providers: list[Any] = ["cloudformation", "lambda", "apigateway", "firehose", "sns"]
    providers.append("eventsources")
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("cfn-cloud"), providers=providers, clock=Clock(SCALE)
    )
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    session = EdgeSession(cloud.port)
    session.client("s3").create_bucket(Bucket=CODE_BUCKET)
    yield session
    cloud.shutdown()
    server.join(timeout=10)


def _error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]


def _events(aws: EdgeSession, stack: str) -> list[dict[str, Any]]:
    """Oldest first."""
    return aws.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"][::-1]


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _deploy(aws: EdgeSession, name: str, template: str, **parameters: str) -> dict[str, Any]:
    """What ``aws cloudformation deploy --capabilities CAPABILITY_IAM`` does for a new stack."""
    cfn = aws.client("cloudformation")
    assert "does not exist" in _error(cfn.describe_stacks, StackName=name)["Message"]
    change_set = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"samcli-deploy{int(time.time())}",
        ChangeSetType="CREATE",
        TemplateBody=(TEMPLATES / template).read_text(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    cfn.get_waiter("change_set_create_complete").wait(
        ChangeSetName=change_set["Id"], WaiterConfig=FAST
    )
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] in (
        "REVIEW_IN_PROGRESS",
    )
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def _upload(aws: EdgeSession, *modules: str) -> str:
    """The functions' code as ``sam package`` leaves it: a .zip in S3."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for module in modules:
            zipped.write(TEMPLATES / "functions" / f"{module}.py", f"{module}.py")
    key = f"{modules[0]}.zip"
    aws.client("s3").put_object(Bucket=CODE_BUCKET, Key=key, Body=archive.getvalue())
    return key


def _stage_url(aws: EdgeSession, api_id: str, stage: str) -> str:
    return aws.control("apigateway")[f"{api_id}/{stage}"]


def _physical(aws: EdgeSession, stack: str, logical_id: str) -> str:
    detail = aws.client("cloudformation").describe_stack_resource(
        StackName=stack, LogicalResourceId=logical_id
    )["StackResourceDetail"]
    return detail["PhysicalResourceId"]


# -- the workshop's core stack (module 2) -------------------------------------------------------
def test_the_workshops_core_stack_deploys_with_its_outputs_and_exports(aws):
    cfn, ec2, iam = aws.client("cloudformation"), aws.client("ec2"), aws.client("iam")
    body = (TEMPLATES / "workshop-core.yml").read_text()
    refused = _error(cfn.create_stack, StackName="core", TemplateBody=body)
    assert refused == {
        "Type": "Sender",
        "Code": "InsufficientCapabilitiesException",
        "Message": "Requires capabilities : [CAPABILITY_NAMED_IAM]",
    }
    stack_id = cfn.create_stack(
        StackName="core", TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"]
    )["StackId"]
    cfn.get_waiter("stack_create_complete").wait(StackName="core", WaiterConfig=FAST)
    stack = cfn.describe_stacks(StackName="core")["Stacks"][0]
    outputs = _outputs(stack)
    assert len(outputs) == 12
    assert outputs["CurrentRegion"] == "us-east-1"
    assert outputs["CurrentAccount"] == "123456789012"
    assert outputs["CodeBuildRole"].endswith(":role/MythicalMysfitsServiceCodeBuildServiceRole")
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert exports["core:VPCId"] == outputs["VPCId"]
    assert (
        exports["core:MythicalMysfitsServiceCodePipelineServiceRole"] == outputs["CodePipelineRole"]
    )

    # Fn::GetAZs of {Ref: AWS::Region}, of "" — the region's zones, in order
    subnets = ec2.describe_subnets(
        SubnetIds=[outputs[k] for k in ("PublicSubnetOne", "PublicSubnetTwo")]
        + [outputs[k] for k in ("PrivateSubnetOne", "PrivateSubnetTwo")]
    )["Subnets"]
    zones = {s["CidrBlock"]: s["AvailabilityZone"] for s in subnets}
    assert zones == {
        "10.0.0.0/24": "us-east-1a",
        "10.0.1.0/24": "us-east-1b",
        "10.0.2.0/24": "us-east-1a",
        "10.0.3.0/24": "us-east-1b",
    }
    public = {s["CidrBlock"]: s["MapPublicIpOnLaunch"] for s in subnets}
    assert public["10.0.0.0/24"] is True and public["10.0.2.0/24"] is False
    # IpProtocol -1 without ports
    group = ec2.describe_security_groups(GroupIds=[outputs["FargateContainerSecurityGroup"]])
    rules = group["SecurityGroups"][0]["IpPermissions"]
    assert [(r["IpProtocol"], r["IpRanges"]) for r in rules] == [
        ("-1", [{"CidrIp": "10.0.0.0/16"}])
    ]
    # Domain: VPC (any case) and vpc
    vpc_filter = [{"Name": "vpc-id", "Values": [outputs["VPCId"]]}]
    nats = ec2.describe_nat_gateways(Filter=vpc_filter)["NatGateways"]
    assert sorted(n["State"] for n in nats) == ["available", "available"]
    endpoint = ec2.describe_vpc_endpoints(Filters=vpc_filter)["VpcEndpoints"][0]
    assert endpoint["ServiceName"] == "com.amazonaws.us-east-1.dynamodb"
    assert len(endpoint["RouteTableIds"]) == 2
    # policies without a Version, an unquoted Version date
    role = outputs["EcsServiceRole"].rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["ecs-service"]
    tags = {
        t["Key"]: t["Value"]
        for t in ec2.describe_vpcs(VpcIds=[outputs["VPCId"]])["Vpcs"][0]["Tags"]
    }
    assert tags["aws:cloudformation:stack-name"] == "core"
    assert tags["aws:cloudformation:logical-id"] == "VPC"

    cfn.delete_stack(StackName="core")
    cfn.get_waiter("stack_delete_complete").wait(StackName="core", WaiterConfig=FAST)
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert (
        ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [outputs["VPCId"]]}])["Vpcs"] == []
    )
    assert ec2.describe_addresses()["Addresses"] == []
    assert {n["State"] for n in ec2.describe_nat_gateways(Filter=vpc_filter)["NatGateways"]} <= {
        "deleted"
    }
    assert _error(iam.get_role, RoleName=role)["Code"] == "NoSuchEntity"
    assert cfn.list_exports()["Exports"] == []


# -- failures ---------------------------------------------------------------------------------
def _broken(third: str) -> str:
    """A VPC, a security group, then a third resource AWS refuses."""
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}},
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "g", "VpcId": {"Ref": "Vpc"}},
        },
    }
    if third == "subnet":
        resources["Subnet"] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.1.300.0/24"},
        }
        resources["Role"] = {
            "Type": "AWS::IAM::Role",
            "DependsOn": "Subnet",
            "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
        }
    else:
        resources["Role"] = {
            "Type": "AWS::IAM::Role",
            "DependsOn": "Group",
            "Properties": {
                "AssumeRolePolicyDocument": {"Statement": []},
                "Policies": [
                    {
                        "PolicyName": "p",
                        "PolicyDocument": {"Statement": [{"Effect": "Alow", "Action": "s3:*"}]},
                    }
                ],
            },
        }
    return json.dumps({"Resources": resources})


def _left(aws: EdgeSession, stack: str) -> dict[str, list[str]]:
    ec2 = aws.client("ec2")
    tagged = [{"Name": "tag:aws:cloudformation:stack-name", "Values": [stack]}]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=tagged)["Vpcs"]],
        "groups": [
            g["GroupId"] for g in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]
        ],
        "roles": [
            r["RoleName"]
            for r in aws.client("iam").list_roles()["Roles"]
            if r["RoleName"].startswith(f"{stack}-")
        ],
    }


@pytest.mark.parametrize(
    ("third", "reason"),
    [
        ("subnet", "Value (10.1.300.0/24) for parameter cidrBlock is invalid"),
        ("role", "Syntax errors in policy"),
    ],
)
def test_a_failed_create_rolls_back_and_says_why(aws, third, reason):
    cfn, name = aws.client("cloudformation"), f"broken-{third}"
    stack_id = cfn.create_stack(
        StackName=name, TemplateBody=_broken(third), Capabilities=["CAPABILITY_IAM"]
    )["StackId"]
    started = time.monotonic()
    with pytest.raises(WaiterError) as failed:
        cfn.get_waiter("stack_create_complete").wait(StackName=name)  # 30 s between polls
    assert time.monotonic() - started < 5
    stack = failed.value.last_response["Stacks"][0]
    failing = "Subnet" if third == "subnet" else "Role"
    assert (stack["StackStatus"], stack["StackStatusReason"]) == (
        "ROLLBACK_COMPLETE",
        f"The following resource(s) failed to create: [{failing}]. Rollback requested by user.",
    )
    events = _events(aws, name)
    failure = next(e for e in events if e["ResourceStatus"] == "CREATE_FAILED")
    assert failure["LogicalResourceId"] == failing
    assert reason in failure["ResourceStatusReason"]
    assert failure["ResourceStatusReason"].startswith("Resource handler returned message:")
    assert [
        (e["LogicalResourceId"], e["ResourceStatus"])
        for e in events
        if e["LogicalResourceId"] == name
    ] == [
        (name, "CREATE_IN_PROGRESS"),
        (name, "ROLLBACK_IN_PROGRESS"),
        (name, "ROLLBACK_COMPLETE"),
    ]
    rollback = next(e for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"] == (
        f"The following resource(s) failed to create: [{failing}]. Rollback requested by user."
    )
    deletions = [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert deletions[-2:] == ["Group", "Vpc"]  # the group first: it is in the VPC
    assert _left(aws, name) == {"vpcs": [], "groups": [], "roles": []}
    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    assert {r["ResourceStatus"] for r in resources} == {"DELETE_COMPLETE"}

    assert (
        "ROLLBACK_COMPLETE state and can not be updated"
        in _error(cfn.update_stack, StackName=name, TemplateBody=_broken(third))["Message"]
    )
    cfn.delete_stack(StackName=name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"


def test_disable_rollback_keeps_what_was_made(aws):
    cfn = aws.client("cloudformation")
    cfn.create_stack(
        StackName="kept",
        TemplateBody=_broken("role"),
        DisableRollback=True,
        Capabilities=["CAPABILITY_IAM"],
    )
    with pytest.raises(WaiterError) as failed:
        cfn.get_waiter("stack_create_complete").wait(StackName="kept", WaiterConfig=FAST)
    stack = failed.value.last_response["Stacks"][0]
    assert (stack["StackStatus"], stack["StackStatusReason"]) == (
        "CREATE_FAILED",
        "The following resource(s) failed to create: [Role]. ",
    )
    left = _left(aws, "kept")
    assert (len(left["vpcs"]), len(left["groups"]), left["roles"]) == (1, 1, [])
    cfn.delete_stack(StackName="kept")
    cfn.get_waiter("stack_delete_complete").wait(StackName="kept", WaiterConfig=FAST)
    assert _left(aws, "kept") == {"vpcs": [], "groups": [], "roles": []}


def test_on_failure_delete_removes_the_stack(aws):
    cfn = aws.client("cloudformation")
    stack_id = cfn.create_stack(
        StackName="gone",
        TemplateBody=_broken("role"),
        OnFailure="DELETE",
        Capabilities=["CAPABILITY_IAM"],
    )["StackId"]
    wait_for(
        lambda: (
            cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
        ),
        "the stack to be deleted",
    )
    assert "does not exist" in _error(cfn.describe_stacks, StackName="gone")["Message"]
    assert _left(aws, "gone") == {"vpcs": [], "groups": [], "roles": []}


def test_an_unsupported_type_fails_the_stack_naming_it(aws):
    cfn = aws.client("cloudformation")
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Service": {
                "Type": "AWS::AppRunner::Service",
                "Properties": {"SourceConfiguration": {}},
            },
        },
        "Outputs": {"Url": {"Value": {"Fn::GetAtt": ["Service", "ServiceUrl"]}}},
    }
    cfn.create_stack(StackName="apprunner", TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName="apprunner")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failure = next(e for e in _events(aws, "apprunner") if e["ResourceStatus"] == "CREATE_FAILED")
    assert failure["LogicalResourceId"] == "Service"
    assert failure["ResourceStatusReason"].startswith(
        "Resource type AWS::AppRunner::Service is not supported by the local cloud"
    )
    assert aws.client("sns").list_topics()["Topics"] == []


def test_a_failed_update_is_rolled_back(aws):
    cfn, sns = aws.client("cloudformation"), aws.client("sns")
    template: dict[str, Any] = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "first"}},
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Topic"}}},
    }
    cfn.create_stack(StackName="updated", TemplateBody=json.dumps(template))
    arn = _outputs(cfn.describe_stacks(StackName="updated")["Stacks"][0])["Arn"]
    assert (
        "No updates are to be performed."
        in _error(cfn.update_stack, StackName="updated", TemplateBody=json.dumps(template))[
            "Message"
        ]
    )
    template["Resources"]["Topic"]["Properties"]["DisplayName"] = "second"
    template["Resources"]["Queue"] = {
        "Type": "AWS::SNS::Subscription",
        "DependsOn": "Topic",
        "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "carrier-pigeon"},
    }
    cfn.update_stack(StackName="updated", TemplateBody=json.dumps(template))
    with pytest.raises(WaiterError) as failed:
        cfn.get_waiter("stack_update_complete").wait(StackName="updated", WaiterConfig=FAST)
    assert failed.value.last_response["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "first"
    failure = next(e for e in _events(aws, "updated") if e["ResourceStatus"] == "CREATE_FAILED")
    assert failure["LogicalResourceId"] == "Queue"
    assert "HandlerErrorCode: InvalidRequest" in failure["ResourceStatusReason"]
    cfn.delete_stack(StackName="updated")


# -- SAM: the workshop's serverless stacks --------------------------------------------------------
def test_module_5_streaming_stack_runs(aws):
    key = _upload(aws, "streamProcessor")
    stack = _deploy(aws, "streaming", "streaming.yml", CodeBucket=CODE_BUCKET, CodeKey=key)
    cfn = aws.client("cloudformation")
    processed = cfn.get_template(StackName="streaming", TemplateStage="Processed")["TemplateBody"]
    assert "AWS::Serverless" not in json.dumps(processed)

    function = _physical(aws, "streaming", "MysfitsClicksProcessor")
    event = {
        "records": [
            {
                "recordId": "1",
                "data": base64.b64encode(b'{"userId": "u", "mysfitId": "m"}').decode(),
            }
        ]
    }
    answer = aws.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event))
    record = json.loads(answer["Payload"].read())["records"][0]
    assert record["result"] == "Ok"
    assert json.loads(base64.b64decode(record["data"]))["species"] == "Chimera"

    api = _outputs(stack)["StreamingApiEndpoint"].split("//")[1].split(".")[0]
    url = _stage_url(aws, api, "prod")
    put = requests.put(f"{url}/clicks", json={"userId": "ada", "mysfitId": "m-1"}, timeout=10)
    assert put.status_code == 200 and "RecordId" in put.json()
    assert put.headers["Access-Control-Allow-Origin"] == "*"
    preflight = requests.options(f"{url}/clicks", timeout=10)  # the Cors SAM added: MOCK
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    bucket = _physical(aws, "streaming", "ClicksDestinationBucket")
    s3 = aws.client("s3")

    def delivered() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    (key,) = wait_for(delivered, "Firehose to deliver the click", timeout=20)
    assert key.startswith("firehose/")
    line = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert line == {
        "userId": "ada",
        "mysfitId": "m-1",
        "goodevil": "Evil",
        "lawchaos": "Lawful",
        "species": "Chimera",
    }


def test_module_6_questions_stack_runs(aws):
    post = _upload(aws, "mysfitsPostQuestion")
    process = _upload(aws, "mysfitsProcessStream")
    stack = _deploy(
        aws,
        "questions",
        "questions.yml",
        CodeBucket=CODE_BUCKET,
        PostQuestionKey=post,
        ProcessStreamKey=process,
        AdministratorEmailAddress="admin@example.com",
    )
    outputs = _outputs(stack)
    assert outputs["QuestionsApiEndpoint"] == (
        f"https://{outputs['QuestionsRestApiId']}.execute-api.us-east-1.amazonaws.com/prod"
    )
    mail = aws.control("outbox?to=admin@example.com")["messages"]
    assert [m["subject"] for m in mail] == ["AWS Notification - Subscription Confirmation"]

    url = _stage_url(aws, outputs["QuestionsRestApiId"], "prod")
    answer = requests.post(
        f"{url}/questions", json={"email": "ada@example.com", "questionText": "Adopt?"}, timeout=10
    )
    assert (answer.status_code, answer.json()) == (200, {"status": "success"})
    table = _physical(aws, "questions", "QuestionsTable")
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    assert [i["QuestionText"]["S"] for i in items] == ["Adopt?"]

    mapping = _physical(
        aws, "questions", "MysfitsProcessQuestionStreamFunctionMysfitsQuestionStream"
    )
    assert aws.client("lambda").get_event_source_mapping(UUID=mapping)["BatchSize"] == 1

    def processed() -> bool:
        found = {m["uuid"]: m for m in aws.control("eventsources")["mappings"]}
        return found[mapping]["delivered_records"] == 1 and found[mapping]["last_result"] == "OK"

    wait_for(processed, "the stream function to get the question", timeout=20)

    # the workshop's 2nd deployment: new code, the same template (`aws cloudformation deploy`)
    second = io.BytesIO()
    code = (TEMPLATES / "functions" / "mysfitsPostQuestion.py").read_text()
    with zipfile.ZipFile(second, "w") as zipped:
        zipped.writestr(
            "mysfitsPostQuestion.py", code.replace('{"status": "success"}', '{"status": "again"}')
        )
    aws.client("s3").put_object(Bucket=CODE_BUCKET, Key="second.zip", Body=second.getvalue())
    cfn = aws.client("cloudformation")
    change_set = cfn.create_change_set(
        StackName="questions",
        ChangeSetName="second",
        ChangeSetType="UPDATE",
        TemplateBody=(TEMPLATES / "questions.yml").read_text(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "PostQuestionKey", "ParameterValue": "second.zip"},
            *(
                {"ParameterKey": k, "UsePreviousValue": True}
                for k in ("CodeBucket", "ProcessStreamKey", "AdministratorEmailAddress")
            ),
        ],
    )
    changes = cfn.describe_change_set(ChangeSetName=change_set["Id"])["Changes"]
    modified = {c["ResourceChange"]["LogicalResourceId"] for c in changes}
    assert modified == {"MysfitsPostQuestionFunction"}
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    cfn.get_waiter("stack_update_complete").wait(StackName="questions", WaiterConfig=FAST)
    answer = requests.post(
        f"{url}/questions", json={"email": "b@c.d", "questionText": "?"}, timeout=10
    )
    assert answer.json() == {"status": "again"}

    cfn.delete_stack(StackName="questions")
    cfn.get_waiter("stack_delete_complete").wait(StackName="questions", WaiterConfig=FAST)
    assert f"{outputs['QuestionsRestApiId']}/prod" not in aws.control("apigateway")
    assert aws.client("lambda").list_functions()["Functions"] == [
        f
        for f in aws.client("lambda").list_functions()["Functions"]
        if "questions-" not in f["FunctionName"]
    ]
    assert _error(aws.client("lambda").get_event_source_mapping, UUID=mapping)["Code"] == (
        "ResourceNotFoundException"
    )


def test_module_7_recommendations_api_runs(aws):
    key = _upload(aws, "recommendations")
    stack = _deploy(
        aws, "recommendations", "recommendations.yml", CodeBucket=CODE_BUCKET, CodeKey=key
    )
    api = _outputs(stack)["MysfitsRecommendationsApi"].split("//")[1].split(".")[0]
    answer = requests.post(
        f"{_stage_url(aws, api, 'prod')}/recommendations",
        json={"entry": [1, 2, 3, 4, 5]},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {"recommendedMysfit": "2b473002-36f8-4b87-954e-9a377e0ccbec"}
    # deploying it again: `aws cloudformation deploy` says "No changes to deploy"
    cfn = aws.client("cloudformation")
    again = cfn.create_change_set(
        StackName="recommendations",
        ChangeSetName="again",
        TemplateBody=(TEMPLATES / "recommendations.yml").read_text(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "CodeBucket", "UsePreviousValue": True},
            {"ParameterKey": "CodeKey", "UsePreviousValue": True},
        ],
    )
    described = cfn.describe_change_set(ChangeSetName=again["Id"])
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"].startswith("The submitted information didn't contain changes")
    role = _physical(aws, "recommendations", "MythicalMysfitsRecommendationFunctionRole")
    attached = aws.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    names = {p["PolicyName"] for p in attached}
    assert "AWSLambdaBasicExecutionRole" in names
    assert any(n.startswith("recommendations-MythicalMysfitsRecommendationPolicy") for n in names)


# -- reading and checking templates ---------------------------------------------------------------
def test_validate_template_runs_the_transform(aws):
    cfn = aws.client("cloudformation")
    body = (TEMPLATES / "questions.yml").read_text()
    answer = cfn.validate_template(TemplateBody=body)
    assert answer["DeclaredTransforms"] == ["AWS::Serverless-2016-10-31"]
    assert answer["Capabilities"] == ["CAPABILITY_IAM"]  # the roles SAM makes
    assert [p["ParameterKey"] for p in answer["Parameters"]] == [
        "AdministratorEmailAddress",
        "CodeBucket",
        "PostQuestionKey",
        "ProcessStreamKey",
    ]
    broken = body.replace("Stream: !GetAtt", "Strem: !GetAtt")  # a DynamoDB event's typo
    refused = _error(cfn.validate_template, TemplateBody=broken)
    assert refused["Code"] == "ValidationError"
    assert refused["Message"].startswith("Transform AWS::Serverless-2016-10-31 failed with:")
    summary = cfn.get_template_summary(TemplateBody=(TEMPLATES / "workshop-core.yml").read_text())
    assert summary["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert "AWS::EC2::NatGateway" in summary["ResourceTypes"]


def test_a_nested_stack_from_s3(aws):
    s3, cfn = aws.client("s3"), aws.client("cloudformation")
    child = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Topic"}}},
    }
    s3.put_object(Bucket=CODE_BUCKET, Key="child.json", Body=json.dumps(child).encode())
    parent = {
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": f"https://s3.amazonaws.com/{CODE_BUCKET}/child.json",
                    "Parameters": {"Name": "nested-topic"},
                },
            }
        },
        "Outputs": {"TopicArn": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Arn"]}}},
    }
    cfn.create_stack(StackName="parent", TemplateBody=json.dumps(parent))
    cfn.get_waiter("stack_create_complete").wait(StackName="parent", WaiterConfig=FAST)
    arn = _outputs(cfn.describe_stacks(StackName="parent")["Stacks"][0])["TopicArn"]
    assert arn.endswith(":nested-topic")
    cfn.delete_stack(StackName="parent")
    cfn.get_waiter("stack_delete_complete").wait(StackName="parent", WaiterConfig=FAST)
    assert arn not in [t["TopicArn"] for t in aws.client("sns").list_topics()["Topics"]]


def test_module_2s_cli_resources_as_a_stack(aws):
    cfn = aws.client("cloudformation")
    cfn.create_stack(
        StackName="service",
        TemplateBody=(TEMPLATES / "service.yml").read_text(),
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("stack_create_complete").wait(StackName="service", WaiterConfig=FAST)
    outputs = _outputs(cfn.describe_stacks(StackName="service")["Stacks"][0])
    assert outputs["Uri"].endswith(".dkr.ecr.us-east-1.amazonaws.com/mythicalmysfits/service")
    service = aws.client("ecs").describe_services(
        cluster="MythicalMysfits-Cluster", services=["MythicalMysfits-Service"]
    )["services"][0]
    assert service["loadBalancers"][0]["containerPort"] == 8080
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    project = aws.client("codebuild").batch_get_projects(
        names=["MythicalMysfitsServiceCodeBuildProject"]
    )["projects"][0]
    variables = project["environment"]["environmentVariables"]
    assert [(v["name"], v["value"]) for v in variables] == [("AWS_ACCOUNT_ID", "123456789012")]
    stages = aws.client("codepipeline").get_pipeline(name="MythicalMysfitsServiceCICDPipeline")
    assert [s["name"] for s in stages["pipeline"]["stages"]] == ["Source", "Build", "Deploy"]
    cfn.delete_stack(StackName="service")
    cfn.get_waiter("stack_delete_complete").wait(StackName="service", WaiterConfig=FAST)
    assert aws.client("codepipeline").list_pipelines()["pipelines"] == []
    assert aws.client("ecr").describe_repositories()["repositories"] == []
