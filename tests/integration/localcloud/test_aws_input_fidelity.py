"""Input as AWS accepts it, on an in-process local cloud: enum values AWS reads in any case
(and only those), and S3's Block Public Access on every new bucket."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.constants import ACCOUNT_ID
from tests.helpers import edge_client

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/mysfits-codebuild"
# The original workshop's module-2 aws-cli/code-build-project.json, as a learner fills it in.
WORKSHOP_PROJECT = {
    "name": "MythicalMysfitsServiceCodeBuildProject",
    "artifacts": {"type": "no_artifacts"},
    "environment": {
        "computeType": "BUILD_GENERAL1_SMALL",
        "image": "aws/codebuild/python:3.5.2",
        "privilegedMode": True,
        "environmentVariables": [
            {"name": "AWS_ACCOUNT_ID", "value": ACCOUNT_ID},
            {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"},
        ],
        "type": "LINUX_CONTAINER",
    },
    "serviceRole": ROLE,
    "source": {
        "type": "CODECOMMIT",
        "location": "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/"
        "MythicalMysfitsServiceRepository",
    },
}
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@pytest.fixture(scope="module")
def edge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("fidelity-cloud"), providers=["codebuild", "websites", "sns"]
    )
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    yield cloud.edge_url
    cloud.shutdown()
    server.join(timeout=10)


def client(edge_url: str, service: str) -> Any:
    return edge_client(edge_url, service)


def error_of(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    error = response["Error"]
    return error["Code"], error.get("Message", ""), response["ResponseMetadata"]["HTTPStatusCode"]


def public_read(bucket: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# -- enums AWS reads in any case ------------------------------------------------------------
def test_the_workshop_project_with_lower_case_artifacts_is_created_canonical(edge_url):
    codebuild = client(edge_url, "codebuild")
    created = codebuild.create_project(**WORKSHOP_PROJECT)["project"]
    assert created["artifacts"]["type"] == "NO_ARTIFACTS"
    name = WORKSHOP_PROJECT["name"]
    stored = codebuild.batch_get_projects(names=[name])["projects"][0]
    assert stored["artifacts"] == {"type": "NO_ARTIFACTS"}
    assert stored["source"]["type"] == "CODECOMMIT"

    updated = codebuild.update_project(
        name=name, artifacts={"type": "s3", "location": "artifacts-bucket"}
    )["project"]
    assert updated["artifacts"]["type"] == "S3"
    stored = codebuild.batch_get_projects(names=[name])["projects"][0]
    assert (stored["artifacts"]["type"], stored["artifacts"]["location"]) == (
        "S3",
        "artifacts-bucket",
    )
    # An update CodeBuild refuses leaves the project as it was.
    code, _, _ = error_of(codebuild.update_project, name=name, artifacts={"type": "s3"})
    assert code == "InvalidInputException"
    kept = codebuild.batch_get_projects(names=[name])["projects"][0]
    assert kept["artifacts"]["location"] == "artifacts-bucket"


@pytest.mark.parametrize(
    ("service", "operation", "params", "code"),
    [
        # Not a value of the enum in any case: CodeBuild's own InvalidInputException.
        (
            "codebuild",
            "create_project",
            WORKSHOP_PROJECT | {"name": "typo", "artifacts": {"type": "no_artifact"}},
            "InvalidInputException",
        ),
        # ELBv2 refuses 'http' (ValidationError: "... Member must satisfy enum value set").
        (
            "elbv2",
            "create_target_group",
            {"Name": "lower", "Protocol": "http", "Port": 80, "VpcId": "vpc-1"},
            "ValidationError",
        ),
        # DynamoDB refuses any KeyType but HASH and RANGE.
        (
            "dynamodb",
            "create_table",
            {
                "TableName": "lower",
                "KeySchema": [{"AttributeName": "id", "KeyType": "hash"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
            "ValidationException",
        ),
        (
            "dynamodb",
            "create_table",
            {
                "TableName": "lower",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "s"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
            "ValidationException",
        ),
    ],
)
def test_what_aws_refuses_in_another_case_is_still_refused(
    edge_url, service, operation, params, code
):
    found, _, status = error_of(getattr(client(edge_url, service), operation), **params)
    assert (found, status) == (code, 400)


def test_a_lambda_runtime_in_another_case_is_refused(edge_url):
    found, message, status = error_of(
        client(edge_url, "lambda").create_function,
        FunctionName="lower",
        Runtime="Python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": b"PK"},
    )
    assert status == 400 and "Python3.12" in message, (found, message)


def test_an_sns_protocol_in_upper_case_is_stored_in_lower_case(edge_url):
    sns = client(edge_url, "sns")
    topic = sns.create_topic(Name="cases")["TopicArn"]
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:cases"
    sns.subscribe(TopicArn=topic, Protocol="SQS", Endpoint=queue)
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in listed] == [("sqs", queue)]
    code, message, _ = error_of(sns.subscribe, TopicArn=topic, Protocol="FTP", Endpoint=queue)
    assert (code, message) == (
        "InvalidParameter",
        "Invalid parameter: Amazon SNS does not support this protocol string: FTP",
    )


# -- Block Public Access --------------------------------------------------------------------
def test_a_new_bucket_blocks_public_access_and_disables_acls(edge_url):
    s3 = client(edge_url, "s3")
    s3.create_bucket(Bucket="fresh")
    block = s3.get_public_access_block(Bucket="fresh")["PublicAccessBlockConfiguration"]
    assert block == ALL_BLOCKED
    rules = s3.get_bucket_ownership_controls(Bucket="fresh")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    code, message, status = error_of(s3.put_bucket_acl, Bucket="fresh", ACL="public-read")
    assert (code, message, status) == (
        "AccessControlListNotSupported",
        "The bucket does not allow ACLs",
        400,
    )
    s3.put_bucket_acl(Bucket="fresh", ACL="private")  # grants the owner only: allowed


def test_a_public_policy_is_refused_until_the_block_is_lifted(edge_url):
    s3 = client(edge_url, "s3")
    s3.create_bucket(Bucket="policy")
    code, message, status = error_of(
        s3.put_bucket_policy, Bucket="policy", Policy=public_read("policy")
    )
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith(
        'is not authorized to perform: s3:PutBucketPolicy on resource: "arn:aws:s3:::policy" '
        "because public policies are blocked by the BlockPublicPolicy block public access setting."
    )
    assert message.startswith("User: arn:aws:")
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket="policy")  # nothing was stored

    # A policy for named principals is not public: the block lets it through.
    named = json.loads(public_read("policy"))
    named["Statement"][0]["Principal"] = {"AWS": ROLE}
    s3.put_bucket_policy(Bucket="policy", Policy=json.dumps(named))
    # So is one pinned to a source account.
    pinned = json.loads(public_read("policy"))
    pinned["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    s3.put_bucket_policy(Bucket="policy", Policy=json.dumps(pinned))

    s3.put_public_access_block(
        Bucket="policy",
        PublicAccessBlockConfiguration=ALL_BLOCKED
        | {"BlockPublicPolicy": False, "RestrictPublicBuckets": False},
    )
    s3.put_bucket_policy(Bucket="policy", Policy=public_read("policy"))
    assert (
        json.loads(s3.get_bucket_policy(Bucket="policy")["Policy"])["Statement"][0]["Principal"]
        == "*"
    )


def test_without_a_block_any_policy_is_accepted(edge_url):
    s3 = client(edge_url, "s3")
    s3.create_bucket(Bucket="unblocked")
    s3.delete_public_access_block(Bucket="unblocked")
    s3.put_bucket_policy(Bucket="unblocked", Policy=public_read("unblocked"))


def test_creating_the_bucket_again_keeps_its_settings(edge_url):
    """us-east-1 answers its owner's CreateBucket of an existing bucket with 200: the block the
    owner lifted stays lifted."""
    s3 = client(edge_url, "s3")
    s3.create_bucket(Bucket="again")
    s3.delete_public_access_block(Bucket="again")
    s3.create_bucket(Bucket="again")
    with pytest.raises(ClientError) as caught:
        s3.get_public_access_block(Bucket="again")
    assert caught.value.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"


def test_public_acls_are_refused_at_creation(edge_url):
    s3 = client(edge_url, "s3")
    code, _, status = error_of(s3.create_bucket, Bucket="acl-default", ACL="public-read")
    assert (code, status) == ("InvalidBucketAclWithObjectOwnership", 400)
    code, _, status = error_of(
        s3.create_bucket, Bucket="acl-writer", ACL="public-read", ObjectOwnership="ObjectWriter"
    )
    assert (code, status) == ("InvalidBucketAclWithBlockPublicAccessError", 400)
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not {"acl-default", "acl-writer"} & buckets


def test_with_acls_enabled_a_public_acl_is_still_blocked(edge_url):
    s3 = client(edge_url, "s3")
    s3.create_bucket(Bucket="writer", ObjectOwnership="ObjectWriter")
    rules = s3.get_bucket_ownership_controls(Bucket="writer")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "ObjectWriter"}]
    s3.put_object(Bucket="writer", Key="k", Body=b"x")
    everyone = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'
    for call, params in (
        (s3.put_bucket_acl, {"ACL": "public-read"}),
        (s3.put_object_acl, {"Key": "k", "GrantRead": everyone}),
        (s3.create_multipart_upload, {"Key": "big", "ACL": "public-read"}),
    ):
        assert error_of(call, Bucket="writer", **params)[::2] == ("AccessDenied", 403)
    s3.put_public_access_block(
        Bucket="writer", PublicAccessBlockConfiguration=ALL_BLOCKED | {"BlockPublicAcls": False}
    )
    s3.put_object_acl(Bucket="writer", Key="k", ACL="public-read")
    grants = s3.get_object_acl(Bucket="writer", Key="k")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
