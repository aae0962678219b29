"""A page the cloud serves may make the calls a page makes on AWS without credentials — Cognito
sign-up and sign-in, a pool's JWKS — and nothing else; other pages, and requests a browser
sends for them without an Origin, may make none."""

from __future__ import annotations

import pytest
import requests

from mysfits_lab.localcloud.edge.cors import browser_operations
from tests.helpers import edge_client

SITE = "http://127.0.0.1:5555"
COGNITO = "AWSCognitoIdentityProviderService"
ECS = "AmazonEC2ContainerServiceV20141113"


def target(operation: str) -> dict[str, str]:
    return {"X-Amz-Target": operation, "Content-Type": "application/x-amz-json-1.1"}


@pytest.fixture
def cloud(make_cloud):
    cloud = make_cloud("cloudformation")
    cloud.edge.cors.allow_port(5555)
    return cloud


@pytest.fixture
def pool(cloud) -> tuple[str, str]:
    idp = edge_client(cloud.edge_url, "cognito-idp")
    pool = idp.create_user_pool(PoolName="site")["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]
    return pool, app["ClientId"]


def test_the_allowlist_is_what_botocore_sends_unsigned():
    allowed = {operation for _service, operation in browser_operations()}
    assert {"SignUp", "ConfirmSignUp", "InitiateAuth", "RespondToAuthChallenge"} <= allowed
    assert {"GetUser", "ForgotPassword", "GlobalSignOut", "RevokeToken"} <= allowed
    assert not {"AdminCreateUser", "CreateUserPool", "ListUsers"} & allowed
    assert {service for service, _ in browser_operations()} == {"cognito-idp"}


def test_the_site_signs_up_and_reads_the_pool_keys(cloud, pool):
    pool_id, client_id = pool
    signed_up = requests.post(
        f"{cloud.edge_url}/",
        json={"ClientId": client_id, "Username": "ada", "Password": "Passw0rd!"},
        headers={**target(f"{COGNITO}.SignUp"), "Origin": SITE},
        timeout=10,
    )
    assert signed_up.status_code == 200 and "UserSub" in signed_up.json()
    assert signed_up.headers["Access-Control-Allow-Origin"] == SITE
    keys = requests.get(
        f"{cloud.edge_url}/{pool_id}/.well-known/jwks.json", headers={"Origin": SITE}, timeout=10
    )
    assert keys.status_code == 200 and keys.json()["keys"]


@pytest.mark.parametrize(
    "operation", [f"{ECS}.ListClusters", f"{ECS}.RunTask", f"{COGNITO}.CreateUserPool"]
)
def test_the_site_may_not_call_anything_else(cloud, operation):
    refused = requests.post(
        f"{cloud.edge_url}/",
        json={"PoolName": "planted"},
        headers={**target(operation), "Origin": SITE},
        timeout=10,
    )
    assert refused.status_code == 403
    assert refused.json()["__type"] == "AccessDeniedException"
    assert "cannot be called from a web page" in refused.json()["message"]
    # the site may read why (its own origin), and nothing was created
    assert refused.headers["Access-Control-Allow-Origin"] == SITE
    pools = edge_client(cloud.edge_url, "cognito-idp").list_user_pools(MaxResults=60)
    assert "planted" not in [p["Name"] for p in pools["UserPools"]]


def test_a_signed_call_from_the_site_is_refused_too(cloud):
    form = "Action=CreateStack&Version=2010-05-15&StackName=planted&TemplateBody=%7B%7D"
    refused = requests.post(
        f"{cloud.edge_url}/",
        data=form,
        headers={
            "Origin": SITE,
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/"
            "cloudformation/aws4_request, SignedHeaders=host, Signature=00",
        },
        timeout=10,
    )
    assert refused.status_code == 403 and b"<Code>AccessDenied</Code>" in refused.content
    stacks = edge_client(cloud.edge_url, "cloudformation").describe_stacks()["Stacks"]
    assert "planted" not in [s["StackName"] for s in stacks]


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},  # an <img> elsewhere
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"},  # a link on :8888
        {"Referer": "http://127.0.0.1:9999/attack.html"},  # a browser without Fetch Metadata
        {"Origin": "null"},  # a sandboxed frame, a file:// page
    ],
)
def test_requests_a_browser_sends_for_other_pages_are_refused(cloud, pool, headers):
    _pool_id, client_id = pool
    refused = requests.post(
        f"{cloud.edge_url}/",
        json={"ClientId": client_id, "Username": "eve", "Password": "Passw0rd!"},
        headers={**target(f"{COGNITO}.SignUp"), **headers},
        timeout=10,
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_the_learner_typing_a_url_is_not_a_page(cloud):
    typed = requests.get(
        f"{cloud.edge_url}/_localcloud/status", headers={"Sec-Fetch-Site": "none"}, timeout=5
    )
    assert typed.status_code == 200 and typed.json()["running"]


@pytest.mark.parametrize("origin", [SITE, "http://127.0.0.1:9"])
def test_no_page_reaches_the_control_routes(cloud, origin):
    refused = requests.get(
        f"{cloud.edge_url}/_localcloud/status", headers={"Origin": origin}, timeout=5
    )
    assert refused.status_code == 403 and "not" in refused.json()["message"]
    assert "Access-Control-Allow-Origin" not in refused.headers
