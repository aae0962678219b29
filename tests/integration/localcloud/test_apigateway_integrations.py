"""API Gateway's service integrations on an in-process local cloud, as the workshop's modules 5
and 6 use them: ``POST /questions`` a Lambda proxy integration (its event, its errors, its
timeout), ``PUT /clicks`` the ``AWS`` integration to Firehose ``PutRecord`` with the VTL
template, and gateway responses that let the site read API Gateway's own 401 and 5xx."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.registry import PROVIDERS
from tests.helpers import EdgeSession, wait_for

REGION = "us-east-1"
ACCOUNT = "123456789012"
PASSWORD = "Corr3ct-Horse!"
EMAIL = "ana@example.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ApiRole"
HAS_FIREHOSE = "firehose" in PROVIDERS
COGNITO = ["cognito"] if "cognito" in PROVIDERS else []
FOREIGN = "https://evil.example.com"
CLICKS_TEMPLATE = (
    '{ "DeliveryStreamName": "clicks", "Record": { "Data": '
    "\"$util.base64Encode($input.json('$'))\" } }"
)

HANDLER = """
import json, time

def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "raise":
        raise ValueError("the function failed")
    if mode == "sleep":
        time.sleep(3)
    if mode == "bad":
        return {"statusCode": 200, "body": {"not": "a string"}}
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps(event),
    }
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeSession]:
    if "lambda" not in PROVIDERS:
        pytest.skip("the Lambda provider is not registered on this cloud")
    providers = ["apigateway", "lambda", *COGNITO, *(["firehose"] if HAS_FIREHOSE else [])]
    local = LocalCloud(0, tmp_path_factory.mktemp("apigateway-integrations"), providers=providers)
    thread = threading.Thread(target=local.serve_forever, daemon=True)
    thread.start()
    yield EdgeSession(local.port)
    local.shutdown()
    thread.join(timeout=10)


def _zip(source: str) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("app.py", source)
    return data.getvalue()


@pytest.fixture(scope="module")
def function(cloud: EdgeSession) -> str:
    functions = cloud.client("lambda")
    role = cloud.client("iam").create_role(RoleName="questions", AssumeRolePolicyDocument="{}")
    arn = functions.create_function(
        FunctionName="PostQuestion",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip(HANDLER)},
        Timeout=5,
    )["FunctionArn"]
    wait_for(
        lambda: functions.get_function_configuration(FunctionName=arn)["State"] == "Active",
        "the function to be active",
    )
    return arn


