"""What moto would mishandle is refused at the edge as AWS refuses it — above all, a template
cannot run code in the cloud process."""

from __future__ import annotations

import contextlib
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS
from mysfits_lab.localcloud.edge.moto_guards import MAX_YAML_NODES, yaml_facts
from tests.helpers import edge_client

LAUGHS = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(9)]
)


@pytest.fixture
def cloud(make_cloud):
    return make_cloud("cloudformation")


def planted(tmp_path: Path) -> tuple[Path, str]:
    marker = tmp_path / "code-ran"
    return marker, f"Resources:\n  X: !!python/object/apply:os.mkdir ['{marker}']\n"


def test_a_template_body_cannot_run_code(cloud, tmp_path):
    marker, template = planted(tmp_path)
    cfn = edge_client(cloud.edge_url, "cloudformation")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="planted", TemplateBody=template)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "unsupported YAML tag" in caught.value.response["Error"]["Message"]
    assert not marker.exists()


def test_a_template_in_s3_cannot_run_code_either(cloud, tmp_path):
    marker, template = planted(tmp_path)
    s3 = edge_client(cloud.edge_url, "s3")
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="t.yaml", Body=template.encode())
    url = "https://s3.amazonaws.com/templates/t.yaml"  # moto reads it from its own S3
    cfn = edge_client(cloud.edge_url, "cloudformation")
    with contextlib.suppress(ClientError):  # moto reads the tag as data now, and fails
        cfn.create_stack(StackName="planted-from-s3", TemplateURL=url)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Resources:\n  A: &a {Type: AWS::SNS::Topic}\n  B: *a\n", "YAML aliases are not allowed"),
        ("Resources: [unclosed", "Template format error"),
        ("[" * 200 + "]" * 200, "nested deeper"),
    ],
)
def test_templates_aws_refuses_are_validation_errors(cloud, template, message):
    cfn = edge_client(cloud.edge_url, "cloudformation")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="refused", TemplateBody=template)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert message in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        cfn.create_stack(StackName="refused")
    assert "Either Template URL or Template Body" in missing.value.response["Error"]["Message"]


def test_cloudformation_short_form_tags_are_fine(cloud):
    template = (
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  Arn:\n    Value: !Ref Topic\n"
    )
    cfn = edge_client(cloud.edge_url, "cloudformation")
    assert cfn.create_stack(StackName="short-form", TemplateBody=template)["StackId"]


def test_yaml_is_measured_without_being_built():
    assert yaml_facts("a: !Ref b\nc: [1, 2]\n") == (0, {"!Ref"})
    with pytest.raises(ValueError, match=f"more than {MAX_YAML_NODES}"):
        yaml_facts(LAUGHS)
    with pytest.raises(ValueError, match="refers to a node that contains it"):
        yaml_facts("a: &a [*a]\n")
    with pytest.raises(ValueError, match="nested deeper"):
        yaml_facts("[" * 200 + "]" * 200)


@pytest.mark.parametrize(
    "body",
    [b"{this is not json", b"\xff\xfe", b"[1, 2]", b"[" * 5000 + b"]" * 5000, LAUGHS.encode()],
)
def test_api_definitions_moto_cannot_read_are_bad_requests(cloud, body):
    answer = requests.post(
        f"{cloud.edge_url}/restapis?mode=import",
        data=body,
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/apigateway/"
            "aws4_request, SignedHeaders=host, Signature=00"
        },
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["__type"] == "BadRequestException"


def test_conditionally_required_members_moto_needs(cloud):
    dynamodb = edge_client(cloud.edge_url, "dynamodb")
    with pytest.raises(ClientError) as caught:
        dynamodb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "keySchema" in caught.value.response["Error"]["Message"]


def test_when_moto_itself_fails_boto3_still_reads_an_aws_error(cloud):
    sagemaker = boto3.client(  # no provider here: moto answers, and cannot record this job
        "sagemaker",
        endpoint_url=cloud.edge_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
        **DUMMY_CREDENTIALS,
    )
    with pytest.raises(ClientError) as caught:
        sagemaker.create_training_job(
            TrainingJobName="serverless",
            RoleArn="arn:aws:iam::123456789012:role/r",
            OutputDataConfig={"S3OutputPath": "s3://b/o"},
            ServerlessJobConfig={
                "BaseModelArn": "arn:aws:sagemaker:us-east-1:aws:hub-content/h/Model/m",
                "JobType": "FineTuning",
            },
        )
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert "the local cloud (moto) failed" in caught.value.response["Error"]["Message"]


def test_a_presigned_call_reaches_its_service_not_s3(cloud):
    credential = "testing/20261201/us-east-1/sns/aws4_request"
    answer = requests.get(
        f"{cloud.edge_url}/",
        params={
            "Action": "CreateTopic",
            "Version": "2010-03-31",
            "Name": "presigned",
            "X-Amz-Credential": credential,
            "X-Amz-Signature": "00",
        },
        timeout=10,
    )
    assert answer.status_code == 200 and b"<CreateTopicResponse" in answer.content
    topics = edge_client(cloud.edge_url, "sns").list_topics()["Topics"]
    assert any(t["TopicArn"].endswith(":presigned") for t in topics)


def test_a_canned_acl_s3_does_not_know_is_an_invalid_argument(cloud):
    s3 = edge_client(cloud.edge_url, "s3")
    s3.create_bucket(Bucket="acls")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="acls", Key="k", Body=b"x", ACL="everyone-please")
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    s3.put_object(Bucket="acls", Key="k", Body=b"x", ACL="public-read")
