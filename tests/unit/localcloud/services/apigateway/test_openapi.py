"""Reading API definitions as API Gateway's import reads them: both document versions, JSON and
YAML, and every problem named in one BadRequest message."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from mysfits_lab.localcloud.services.apigateway.openapi import InvalidDocument, read_definition
from tests.unit.localcloud.services.apigateway.documents import (
    POOL_ARN,
    openapi3,
    workshop_swagger,
    workshop_swagger_text,
)


def _errors(document: dict | str | bytes, parameters: dict | None = None) -> str:
    body = document if isinstance(document, str | bytes) else json.dumps(document)
    with pytest.raises(InvalidDocument) as raised:
        read_definition(body, parameters)
    return str(raised.value)


def test_the_workshops_swagger_document_is_read_whole():
    definition = read_definition(workshop_swagger_text())

    assert definition.title == "MysfitsApi"
    assert definition.warnings == []
    assert sorted(definition.paths) == [
        "/",
        "/mysfits",
        "/mysfits/{mysfitId}",
        "/mysfits/{mysfitId}/adopt",
        "/mysfits/{mysfitId}/like",
    ]
    authorizer = definition.authorizers["MysfitsUserPoolAuthorizer"]
    assert authorizer.type == "COGNITO_USER_POOLS"
    assert authorizer.provider_arns == [POOL_ARN]
    assert authorizer.identity_source == "method.request.header.Authorization"
    assert authorizer.auth_type == "cognito_user_pools"

    like = definition.paths["/mysfits/{mysfitId}/like"]["POST"]
    assert (like.authorization_type, like.authorizer) == (
        "COGNITO_USER_POOLS",
        "MysfitsUserPoolAuthorizer",
    )
    integration = like.integration
    assert integration is not None
    assert (integration.type, integration.http_method) == ("HTTP_PROXY", "POST")
    assert (integration.connection_type, integration.connection_id) == ("VPC_LINK", "abc123")
    assert integration.request_parameters == {
        "integration.request.path.mysfitId": "method.request.path.mysfitId"
    }
    # of the two "responses" keys in the document, the last one counts
    assert [r.status_code for r in integration.responses] == ["200"]


def test_the_workshops_preflights_are_mocks_without_parameters():
    definition = read_definition(json.dumps(workshop_swagger()))

    options = definition.paths["/mysfits/{mysfitId}"]["OPTIONS"]
    assert options.authorization_type == "NONE"
    assert options.request_parameters == {}
    assert options.integration is not None and options.integration.type == "MOCK"
    assert options.integration.request_templates == {"application/json": '{"statusCode": 200}'}
    assert options.integration.passthrough_behavior == "WHEN_NO_MATCH"
    (default,) = options.integration.responses
    assert default.selection_pattern is None
    assert default.parameters["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert default.templates == {"application/json": "{}"}
    assert options.responses["200"] == {
        "method.response.header.Access-Control-Allow-Headers": False,
        "method.response.header.Access-Control-Allow-Methods": False,
        "method.response.header.Access-Control-Allow-Origin": False,
    }


@pytest.mark.parametrize("version", [2.0, "2.0", 2])
def test_swagger_2_is_accepted_however_its_version_is_written(version):
    document = workshop_swagger()
    document["swagger"] = version
    assert read_definition(json.dumps(document)).title == "MysfitsApi"


def test_openapi_3_as_yaml():
    definition = read_definition(yaml.safe_dump(openapi3()))

    assert (definition.title, definition.version, definition.description) == (
        "ItemsApi",
        "2024-01-01",
        "items",
    )
    like = definition.paths["/items/{id}/like"]["POST"]
    assert like.authorizer == "ItemsPool"
    assert like.request_parameters == {"method.request.path.id": True}
    assert definition.paths["/items/{id}"]["GET"].integration.uri == (
        "http://127.0.0.1:8080/items/{id}"
    )


def test_integration_fields_are_read_case_insensitively():
    document = openapi3()
    integration = document["paths"]["/items"]["get"]["x-amazon-apigateway-integration"]
    integration.update(type="http_proxy", httpMethod="get", timeoutInMillis=5000)
    definition = read_definition(json.dumps(document))

    spec = definition.paths["/items"]["GET"].integration
    assert (spec.type, spec.http_method, spec.timeout_ms) == ("HTTP_PROXY", "GET", 5000)


def test_references_are_followed():
    document = openapi3()
    document["components"]["parameters"] = {"Id": {"name": "id", "in": "path", "required": True}}
    document["paths"]["/items/{id}"]["get"]["parameters"] = [{"$ref": "#/components/parameters/Id"}]
    definition = read_definition(json.dumps(document))

    assert definition.paths["/items/{id}"]["GET"].request_parameters == {
        "method.request.path.id": True
    }


def test_scopes_and_global_security():
    document = openapi3()
    document["security"] = [{"ItemsPool": ["items/write"]}]
    definition = read_definition(json.dumps(document))

    assert definition.paths["/items"]["GET"].scopes == ["items/write"]
    assert definition.paths["/items"]["GET"].authorization_type == "COGNITO_USER_POOLS"


def test_endpoint_types_and_base_path_parameters():
    document = workshop_swagger()
    document["basePath"] = "/v1"
    definition = read_definition(
        json.dumps(document), {"endpointConfigurationTypes": "REGIONAL", "basepath": "prepend"}
    )

    assert definition.endpoint_types == ["REGIONAL"]
    assert "/v1/mysfits/{mysfitId}" in definition.paths
    assert "/v1" in definition.paths


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("swagger"), "unsupported version (neither 'swagger' nor 'openapi')"),
        (lambda d: d.update(swagger="1.2"), "unsupported version (swagger: '1.2')"),
        (lambda d: d["info"].pop("title"), "info.title (the API's name) is required"),
        (
            lambda d: _integration(d).update(type="lambda"),
            "Invalid integration type 'lambda' on GET /mysfits",
        ),
        (
            lambda d: _integration(d).update(uri="mysfits-nlb/mysfits"),
            "Invalid HTTP endpoint specified for URI 'mysfits-nlb/mysfits' on GET /mysfits",
        ),
        (
            lambda d: _integration(d).pop("connectionId"),
            "connectionId must be set for a VPC_LINK integration on GET /mysfits",
        ),
        (
            lambda d: _integration(d).update(timeoutInMillis=30000),
            "Timeout should be between 50 ms and 29000 ms (on GET /mysfits)",
        ),
        (
            lambda d: _integration(d).update(httpMethod="FETCH"),
            "Enumeration value for HttpMethod must be non-empty on GET /mysfits",
        ),
        (
            lambda d: _integration(d).update(
                requestParameters={"integration.request.path.id": "method.request.path.id"}
            ),
            "Invalid mapping expression parameter specified: method.request.path.id",
        ),
        (
            lambda d: d["paths"]["/mysfits/{mysfitId}/like"]["post"].update(
                security=[{"NoSuchAuthorizer": []}]
            ),
            "Unable to find security scheme 'NoSuchAuthorizer' for POST /mysfits/{mysfitId}/like",
        ),
        (
            lambda d: d["securityDefinitions"]["MysfitsUserPoolAuthorizer"][
                "x-amazon-apigateway-authorizer"
            ].update(providerARNs=["arn:aws:cognito-idp:REPLACE_ME:REPLACE_ME:userpool/X"]),
            "is not a Cognito user pool ARN",
        ),
        (
            lambda d: d["paths"].update({"/mysfits/{name}": {}}),
            "Resources under /mysfits have several variable path parts ({mysfitId}, {name})",
        ),
        (lambda d: d["paths"].update({"mysfits": {}}), "Invalid path 'mysfits'"),
        (
            lambda d: d["paths"].update({"/a/{rest+}/b": {}}),
            "A greedy path part must be the last one",
        ),
        (
            lambda d: _integration(d).update(responses={"default": {"statusCode": "OK"}}),
            "statusCode must be an HTTP status code",
        ),
    ],
)
def test_invalid_documents_name_what_is_wrong(change, expected):
    document = workshop_swagger()
    change(document)
    message = _errors(document)
    assert message.startswith("Errors found during import:")
    assert expected in message


def test_every_problem_is_named_at_once():
    document = workshop_swagger()
    _integration(document).update(type="lambda")
    document["info"].pop("title")
    message = _errors(document)
    assert "info.title" in message and "'lambda'" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", "The API definition is empty"),
        ("[1, 2]", "the document is not an object"),
        ("key: [unclosed", "neither JSON nor YAML"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unreadable_bodies(body, expected):
    assert expected in _errors(body)


def test_an_operation_without_responses_is_a_warning():
    document = copy.deepcopy(openapi3())
    del document["paths"]["/items"]["get"]["responses"]
    definition = read_definition(json.dumps(document))
    assert definition.warnings == ["attribute responses is missing on GET /items"]


def _integration(document: dict) -> dict:
    return document["paths"]["/mysfits"]["get"]["x-amazon-apigateway-integration"]