class Pool:
    def __init__(self, cloud: EdgeSession):
        idp = cloud.client("cognito-idp")
        pool = idp.create_user_pool(PoolName="Questions", AutoVerifiedAttributes=["email"])
        self.id, self.arn = pool["UserPool"]["Id"], pool["UserPool"]["Arn"]
        client_id = idp.create_user_pool_client(
            UserPoolId=self.id,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(
            UserPoolId=self.id,
            Username=EMAIL,
            TemporaryPassword=PASSWORD + "0",
            UserAttributes=[
                {"Name": "email", "Value": EMAIL},
                {"Name": "email_verified", "Value": "true"},
            ],
        )
        idp.admin_set_user_password(
            UserPoolId=self.id, Username=EMAIL, Password=PASSWORD, Permanent=True
        )
        self.id_token = idp.admin_initiate_auth(
            UserPoolId=self.id,
            ClientId=client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]["IdToken"]


def _proxy(function_arn: str, **extra: Any) -> dict[str, Any]:
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    return {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": uri,
        "credentials": ROLE,
        **extra,
    }


def questions_document(function_arn: str, pool_arn: str, origin: str) -> dict[str, Any]:
    ok = {"200": {"description": "ok"}}
    question = [
        {"name": "questionId", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    cors = {
        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
        "gatewayresponse.header.Access-Control-Allow-Headers": (
            "'Content-Type,X-Amz-Date,Authorization,X-Api-Key'"
        ),
    }
    return {
        "openapi": "3.0.1",
        "info": {"title": "QuestionsApi", "version": "2018-03-01"},
        "paths": {
            "/questions": {
                "post": {"responses": ok, "x-amazon-apigateway-integration": _proxy(function_arn)}
            },
            "/questions/{questionId}": {
                "post": {
                    "parameters": question,
                    "security": [{"Users": []}],
                    "responses": ok,
                    "x-amazon-apigateway-integration": _proxy(function_arn),
                }
            },
            "/slow": {
                "get": {
                    "responses": ok,
                    "x-amazon-apigateway-integration": _proxy(function_arn, timeoutInMillis=1000),
                }
            },
        },
        "components": {
            "securitySchemes": {
                "Users": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                        "type": "cognito_user_pools",
                        "providerARNs": [pool_arn],
                    },
                }
            }
        },
        "x-amazon-apigateway-gateway-responses": {
            "DEFAULT_4XX": {"responseParameters": cors},
            "DEFAULT_5XX": {"responseParameters": cors},
        },
    }


@pytest.fixture(scope="module")
def questions(cloud: EdgeSession, function: str) -> dict[str, Any]:
    """The questions API, its gateway responses allowing its own stage's origin (known once it
    is deployed: imported, deployed, then overwritten with the origin and deployed again)."""
    if not COGNITO:
        pytest.skip("the Cognito provider is not registered on this cloud")
    pool = Pool(cloud)
    gateway = cloud.client("apigateway")
    document = questions_document(function, pool.arn, "http://placeholder.invalid")
    api = gateway.import_rest_api(body=json.dumps(document).encode(), failOnWarnings=True)
    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    url = cloud.control(f"apigateway/{api['id']}/prod")["url"]
    origin = url.rsplit("/", 1)[0]
    document = questions_document(function, pool.arn, origin)
    gateway.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(document).encode())
    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    return {"id": api["id"], "url": url, "origin": origin, "token": pool.id_token}


def test_the_imported_gateway_responses_are_the_apis(cloud, questions):
    gateway = cloud.client("apigateway")
    own = gateway.get_gateway_response(restApiId=questions["id"], responseType="DEFAULT_4XX")
    assert own["defaultResponse"] is False
    assert own["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == (
        f"'{questions['origin']}'"
    )
    default = gateway.get_gateway_response(restApiId=questions["id"], responseType="UNAUTHORIZED")
    assert (default["defaultResponse"], default["statusCode"]) == (True, "401")
    listed = gateway.get_gateway_responses(restApiId=questions["id"])["items"]
    assert len(listed) == 21


def test_gateway_responses_through_the_api(cloud):
    gateway = cloud.client("apigateway")
    api = gateway.create_rest_api(name="Scratch")["id"]
    updated = gateway.update_gateway_response(
        restApiId=api,
        responseType="UNAUTHORIZED",
        patchOperations=[
            {
                "op": "add",
                "path": "/responseParameters/gatewayresponse.header.X-Why",
                "value": "'token'",
            }
        ],
    )
    assert updated["statusCode"] == "401"
    assert updated["responseParameters"] == {"gatewayresponse.header.X-Why": "'token'"}
    described = gateway.get_gateway_response(restApiId=api, responseType="UNAUTHORIZED")
    assert described["defaultResponse"] is False
    with pytest.raises(ClientError) as refused:
        gateway.put_gateway_response(restApiId=api, responseType="DEFAULT_4XX", statusCode="999")
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as missing:
        gateway.get_gateway_response(restApiId="nope", responseType="DEFAULT_4XX")
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    gateway.delete_gateway_response(restApiId=api, responseType="UNAUTHORIZED")
    again = gateway.get_gateway_response(restApiId=api, responseType="UNAUTHORIZED")
    assert again["defaultResponse"] is True
    gateway.delete_rest_api(restApiId=api)


