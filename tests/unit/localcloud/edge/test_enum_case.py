"""Enum values AWS reads in any case are rewritten to their canonical case in the request
itself; every other value, and every other service, is left exactly as sent."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from mysfits_lab.localcloud.edge.catalog import operation_model
from mysfits_lab.localcloud.edge.enum_case import canonical_request, canonical_value
from mysfits_lab.localcloud.edge.params import request_params
from mysfits_lab.localcloud.edge.request import AwsRequest

JSON = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def json_request(target: str, body: object) -> AwsRequest:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": JSON,
        "HTTP_X_AMZ_TARGET": target,
    }
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return AwsRequest.from_environ(environ, raw)


def form_request(body: str, query: str = "") -> AwsRequest:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": query,
        "CONTENT_TYPE": FORM,
    }
    return AwsRequest.from_environ(environ, body.encode())


def project(**fields: object) -> dict[str, object]:
    return {
        "name": "p",
        "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {"type": "LINUX_CONTAINER", "image": "i", "computeType": "C"},
        "serviceRole": "r",
    } | fields


def test_codebuild_artifact_types_are_made_canonical_wherever_they_are():
    body = project(
        artifacts={"type": "no_artifacts"},
        secondaryArtifacts=[{"type": "s3", "location": "b", "artifactIdentifier": "x"}],
    )
    fixed = canonical_request(
        "codebuild", "CreateProject", "json", json_request("CodeBuild_20161006.CreateProject", body)
    )
    assert fixed is not None
    sent = json.loads(fixed.body)
    assert sent["artifacts"] == {"type": "NO_ARTIFACTS"}
    assert sent["secondaryArtifacts"][0] == {
        "type": "S3",
        "location": "b",
        "artifactIdentifier": "x",
    }
    assert sent["source"] == body["source"]  # the rest as sent
    params = request_params("codebuild", "CreateProject", "json", fixed)
    assert params["artifacts"]["type"] == "NO_ARTIFACTS"

    override = {"projectName": "p", "artifactsOverride": {"type": "codepipeline"}}
    started = canonical_request(
        "codebuild", "StartBuild", "json", json_request("CodeBuild_20161006.StartBuild", override)
    )
    assert started is not None
    assert json.loads(started.body)["artifactsOverride"] == {"type": "CODEPIPELINE"}


@pytest.mark.parametrize(
    "body",
    [
        project(),  # already canonical
        project(artifacts={"type": "none_at_all"}),  # not a value in any case: validation's
        project(source={"type": "codecommit", "location": "x"}),  # no evidence AWS takes it
        project(artifacts="no_artifacts"),  # not even an object: validation's
        b"{not json",
        b"[1, 2]",
        b"",
    ],
)
def test_anything_else_is_left_as_sent(body):
    req = json_request("CodeBuild_20161006.CreateProject", body)
    assert canonical_request("codebuild", "CreateProject", "json", req) is None


def test_services_without_loose_enums_are_not_walked():
    table = {
        "TableName": "t",
        "KeySchema": [{"AttributeName": "id", "KeyType": "hash"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "s"}],
    }
    req = json_request("DynamoDB_20120810.CreateTable", table)
    assert canonical_request("dynamodb", "CreateTable", "json", req) is None
    listed = form_request("Action=CreateTargetGroup&Version=2015-12-01&Name=t&Protocol=http")
    assert canonical_request("elbv2", "CreateTargetGroup", "query", listed) is None
    # An operation of a listed service that reaches no loose member is not looked through.
    assert canonical_request("codebuild", "ListProjects", "json", json_request("x", {})) is None


def test_sns_protocols_are_stored_in_lower_case():
    body = (
        "Action=Subscribe&Version=2010-03-31&TopicArn=arn%3At&Protocol=HTTPS"
        "&Endpoint=https%3A%2F%2Fx"
    )
    fixed = canonical_request("sns", "Subscribe", "query", form_request(body))
    assert fixed is not None
    assert fixed.body.decode().split("&") == [
        "Action=Subscribe",
        "Version=2010-03-31",
        "TopicArn=arn%3At",
        "Protocol=https",
        "Endpoint=https%3A%2F%2Fx",
    ]
    assert request_params("sns", "Subscribe", "query", fixed)["Protocol"] == "https"
    # SNS answers an unknown protocol itself, with the protocol as sent.
    unknown = body.replace("HTTPS", "FTP")
    assert canonical_request("sns", "Subscribe", "query", form_request(unknown)) is None


def test_a_query_string_parameter_is_rewritten_there():
    query = "Action=Subscribe&Version=2010-03-31&TopicArn=t&Protocol=Email&Endpoint=a%40b.c"
    fixed = canonical_request("sns", "Subscribe", "query", form_request("", query=query))
    assert fixed is not None
    assert parse_qs(fixed.environ["QUERY_STRING"])["Protocol"] == ["email"]
    assert fixed.query["Protocol"] == ["email"]


def test_canonical_value_needs_a_listed_shape_and_a_string():
    artifacts = operation_model("codebuild", "CreateProject").input_shape.members["artifacts"]
    kind = artifacts.members["type"]
    assert canonical_value("codebuild", kind, "No_Artifacts") == "NO_ARTIFACTS"
    assert canonical_value("codebuild", kind, "NO_ARTIFACTS") is None
    assert canonical_value("codebuild", kind, 3) is None
    assert canonical_value("codebuild", artifacts.members["location"], "s3") is None
    assert canonical_value("ecs", kind, "no_artifacts") is None
