"""Gateway responses: read from ``x-amazon-apigateway-gateway-responses``, built in moto, frozen
in the deployment, and applied when API Gateway answers itself — a type's own configuration,
else DEFAULT_4XX / DEFAULT_5XX, else API Gateway's default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import xform_name
from moto import mock_aws
from werkzeug.test import Client

from mysfits_lab.localcloud.services.apigateway import gateway_responses
from mysfits_lab.localcloud.services.apigateway.answers import GatewayError
from mysfits_lab.localcloud.services.apigateway.authorizer import CognitoAuthorizer, Unauthorized
from mysfits_lab.localcloud.services.apigateway.gateway import StageGateway
from mysfits_lab.localcloud.services.apigateway.importer import apply, create_api
from mysfits_lab.localcloud.services.apigateway.integrations.base import Backends
from mysfits_lab.localcloud.services.apigateway.models import (
    ApiSnapshot,
    Authorizer,
    GatewayResponse,
    Integration,
    Method,
    Resource,
)
from mysfits_lab.localcloud.services.apigateway.openapi import InvalidDocument, read_definition
from tests.unit.localcloud.services.apigateway.documents import openapi3

from .builders import request

OWN = "http://127.0.0.1:5555"
ALLOWED_HEADERS = "'Content-Type,X-Amz-Date,Authorization,X-Api-Key'"


def cors(origin: str = OWN) -> dict[str, str]:
    """What the workbook renders for DEFAULT_4XX and DEFAULT_5XX."""
    return {
        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
        "gatewayresponse.header.Access-Control-Allow-Headers": ALLOWED_HEADERS,
    }


def _answer(kind: str, configured: dict[str, GatewayResponse], **error: Any) -> tuple:
    answer = gateway_responses.answer(GatewayError(kind, **error), configured, request())
    return answer.status, dict(answer.headers), json.loads(b"".join(answer.body))


# -- which configuration, which status ---------------------------------------------------------
def test_without_configuration_api_gateways_defaults():
    status, headers, body = _answer("UNAUTHORIZED", {})
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert not [h for h in headers if h.startswith("Access-Control")]


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("UNAUTHORIZED", 401, "Unauthorized"),
        ("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"),
        ("REQUEST_TOO_LARGE", 413, "Request Too Long"),
        ("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type"),
        ("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out"),
        ("API_CONFIGURATION_ERROR", 500, "Internal server error"),
    ],
)
def test_the_default_4xx_and_5xx_headers_apply_to_every_type_of_their_class(kind, status, message):
    configured = {
        "DEFAULT_4XX": GatewayResponse(parameters=cors()),
        "DEFAULT_5XX": GatewayResponse(parameters=cors()),
    }
    got_status, headers, body = _answer(kind, configured)
    assert (got_status, body) == (status, {"message": message})
    assert headers["Access-Control-Allow-Origin"] == OWN
    assert headers["Access-Control-Allow-Headers"] == ALLOWED_HEADERS.strip("'")


def test_a_4xx_fallback_does_not_dress_5xx_answers():
    _, headers, _ = _answer(
        "INTEGRATION_FAILURE", {"DEFAULT_4XX": GatewayResponse(parameters=cors())}
    )
    assert "Access-Control-Allow-Origin" not in headers


def test_a_lambda_proxys_502_is_a_default_5xx():
    configured = {"DEFAULT_5XX": GatewayResponse(parameters=cors())}
    status, headers, body = _answer(
        "DEFAULT_5XX", configured, message="Internal server error", status=502
    )
    assert (status, body) == (502, {"message": "Internal server error"})
    assert headers["Access-Control-Allow-Origin"] == OWN


def test_the_types_own_configuration_wins_over_the_fallback():
    configured = {
        "DEFAULT_4XX": GatewayResponse(status_code="418", parameters=cors()),
        "UNAUTHORIZED": GatewayResponse(
            parameters={"gatewayresponse.header.WWW-Authenticate": "'Bearer'"},
            templates={"application/json": '{"error": $context.error.messageString}'},
        ),
    }
    status, headers, body = _answer(
        "UNAUTHORIZED", configured, message="The incoming token has expired"
    )
    assert (status, body) == (401, {"error": "The incoming token has expired"})
    assert headers["WWW-Authenticate"] == "Bearer"
    assert "Access-Control-Allow-Origin" not in headers
    # the fallback's status changes the other 4XX types' status
    assert _answer("MISSING_AUTHENTICATION_TOKEN", configured)[0] == 418


def test_header_values_from_the_request_and_the_template_variables():
    configured = {
        "ACCESS_DENIED": GatewayResponse(
            status_code="403",
            parameters={
                "gatewayresponse.header.X-Echo": "method.request.header.X-Caller",
                "gatewayresponse.header.X-Query": "method.request.querystring.q",
                "gatewayresponse.header.X-Stage": "context.stage",
                "gatewayresponse.header.X-Var": "stageVariables.owner",
                "gatewayresponse.header.X-Missing": "method.request.header.Nope",
            },
            templates={
                "application/json": '{"type": "$context.error.responseType", '
                '"id": "$context.requestId", "owner": "$stageVariables.owner", '
                '"raw": "$context.error.message", "left": "$input.body #if(1)x#end"}'
            },
        )
    }
    req = request(
        headers=[("X-Caller", "ana")], query_string="q=1", stage_variables={"owner": "ops"}
    )
    answer = gateway_responses.answer(GatewayError("ACCESS_DENIED"), configured, req)
    headers = dict(answer.headers)
    assert (headers["X-Echo"], headers["X-Query"], headers["X-Stage"], headers["X-Var"]) == (
        "ana",
        "1",
        "prod",
        "ops",
    )
    assert "X-Missing" not in headers
    # not Velocity: only $context and $stageVariables are substituted
    assert json.loads(b"".join(answer.body)) == {
        "type": "ACCESS_DENIED",
        "id": req.request_id,
        "owner": "ops",
        "raw": "Forbidden",
        "left": "$input.body #if(1)x#end",
    }


def test_messages_are_json_escaped_in_message_string():
    status, _, body = _answer("BAD_REQUEST_BODY", {}, message='Could not parse "this"\n')
    assert (status, body) == (400, {"message": 'Could not parse "this"\n'})


# -- the API: defaults, patches, checks ----------------------------------------------------------
def test_an_unconfigured_types_description():
    assert gateway_responses.default_api("UNAUTHORIZED") == {
        "responseType": "UNAUTHORIZED",
        "defaultResponse": True,
        "statusCode": "401",
        "responseParameters": {},
        "responseTemplates": {"application/json": '{"message":$context.error.messageString}'},
    }
    assert "statusCode" not in gateway_responses.default_api("DEFAULT_4XX")
    assert len(gateway_responses.RESPONSE_TYPES) == 21


def test_update_patches():
    current = gateway_responses.default_api("DEFAULT_4XX")
    changed = gateway_responses.patched(
        current,
        [
            {"op": "replace", "path": "/statusCode", "value": "400"},
            {
                "op": "add",
                "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
                "value": "'*'",
            },
            {"op": "replace", "path": "/responseTemplates/application~1json", "value": "{}"},
        ],
    )
    assert changed == {
        "statusCode": "400",
        "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        "responseTemplates": {"application/json": "{}"},
    }
    with pytest.raises(ValueError):
        gateway_responses.patched(current, [{"op": "replace", "path": "/nope", "value": "1"}])
    with pytest.raises(ValueError):
        gateway_responses.patched(current, [{"op": "move", "path": "/statusCode"}])


@pytest.mark.parametrize(
    ("status", "parameters", "problem"),
    [
        ("600", {}, "Invalid status code"),
        ("abc", {}, "Invalid status code"),
        (None, {"method.response.header.X": "'a'"}, "gatewayresponse.header"),
        (None, {"gatewayresponse.header.X": "integration.response.body"}, "Invalid mapping"),
        (None, {"gatewayresponse.header.X": "unquoted"}, "Invalid mapping"),
    ],
)
def test_what_a_gateway_response_may_not_set(status, parameters, problem):
    found = gateway_responses.problems(status, parameters, None)
    assert found and problem in found[0]
    assert gateway_responses.problems("401", cors(), {"application/json": "{}"}) == []


# -- import ---------------------------------------------------------------------------------------
def test_the_extension_is_read_from_openapi_3_and_swagger_2():
    for document in (openapi3(), {"swagger": "2.0", "info": {"title": "S"}, "paths": {}}):
        document["x-amazon-apigateway-gateway-responses"] = {
            "DEFAULT_4XX": {"responseParameters": cors()},
            "UNAUTHORIZED": {
                "statusCode": 401,
                "responseTemplates": {"application/json": '{"m": $context.error.messageString}'},
            },
        }
        definition = read_definition(json.dumps(document))
        responses = definition.gateway_responses
        assert responses["DEFAULT_4XX"].parameters == cors()
        assert responses["UNAUTHORIZED"].status_code == "401"
        assert responses["UNAUTHORIZED"].put_params() == {
            "statusCode": "401",
            "responseTemplates": {"application/json": '{"m": $context.error.messageString}'},
        }


def test_invalid_gateway_responses_are_named():
    document = openapi3()
    document["x-amazon-apigateway-gateway-responses"] = {
        "NOT_A_TYPE": {},
        "DEFAULT_5XX": {"statusCode": "700"},
        "UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.X": "nonsense"}},
    }
    with pytest.raises(InvalidDocument) as refused:
        read_definition(json.dumps(document))
    errors = "\n".join(refused.value.errors)
    assert "gateway response NOT_A_TYPE" in errors
    assert "Invalid status code '700'" in errors
    assert "Invalid mapping expression specified: nonsense" in errors


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client(
            "apigateway", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )

        def call(operation: str, **params: Any) -> dict[str, Any]:
            answer = getattr(client, xform_name(operation))(**params)
            answer.pop("ResponseMetadata", None)
            return answer

        yield call


def test_imported_responses_are_in_moto_and_overwrite_replaces_them(moto):
    document = openapi3()
    document["x-amazon-apigateway-gateway-responses"] = {
        "DEFAULT_4XX": {"responseParameters": cors()},
        "DEFAULT_5XX": {"responseParameters": cors()},
    }
    api, _ = create_api(moto, read_definition(json.dumps(document)))
    listed = moto("GetGatewayResponses", restApiId=api["id"])["items"]
    assert {r["responseType"]: r["responseParameters"] for r in listed} == {
        "DEFAULT_4XX": cors(),
        "DEFAULT_5XX": cors(),
    }
    snapshot = ApiSnapshot.from_api(api["id"], "us-east-1", "d1", [], [], {}, listed)
    assert snapshot.gateway_responses["DEFAULT_5XX"].parameters == cors()

    document["x-amazon-apigateway-gateway-responses"] = {"UNAUTHORIZED": {"statusCode": "401"}}
    apply(moto, api["id"], read_definition(json.dumps(document)), "overwrite")
    listed = moto("GetGatewayResponses", restApiId=api["id"])["items"]
    assert [r["responseType"] for r in listed] == ["UNAUTHORIZED"]


# -- on a stage ----------------------------------------------------------------------------------
class RefusingCognito(CognitoAuthorizer):
    def __init__(self) -> None:
        pass

    def verify(self, authorizer, headers, scopes=()):
        raise Unauthorized()


def _stage(configured: dict[str, GatewayResponse]) -> Client:
    mock = Integration(type="MOCK")
    resources = (
        Resource(
            "r1",
            "/questions",
            {
                "POST": Method(
                    "POST",
                    authorization_type="COGNITO_USER_POOLS",
                    authorizer_id="a1",
                    integration=mock,
                )
            },
        ),
    )
    snapshot = ApiSnapshot(
        "api1",
        "us-east-1",
        "d1",
        resources,
        {"a1": Authorizer("a1", "Pool", "COGNITO_USER_POOLS")},
        configured,
    )
    backends = Backends(http=None, endpoints=None)  # type: ignore[arg-type]
    return Client(StageGateway("prod", snapshot, RefusingCognito(), backends, lambda o: o == OWN))


@pytest.mark.parametrize(
    ("origin", "granted"), [(OWN, True), (None, True), ("https://evil.example.com", False)]
)
def test_an_authorizers_401_carries_the_cors_headers_to_the_clouds_own_pages_only(origin, granted):
    client = _stage(
        {
            "DEFAULT_4XX": GatewayResponse(parameters=cors()),
            "DEFAULT_5XX": GatewayResponse(parameters=cors()),
        }
    )
    response = client.post("/prod/questions", headers={"Origin": origin} if origin else {})
    assert response.status_code == 401
    assert response.json == {"message": "Unauthorized"}
    assert ("Access-Control-Allow-Origin" in response.headers) is granted
    assert ("Access-Control-Allow-Headers" in response.headers) is granted
    unknown = client.get("/prod/nowhere", headers={"Origin": origin} if origin else {})
    assert unknown.status_code == 403
    assert ("Access-Control-Allow-Origin" in unknown.headers) is granted


def test_without_gateway_responses_a_401_has_no_cors_headers():
    response = _stage({}).post("/prod/questions", headers={"Origin": OWN})
    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response.headers
