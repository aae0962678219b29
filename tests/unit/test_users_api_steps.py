"""Module 4's pure parts: the OpenAPI document rendered from the outputs store, the pool's
password policy as the site reads it, the demo user's password, and the user pool and client as
reruns find them."""

from __future__ import annotations

import base64
import json
import re

import boto3
import pytest
from moto import mock_aws

from mysfits_lab.lab import Lab, LabError
from mysfits_lab.steps import api, rest_apis, users, website

NLB_DNS = "mysfit-nlb-0123456789.elb.us-east-1.amazonaws.com"
POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc123"


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.Session(
            region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        lab = Lab("aws", "us-east-1", "ana", session, "123456789012")
        lab.outputs.record(
            "01-static-site",
            {
                "website.url": "http://site.s3-website-us-east-1.amazonaws.com/",
                "website.bucket": "b",
            },
        )
        lab.outputs.record(
            "02a-service",
            {"service.nlb_dns": NLB_DNS, "service.nlb_arn": "arn:aws:elasticloadbalancing:x"},
        )
        lab.outputs.record("04-users-api", {"users.user_pool_arn": POOL_ARN})
        yield lab


def test_the_document_fills_every_id_in_and_leaves_no_placeholder(lab):
    document = api.openapi_document(lab, "vl-123")
    text = json.dumps(document)
    assert "REPLACE_ME" not in text
    assert document["openapi"].startswith("3.0")
    scheme = document["components"]["securitySchemes"][api.AUTHORIZER]
    assert scheme["x-amazon-apigateway-authorizer"]["providerARNs"] == [POOL_ARN]
    like = document["paths"]["/mysfits/{mysfitId}/like"]["post"]
    integration = like["x-amazon-apigateway-integration"]
    assert integration["uri"] == f"http://{NLB_DNS}/mysfits/{{mysfitId}}/like"
    assert integration["connectionType"] == "VPC_LINK"
    assert integration["connectionId"] == "vl-123"
    assert integration["requestParameters"] == {
        "integration.request.path.mysfitId": "method.request.path.mysfitId"
    }
    assert like["security"] == [{api.AUTHORIZER: []}]
    assert "security" not in document["paths"]["/mysfits"]["get"]


def test_every_path_answers_a_preflight_for_the_site_origin_only(lab):
    document = api.openapi_document(lab, "vl-123")
    for path, operations in document["paths"].items():
        options = operations["options"]
        integration = options["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        headers = integration["responses"]["default"]["responseParameters"]
        origin = headers["method.response.header.Access-Control-Allow-Origin"]
        assert origin == "'http://site.s3-website-us-east-1.amazonaws.com'", path
        assert "Authorization" in headers["method.response.header.Access-Control-Allow-Headers"]
        methods = headers["method.response.header.Access-Control-Allow-Methods"].strip("'")
        assert set(methods.split(",")) == {m.upper() for m in operations}
        if "{mysfitId}" in path:  # OPTIONS declares the path parameter too (AWS insists)
            assert options["parameters"][0]["name"] == "mysfitId"


def test_the_hash_follows_the_document_so_a_rerun_deploys_only_changes(lab):
    first = api.openapi_document(lab, "vl-123")
    assert rest_apis.document_hash(first) == rest_apis.document_hash(
        api.openapi_document(lab, "vl-123")
    )
    assert rest_apis.document_hash(first) != rest_apis.document_hash(
        api.openapi_document(lab, "vl-456")
    )


def test_routes_table_says_who_may_call_each_method(lab):
    rows = api.route_rows(api.openapi_document(lab, "vl-123"))
    by_route = {(r["method"], r["path"]): r for r in rows}
    assert by_route[("POST", "/mysfits/{mysfitId}/adopt")]["who may call"] == "signed-in users"
    assert by_route[("GET", "/mysfits")]["who may call"] == "anyone"
    assert by_route[("OPTIONS", "/")]["integration"].startswith("API Gateway itself")
    assert len(rows) == 10


def test_a_forged_token_keeps_header_and_signature_but_not_the_payload():
    claims = base64.urlsafe_b64encode(json.dumps({"email": "a@b.c"}).encode()).decode().rstrip("=")
    token = f"aGVhZA.{claims}.c2ln"
    forged = api._forged(token)
    head, payload, signature = forged.split(".")
    assert (head, signature) == ("aGVhZA", "c2ln") and payload != claims


def test_the_demo_password_meets_the_pool_policy():
    for _ in range(50):
        password = users._new_password()
        assert len(password) >= users.PASSWORD_POLICY["MinimumLength"]
        assert re.search("[A-Z]", password) and re.search("[a-z]", password)
        assert re.search("[0-9]", password) and re.search(r"[^A-Za-z0-9]", password)


def test_on_aws_the_demo_user_needs_an_address_the_learner_reads(lab):
    with pytest.raises(LabError, match="demo_email"):
        users.demo_email(lab)
    assert users.demo_email(lab, "me@example.org") == "me@example.org"


def test_pool_and_client_are_found_again_on_a_rerun_and_feed_the_site_config(lab):
    pool = users.create_user_pool(lab)
    client = users.create_client(lab, pool["Id"])
    again = users.create_user_pool(lab)
    assert again["Id"] == pool["Id"]
    assert users.create_client(lab, pool["Id"])["ClientId"] == client["ClientId"]
    listed = lab.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Name"] for p in listed] == ["ana-MysfitsUserPool"]
    users.record(lab, pool, client)
    config = website.site_config(lab)
    assert config["cognitoUserPoolId"] == pool["Id"]
    assert config["cognitoUserPoolClientId"] == client["ClientId"]
    assert config["cognitoEndpoint"] == "https://cognito-idp.us-east-1.amazonaws.com/"
    assert config["cognitoPasswordPolicy"] == {
        "minimumLength": 8,
        "requireUppercase": True,
        "requireLowercase": True,
        "requireNumbers": True,
        "requireSymbols": True,
    }
    rows = users.pool_rows(pool, client)
    assert "at least 8 characters" in rows[1]["details"]
    assert users.teardown(lab) == [f"user pool ana-MysfitsUserPool ({pool['Id']})"]
    assert users.find_pool(lab) is None
    assert "users.user_pool_id" not in lab.outputs
