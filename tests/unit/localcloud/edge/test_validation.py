"""Every operation's input is checked at the edge as the service checks it — for moto's
operations as much as for the providers' — and answered in the service's own protocol."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS

ECS = "AmazonEC2ContainerServiceV20141113"
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/{}/aws4_request, "
    "SignedHeaders=host, Signature=00"
)


@pytest.fixture
def cloud(make_cloud):
    return make_cloud("cloudformation")


def unchecked(cloud, service: str):
    """A client that sends what it is given, as a buggy or hostile caller would."""
    return boto3.client(
        service,
        endpoint_url=cloud.edge_url,
        region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )


def error_of(call, *args, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error, meta = caught.value.response["Error"], caught.value.response["ResponseMetadata"]
    return error["Code"], error["Message"], meta["HTTPStatusCode"]


def ecs_call(cloud, operation: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{cloud.edge_url}/",
        data=body,
        headers={
            "X-Amz-Target": f"{ECS}.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": SIGNED.format("ecs"),
        },
        timeout=10,
    )


def test_what_botocore_leaves_to_the_service_is_checked(cloud):
    ecs, cfn = unchecked(cloud, "ecs"), unchecked(cloud, "cloudformation")
    code, message, status = error_of(ecs.run_task, taskDefinition="web", launchType="NOPE")
    assert (code, status) == ("InvalidParameterException", 400)
    assert "launchType" in message and "FARGATE" in message
    code, message, _ = error_of(cfn.describe_stacks, NextToken="t" * 1025)
    assert code == "ValidationError" and "less than or equal to 1024" in message
    dynamodb = unchecked(cloud, "dynamodb")
    code, message, _ = error_of(dynamodb.scan, TableName="t", Limit=2**40)
    assert code == "ValidationException" and "does not fit a integer" in message
    elbv2 = unchecked(cloud, "elbv2")
    code, message, _ = error_of(elbv2.describe_load_balancers, PageSize="many")
    assert code == "ValidationError" and "not an integer" in message


def test_ec2_says_which_parameter_is_missing(cloud):
    code, message, _ = error_of(unchecked(cloud, "ec2").create_subnet, CidrBlock="10.0.0.0/24")
    assert code == "MissingParameter" and "VpcId" in message


def test_ec2_query_names_and_lists_are_read_as_botocore_writes_them(cloud):
    ec2 = boto3.client(
        "ec2", endpoint_url=cloud.edge_url, region_name="us-east-1", **DUMMY_CREDENTIALS
    )
    vpc = ec2.create_vpc(
        CidrBlock="10.9.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "lab", "Value": "9"}]}],
    )["Vpc"]
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:lab", "Values": ["9"]}])["Vpcs"]
    assert [v["VpcId"] for v in found] == [vpc["VpcId"]]


def test_members_a_newer_sdk_sends_and_nulls_are_ignored_as_aws_ignores_them(cloud):
    answer = ecs_call(cloud, "ListClusters", b'{"memberOfTomorrow": 1, "maxResults": null}')
    assert answer.status_code == 200 and "clusterArns" in answer.json()


def test_json_of_the_wrong_shape_is_a_serialization_error(cloud):
    answer = ecs_call(cloud, "RunTask", b'{"taskDefinition": "web", "overrides": []}')
    assert answer.status_code == 400 and answer.json()["__type"] == "SerializationException"
    not_json = ecs_call(cloud, "RunTask", b"{'taskDefinition': 'web'}")
    assert not_json.json()["__type"] == "SerializationException"


def test_a_million_wrong_items_are_reported_in_a_few_lines(cloud):
    body = {"family": "f", "containerDefinitions": [{"name": "c", "command": [1] * 10**6}]}
    answer = ecs_call(cloud, "RegisterTaskDefinition", json.dumps(body).encode())
    assert answer.status_code == 400 and answer.json()["__type"] == "InvalidParameterException"
    assert answer.json()["message"].count("Invalid type") == 10
    assert len(answer.content) < 3000


def test_s3_object_bodies_and_headers_are_left_to_s3(cloud):
    s3 = boto3.client(
        "s3", endpoint_url=cloud.edge_url, region_name="us-east-1", **DUMMY_CREDENTIALS
    )
    s3.create_bucket(Bucket="lenient")
    # S3 stores an Expires it cannot read, and does not look into an object's body
    put = requests.put(
        f"{cloud.edge_url}/lenient/k",
        data=b"{not json",
        headers={
            "Authorization": SIGNED.format("s3"),
            "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
            "Expires": "Tuesday-ish",
        },
        timeout=10,
    )
    assert put.status_code == 200, put.content
    assert s3.get_object(Bucket="lenient", Key="k")["Body"].read() == b"{not json"
    code, _message, status = error_of(
        unchecked(cloud, "s3").list_objects_v2, Bucket="lenient", MaxKeys="lots"
    )
    assert (code, status) == ("InvalidArgument", 400)


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        ("POST", "/", {"X-Amz-Target": f"{ECS}.LaunchRockets"}, b"{}", 400,
         b'"UnknownOperationException"'),
        ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
         b"Action=LaunchRockets&Version=2010-05-15", 400, b"<Code>InvalidAction</Code>"),
        ("GET", "/2015-03-31/rockets", {}, b"", 404, b'"UnknownOperationException"'),
        ("PATCH", "/bucket/key", {"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}, b"", 405,
         b"<Code>MethodNotAllowed</Code>"),
    ],
)  # fmt: skip
def test_operations_no_service_has_are_refused_in_its_protocol(
    cloud, method, path, headers, body, status, code
):
    service = {"/": "ecs", "/2015-03-31/rockets": "lambda", "/bucket/key": "s3"}[path]
    if b"Action=" in body:
        service = "cloudformation"
    answer = requests.request(
        method,
        f"{cloud.edge_url}{path}",
        data=body,
        headers={**headers, "Authorization": SIGNED.format(service)},
        timeout=10,
    )
    assert answer.status_code == status and code in answer.content


def test_escapes_that_escape_nothing_and_signatures_that_are_not_sigv4(cloud):
    form = "Action=DescribeStacks&Version=2010-05-15&StackName=50%"
    bad_escape = requests.post(
        f"{cloud.edge_url}/",
        data=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": SIGNED.format("cloudformation"),
        },
        timeout=10,
    )
    assert bad_escape.status_code == 404 and b"MalformedQueryString" in bad_escape.content
    not_sigv4 = ecs_call(cloud, "ListClusters", b"{}")
    assert not_sigv4.status_code == 200
    garbage = requests.post(
        f"{cloud.edge_url}/",
        data=b"{}",
        headers={"X-Amz-Target": f"{ECS}.ListClusters", "Authorization": "Bearer x"},
        timeout=10,
    )
    assert garbage.status_code == 403
    assert garbage.json()["__type"] == "IncompleteSignatureException"
    s3 = requests.get(
        f"{cloud.edge_url}/bucket",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x", "X-Amz-Content-Sha256": "e3"},
        timeout=10,
    )
    assert s3.status_code == 400 and b"AuthorizationHeaderMalformed" in s3.content