def test_the_function_gets_the_proxy_event(questions):
    response = requests.post(
        f"{questions['url']}/questions?topic=sizes&topic=colours&x=1",
        json={"email": "ana@example.com", "questionText": "Do mysfits bite? ✓"},
        headers={"X-Custom": "yes"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Single"] == "one"
    assert response.headers["X-Multi"] == "a, b"
    event = response.json()
    assert event["resource"] == "/questions"
    assert event["path"] == "/questions"
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"topic": "colours", "x": "1"}
    assert event["multiValueQueryStringParameters"] == {"topic": ["sizes", "colours"], "x": ["1"]}
    assert event["pathParameters"] is None
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert json.loads(event["body"]) == {
        "email": "ana@example.com",
        "questionText": "Do mysfits bite? ✓",
    }
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/questions"
    assert context["stage"] == "prod"
    assert context["path"] == "/prod/questions"
    assert context["apiId"] == questions["id"]
    assert context["accountId"] == ACCOUNT
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["extendedRequestId"] == response.headers["x-amz-apigw-id"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert "authorizer" not in context


def test_a_signed_in_call_carries_the_claims_and_path_parameters(questions):
    refused = requests.post(f"{questions['url']}/questions/q-1", json={}, timeout=30)
    assert refused.status_code == 401

    response = requests.post(
        f"{questions['url']}/questions/q-1",
        json={"questionText": "hi"},
        headers={"Authorization": questions["token"]},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["resource"] == "/questions/{questionId}"
    assert event["pathParameters"] == {"questionId": "q-1"}
    claims = event["requestContext"]["authorizer"]["claims"]
    assert claims["email"] == EMAIL
    assert claims["token_use"] == "id"
    assert all(isinstance(value, str) for value in claims.values())


def test_stage_variables_reach_the_function_without_a_deployment(cloud, questions):
    gateway = cloud.client("apigateway")
    gateway.update_stage(
        restApiId=questions["id"],
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/variables/table", "value": "Questions"}],
    )
    try:
        event = requests.post(f"{questions['url']}/questions", json={}, timeout=30).json()
        assert event["stageVariables"] == {"table": "Questions"}
    finally:
        gateway.update_stage(
            restApiId=questions["id"],
            stageName="prod",
            patchOperations=[{"op": "remove", "path": "/variables/table"}],
        )


@pytest.mark.parametrize("mode", ["raise", "bad"])
def test_a_failing_or_malformed_function_is_a_502(questions, mode):
    response = requests.post(
        f"{questions['url']}/questions?mode={mode}",
        json={},
        headers={"Origin": questions["origin"]},
        timeout=30,
    )
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    # the DEFAULT_5XX gateway response lets the site read it
    assert response.headers["Access-Control-Allow-Origin"] == questions["origin"]


def test_a_function_past_the_integration_timeout_is_a_504(questions):
    started = time.monotonic()
    response = requests.get(f"{questions['url']}/slow?mode=sleep", timeout=30)
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}
    assert time.monotonic() - started < 2.5  # the function sleeps 3 s; the gateway waits 1 s


def test_an_authorizer_401_carries_cors_headers_for_the_clouds_own_origin_only(questions):
    own = requests.post(
        f"{questions['url']}/questions/q-1", headers={"Origin": questions["origin"]}, timeout=30
    )
    assert own.status_code == 401
    assert own.json() == {"message": "Unauthorized"}
    assert own.headers["Access-Control-Allow-Origin"] == questions["origin"]
    assert own.headers["Access-Control-Allow-Headers"] == (
        "Content-Type,X-Amz-Date,Authorization,X-Api-Key"
    )
    assert own.headers["x-amzn-ErrorType"] == "UnauthorizedException"

    foreign = requests.post(
        f"{questions['url']}/questions/q-1", headers={"Origin": FOREIGN}, timeout=30
    )
    assert foreign.status_code == 401
    assert not [name for name in foreign.headers if name.lower().startswith("access-control-")]


def test_a_new_gateway_response_needs_a_new_deployment(cloud, questions):
    gateway = cloud.client("apigateway")
    gateway.put_gateway_response(
        restApiId=questions["id"],
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
        responseTemplates={
            "application/json": '{"error": "no such route", "type": "$context.error.responseType"}'
        },
    )
    try:
        before = requests.get(f"{questions['url']}/nowhere", timeout=30)
        assert before.status_code == 403
        gateway.create_deployment(restApiId=questions["id"], stageName="prod")
        after = requests.get(f"{questions['url']}/nowhere", timeout=30)
        assert after.status_code == 404
        assert after.json() == {"error": "no such route", "type": "MISSING_AUTHENTICATION_TOKEN"}
    finally:
        gateway.delete_gateway_response(
            restApiId=questions["id"], responseType="MISSING_AUTHENTICATION_TOKEN"
        )
        gateway.create_deployment(restApiId=questions["id"], stageName="prod")


# -- module 5: PUT /clicks -> Firehose PutRecord ----------------------------------------------
def clicks_document(stream: str) -> dict[str, Any]:
    """The workshop's clickstream API (Swagger 2.0, as its SAM template inlines it)."""
    cors = {
        "method.response.header.Access-Control-Allow-Headers": "'Content-Type'",
        "method.response.header.Access-Control-Allow-Methods": "'OPTIONS, PUT'",
        "method.response.header.Access-Control-Allow-Origin": "'*'",
    }
    return {
        "swagger": 2.0,
        "info": {"title": "ClickProcessingApi"},
        "paths": {
            "/clicks": {
                "put": {
                    "consumes": ["application/json"],
                    "produces": ["application/json"],
                    "responses": {
                        "200": {
                            "description": "200 response",
                            "headers": {
                                name.rsplit(".", 1)[1]: {"type": "string"} for name in cors
                            },
                        }
                    },
                    "x-amazon-apigateway-integration": {
                        "type": "aws",
                        "httpMethod": "POST",
                        "uri": f"arn:aws:apigateway:{REGION}:firehose:action/PutRecord",
                        "credentials": ROLE,
                        "requestParameters": {
                            "integration.request.header.Content-Type": (
                                "'application/x-amz-json-1.1'"
                            )
                        },
                        "requestTemplates": {
                            "application/json": CLICKS_TEMPLATE.replace("clicks", stream)
                        },
                        "responses": {"default": {"statusCode": "200", "responseParameters": cors}},
                    },
                }
            }
        },
    }


@pytest.mark.skipif(not HAS_FIREHOSE, reason="the Firehose provider is not registered")
def test_a_click_lands_in_s3_as_the_template_made_it(cloud):
    s3, firehose = cloud.client("s3"), cloud.client("firehose")
    s3.create_bucket(Bucket="clicks-destination")
    firehose.create_delivery_stream(
        DeliveryStreamName="clicks",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::clicks-destination",
            "Prefix": "firehose/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "CompressionFormat": "UNCOMPRESSED",
        },
    )
    wait_for(
        lambda: (
            firehose.describe_delivery_stream(DeliveryStreamName="clicks")[
                "DeliveryStreamDescription"
            ]["DeliveryStreamStatus"]
            == "ACTIVE"
        ),
        "the delivery stream to be active",
    )
    gateway = cloud.client("apigateway")
    api = gateway.import_rest_api(body=json.dumps(clicks_document("clicks")).encode())
    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    url = cloud.control(f"apigateway/{api['id']}/prod")["url"]

    click = {"userId": "guest", "mysfitId": "4e53920c-505a-4a90-a694-b9300791f0ae"}
    response = requests.put(f"{url}/clicks", json=click, timeout=30)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"RecordId", "Encrypted"}  # Firehose's answer, passed through
    assert response.headers["Access-Control-Allow-Methods"] == "OPTIONS, PUT"

    def delivered() -> list[str]:
        listed = s3.list_objects_v2(Bucket="clicks-destination", Prefix="firehose/")
        return [item["Key"] for item in listed.get("Contents", [])]

    keys = wait_for(delivered, "the click to be delivered to S3")
    body = s3.get_object(Bucket="clicks-destination", Key=keys[0])["Body"].read()
    assert body == json.dumps(click, separators=(",", ":")).encode()

    # a stream that does not exist: Firehose's 400, answered by the default response (200)
    gateway.put_rest_api(
        restApiId=api["id"], mode="overwrite", body=json.dumps(clicks_document("nope")).encode()
    )
    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    refused = requests.put(f"{url}/clicks", json=click, timeout=30)
    assert refused.status_code == 200
    assert refused.json()["__type"].endswith("ResourceNotFoundException")
