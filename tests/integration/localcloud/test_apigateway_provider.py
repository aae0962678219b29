"""REST APIs on an in-process local cloud, as a learner sees them: an API imported through
boto3 and deployed to ``prod`` answers on its own port, sends requests to an HTTP backend (a
loopback server here, or a real local NLB through a VPC link), refuses what the Cognito
authorizer refuses before the backend sees anything, and changes only with a new deployment."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.registry import PROVIDERS
from tests.helpers import EdgeSession, wait_for
from tests.unit.localcloud.services.apigateway.documents import openapi3, workshop_swagger

PASSWORD = "Corr3ct-Horse!"
# The cloud's own Cognito provider when it is registered (per-pool keys), else moto's.
COGNITO = ["cognito"] if "cognito" in PROVIDERS else []


class Recorder(BaseHTTPRequestHandler):
    """The backend: answers every request with what it received, and remembers it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    seen: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path != "/healthz":  # the load balancer's health checks are not requests
            Recorder.seen.append(
                {"method": self.command, "path": self.path, "host": self.headers["Host"]}
            )
        data = json.dumps({"method": self.command, "path": self.path, "body": body.decode()})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


class Cloud(EdgeSession):
    def stage_url(self, api_id: str, stage: str = "prod") -> str:
        return self.control(f"apigateway/{api_id}/{stage}")["url"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    local = LocalCloud(
        0,
        tmp_path_factory.mktemp("apigateway-cloud"),
        # stopped in reverse: the stages' backend connections close before the NLB's proxy
        providers=["loadbalancers", "apigateway", *COGNITO],
    )
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    yield Cloud(local.port)
    local.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _forget_requests() -> None:
    Recorder.seen.clear()


class Pool:
    def __init__(self, cloud: Cloud, name: str):
        idp = cloud.client("cognito-idp")
        pool = idp.create_user_pool(PoolName=name, AutoVerifiedAttributes=["email"])["UserPool"]
        self.id, self.arn = pool["Id"], pool["Arn"]
        self.client_id = idp.create_user_pool_client(
            UserPoolId=self.id,
            ClientName=f"{name}-web",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        user = "ana@example.com"
        idp.admin_create_user(UserPoolId=self.id, Username=user, TemporaryPassword=PASSWORD + "0")
        idp.admin_set_user_password(
            UserPoolId=self.id, Username=user, Password=PASSWORD, Permanent=True
        )
        tokens = idp.admin_initiate_auth(
            UserPoolId=self.id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        self.id_token, self.access_token = tokens["IdToken"], tokens["AccessToken"]


@pytest.fixture(scope="module")
def pool(cloud: Cloud) -> Pool:
    return Pool(cloud, "ItemsUsers")


@pytest.fixture(scope="module")
def api(cloud: Cloud, backend: int, pool: Pool) -> dict[str, Any]:
    gateway = cloud.client("apigateway")
    document = openapi3(f"http://127.0.0.1:{backend}", pool.arn)
    imported = gateway.import_rest_api(body=json.dumps(document).encode(), failOnWarnings=True)
    gateway.create_deployment(restApiId=imported["id"], stageName="prod")
    return {"id": imported["id"], "url": cloud.stage_url(imported["id"])}


def test_the_import_answers_with_the_rest_api(cloud, api):
    described = cloud.client("apigateway").get_rest_api(restApiId=api["id"])
    assert described["name"] == "ItemsApi"
    assert described["version"] == "2024-01-01"
    assert cloud.control("apigateway")[f"{api['id']}/prod"] == api["url"]
    assert api["url"].startswith("http://127.0.0.1:") and api["url"].endswith("/prod")


def test_reads_reach_the_backend_with_path_parameters_and_query_strings(api):
    listed = requests.get(f"{api['url']}/items?filter=GoodEvil&value=Good", timeout=5)
    one = requests.get(f"{api['url']}/items/a%20b", timeout=5)

    assert listed.status_code == 200
    assert listed.json()["path"] == "/items?filter=GoodEvil&value=Good"
    assert one.json()["path"] == "/items/a%20b"
    assert listed.headers["x-amzn-RequestId"] and listed.headers["x-amz-apigw-id"]
    seen = [s["path"] for s in Recorder.seen]
    assert seen == ["/items?filter=GoodEvil&value=Good", "/items/a%20b"]


def test_a_protected_post_without_a_token_is_refused_before_the_backend(api):
    response = requests.post(f"{api['url']}/items/7/like", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert Recorder.seen == []


def test_a_valid_id_token_passes_exactly_once(api, pool):
    response = requests.post(
        f"{api['url']}/items/7/like", headers={"Authorization": pool.id_token}, data="{}", timeout=5
    )
    assert response.status_code == 200
    assert response.json() == {"method": "POST", "path": "/items/7/like", "body": "{}"}
    assert len(Recorder.seen) == 1


def _segments(token: str) -> list[str]:
    return token.split(".")


def _forgeries(cloud: Cloud, pool: Pool) -> dict[str, str]:
    header, payload, signature = _segments(pool.id_token)
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = base64.urlsafe_b64encode(json.dumps(claims | {"sub": "someone-else"}).encode())
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "x"}).encode())
    kid = jwt.get_unverified_header(pool.id_token)["kid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = Pool(cloud, "OtherUsers")
    return {
        "a tampered payload": f"{header}.{tampered.rstrip(b'=').decode()}.{signature}",
        "alg none": f"{none_header.rstrip(b'=').decode()}.{payload}.",
        "a stranger's key under the pool's kid": jwt.encode(
            claims, stranger, algorithm="RS256", headers={"kid": kid}
        ),
        "an access token": pool.access_token,
        "another pool's ID token": other.id_token,
        "garbage": "not-a-token",
    }


def test_forged_tokens_are_refused(cloud, api, pool):
    for case, token in _forgeries(cloud, pool).items():
        response = requests.post(
            f"{api['url']}/items/7/like", headers={"Authorization": token}, timeout=5
        )
        assert response.status_code == 401, case
        assert response.json() == {"message": "Unauthorized"}, case
    assert Recorder.seen == []


def test_unknown_routes_are_missing_authentication_token(api):
    for method, path in [("GET", "/nothing"), ("DELETE", "/items/7"), ("GET", "/items/7/like")]:
        response = requests.request(method, f"{api['url']}{path}", timeout=5)
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert Recorder.seen == []


def test_the_preflight_gets_the_configured_cors_headers(api):
    response = requests.options(
        f"{api['url']}/items",
        headers={"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert response.text == "{}"


def test_a_foreign_page_gets_no_cors_grant(api):
    response = requests.get(
        f"{api['url']}/items", headers={"Origin": "https://evil.example.com"}, timeout=5
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_stage_port_refuses_big_bodies_unread_and_foreign_host_names(api, pool):
    host, port = api["url"].removeprefix("http://").split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.putrequest("POST", "/prod/items/7/like")
    connection.putheader("Authorization", pool.id_token)
    connection.putheader("Content-Length", str(11 * 1024 * 1024))
    connection.endheaders()  # and no body: it is refused before it is read
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Too Long"}

    rebound = requests.get(f"{api['url']}/items", headers={"Host": "attacker.example"}, timeout=5)
    assert rebound.status_code == 403
    assert Recorder.seen == []


def test_changes_show_only_after_a_new_deployment(cloud, api):
    gateway = cloud.client("apigateway")
    resources = gateway.get_resources(restApiId=api["id"])["items"]
    root = next(r["id"] for r in resources if r["path"] == "/")
    health = gateway.create_resource(restApiId=api["id"], parentId=root, pathPart="health")
    gateway.put_method(
        restApiId=api["id"], resourceId=health["id"], httpMethod="GET", authorizationType="NONE"
    )
    gateway.put_integration(
        restApiId=api["id"],
        resourceId=health["id"],
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    gateway.put_integration_response(
        restApiId=api["id"],
        resourceId=health["id"],
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"healthy": true}'},
    )
    before = gateway.get_stage(restApiId=api["id"], stageName="prod")["deploymentId"]
    assert requests.get(f"{api['url']}/health", timeout=5).status_code == 403

    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    response = requests.get(f"{api['url']}/health", timeout=5)
    assert (response.status_code, response.json()) == (200, {"healthy": True})

    # back to the earlier deployment: the method is gone again
    gateway.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": before}],
    )
    assert requests.get(f"{api['url']}/health", timeout=5).status_code == 403


def test_a_deployment_needs_an_integration_on_every_method(cloud, api):
    gateway = cloud.client("apigateway")
    root = next(
        r["id"] for r in gateway.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"
    )
    gateway.put_method(
        restApiId=api["id"], resourceId=root, httpMethod="PATCH", authorizationType="NONE"
    )
    try:
        with pytest.raises(ClientError) as refused:
            gateway.create_deployment(restApiId=api["id"], stageName="prod")
        assert refused.value.response["Error"]["Code"] == "BadRequestException"
        assert "No integration defined for method" in refused.value.response["Error"]["Message"]
    finally:
        gateway.delete_method(restApiId=api["id"], resourceId=root, httpMethod="PATCH")


def test_a_stage_of_its_own_closes_with_its_deletion(cloud, api):
    gateway = cloud.client("apigateway")
    deployment = gateway.get_stage(restApiId=api["id"], stageName="prod")["deploymentId"]
    gateway.create_stage(restApiId=api["id"], stageName="dev", deploymentId=deployment)
    dev = cloud.stage_url(api["id"], "dev")
    assert dev != api["url"]
    assert requests.get(f"{dev}/items", timeout=5).status_code == 200

    with pytest.raises(ClientError) as refused:
        gateway.delete_deployment(restApiId=api["id"], deploymentId=deployment)
    assert "Active stages" in refused.value.response["Error"]["Message"]

    gateway.delete_stage(restApiId=api["id"], stageName="dev")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{dev}/items", timeout=5)
    missing = requests.get(f"{cloud.edge}/_localcloud/apigateway/{api['id']}/dev", timeout=5)
    assert missing.status_code == 404
    assert requests.get(f"{api['url']}/items", timeout=5).status_code == 200


def test_invalid_documents_are_bad_requests_naming_the_problem(cloud):
    document = openapi3()
    document["paths"]["/items"]["get"]["x-amazon-apigateway-integration"]["type"] = "lambda"
    with pytest.raises(ClientError) as refused:
        cloud.client("apigateway").import_rest_api(body=json.dumps(document).encode())
    error = refused.value.response["Error"]
    assert error["Code"] == "BadRequestException"
    assert "Invalid integration type 'lambda' on GET /items" in error["Message"]
    assert not [
        a for a in cloud.client("apigateway").get_rest_apis()["items"] if a["name"] == "ItemsApi"
    ][1:]


def test_the_workshops_swagger_and_a_vpc_link_to_a_real_nlb(cloud, backend, pool):
    ec2, elbv2 = cloud.client("ec2"), cloud.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    nlb = elbv2.create_load_balancer(Name="mysfits-nlb", Type="network", Subnets=[subnet])
    nlb = nlb["LoadBalancers"][0]
    group = elbv2.create_target_group(
        Name="mysfits-tg",
        Protocol="TCP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckProtocol="HTTP",
        HealthCheckPath="/healthz",
        HealthCheckIntervalSeconds=5,  # 0.5 s on loopback
        HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": backend}])
    wait_for(
        lambda: (
            elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0][
                "TargetHealth"
            ]["State"]
            == "healthy"
        ),
        "the backend to be healthy behind the NLB",
    )
    gateway = cloud.client("apigateway")
    link = gateway.create_vpc_link(name="MysfitsApiVpcLink", targetArns=[nlb["LoadBalancerArn"]])
    document = json.dumps(workshop_swagger(pool.arn))
    document = document.replace(
        "http://mysfits-nlb-0123456789.elb.us-east-1.amazonaws.com", f"http://{nlb['DNSName']}"
    ).replace('"abc123"', json.dumps(link["id"]))
    api = gateway.import_rest_api(
        body=document.encode(),
        failOnWarnings=True,
        parameters={"endpointConfigurationTypes": "REGIONAL"},
    )
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
    resources = gateway.get_resources(restApiId=api["id"], embed=["methods"])["items"]
    like = next(r for r in resources if r["path"] == "/mysfits/{mysfitId}/like")
    integration = gateway.get_integration(
        restApiId=api["id"], resourceId=like["id"], httpMethod="POST"
    )
    assert (integration["connectionType"], integration["connectionId"]) == ("VPC_LINK", link["id"])
    assert like["resourceMethods"]["POST"]["methodIntegration"]["connectionId"] == link["id"]
    assert like["resourceMethods"]["POST"]["authorizationType"] == "COGNITO_USER_POOLS"

    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    url = cloud.stage_url(api["id"])
    response = requests.get(f"{url}/mysfits/abc?x=1", timeout=5)
    assert response.status_code == 200
    assert response.json()["path"] == "/mysfits/abc?x=1"
    assert Recorder.seen[-1]["host"] == nlb["DNSName"]  # Host is the URI's, as on AWS

    refused = requests.post(f"{url}/mysfits/abc/like", timeout=5)
    assert refused.status_code == 401
    liked = requests.post(
        f"{url}/mysfits/abc/like", headers={"Authorization": pool.id_token}, timeout=5
    )
    assert liked.status_code == 200
    preflight = requests.options(f"{url}/mysfits/abc/like", timeout=5)
    assert preflight.headers["Access-Control-Allow-Methods"] == "*"

    gateway.delete_rest_api(restApiId=api["id"])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/mysfits", timeout=5)
    assert f"{api['id']}/prod" not in cloud.control("apigateway")
    time.sleep(0)  # the edge keeps serving other stages
