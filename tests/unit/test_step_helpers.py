"""The helpers every step module shares: IAM roles, log groups and following log lines."""

import json
import time

import boto3
import pytest
from moto import mock_aws

from mysfits_lab.lab import Lab
from mysfits_lab.steps import iam
from mysfits_lab.steps.aws_errors import tolerate
from mysfits_lab.steps.logs import LogTail, ensure_log_group

READ_OBJECTS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        session = boto3.Session(
            region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        yield Lab("aws", "us-east-1", "mysfit", session, "123456789012")


@pytest.fixture
def managed_policy(lab):
    created = lab.client("iam").create_policy(
        PolicyName="mysfit-read", PolicyDocument=json.dumps(READ_OBJECTS)
    )
    return created["Policy"]["Arn"]


def test_a_role_is_created_once_with_its_trust_and_policies(lab, managed_policy):
    arn = iam.ensure_role(
        lab,
        "mysfit-Role",
        "lambda.amazonaws.com",
        managed_policies=(managed_policy,),
        inline_policies={"read": READ_OBJECTS},
    )
    again = iam.ensure_role(
        lab, "mysfit-Role", "lambda.amazonaws.com", managed_policies=(managed_policy,)
    )
    assert arn == again and arn.endswith(":role/mysfit-Role")
    client = lab.client("iam")
    role = client.get_role(RoleName="mysfit-Role")["Role"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "lambda.amazonaws.com"}
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == lab.tags
    attached = client.list_attached_role_policies(RoleName="mysfit-Role")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [managed_policy]
    document = client.get_role_policy(RoleName="mysfit-Role", PolicyName="read")["PolicyDocument"]
    assert (json.loads(document) if isinstance(document, str) else document) == READ_OBJECTS


def test_deleting_a_role_removes_its_policies_first_and_tolerates_absence(lab, managed_policy):
    iam.ensure_role(
        lab,
        "mysfit-Role",
        "firehose.amazonaws.com",
        managed_policies=(managed_policy,),
        inline_policies={"read": READ_OBJECTS},
    )
    assert iam.delete_role(lab, "mysfit-Role") == ["IAM role mysfit-Role"]
    assert iam.delete_role(lab, "mysfit-Role") == []
    assert lab.client("iam").list_roles()["Roles"] == []


def test_a_log_group_is_ensured_with_its_retention(lab):
    assert ensure_log_group(lab, "mysfit-logs", retention_days=3) == "mysfit-logs"
    ensure_log_group(lab, "mysfit-logs", retention_days=3)
    groups = lab.client("logs").describe_log_groups()["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("mysfit-logs", 3)]


def test_a_log_tail_prints_each_line_once_and_waits_for_streams_to_appear(lab, capsys):
    logs = lab.client("logs")
    tail = LogTail(logs)
    tail.stream("mysfit-logs", "build/1")  # neither group nor stream yet: nothing, no error
    tail.streams("mysfit-logs", "build/")
    ensure_log_group(lab, "mysfit-logs")
    logs.create_log_stream(logGroupName="mysfit-logs", logStreamName="build/1")

    def write(*lines):
        now = int(time.time() * 1000)  # CloudWatch refuses lines older than 14 days
        events = [{"timestamp": now + i, "message": m} for i, m in enumerate(lines)]
        logs.put_log_events(logGroupName="mysfit-logs", logStreamName="build/1", logEvents=events)

    write("one", "two")
    tail.streams("mysfit-logs", "build/")
    write("three\n")
    tail.stream("mysfit-logs", "build/1")
    tail.streams("mysfit-logs", "build/")
    assert capsys.readouterr().out.splitlines() == ["  | one", "  | two", "  | three"]


def test_tolerate_swallows_only_the_expected_codes():
    from botocore.exceptions import ClientError

    def fail(code):
        raise ClientError({"Error": {"Code": code, "Message": code}}, "Create")

    with tolerate("AlreadyExists"):
        fail("AlreadyExists")
    with pytest.raises(ClientError, match="AccessDenied"), tolerate("AlreadyExists"):
        fail("AccessDenied")
