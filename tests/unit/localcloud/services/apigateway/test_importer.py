"""An API definition built in moto through its single operations (moto in-process), and a
deployment snapshot read back from it: what moto's own import cannot take — Swagger 2.0,
authorizers, MOCK integrations, VPC link ids — is all there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import xform_name
from moto import mock_aws

from mysfits_lab.localcloud.services.apigateway.importer import apply, create_api
from mysfits_lab.localcloud.services.apigateway.models import ApiSnapshot
from mysfits_lab.localcloud.services.apigateway.openapi import read_definition
from tests.unit.localcloud.services.apigateway.documents import (
    POOL_ARN,
    openapi3,
    workshop_swagger,
    workshop_swagger_text,
)


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


def _snapshot(moto: Any, api_id: str, connections: dict) -> ApiSnapshot:
    resources = moto("GetResources", restApiId=api_id, embed=["methods"])["items"]
    authorizers = moto("GetAuthorizers", restApiId=api_id)["items"]
    return ApiSnapshot.from_api(api_id, "us-east-1", "d1", resources, authorizers, connections)


def _methods(snapshot: ApiSnapshot) -> dict[str, Any]:
    return {
        f"{verb} {resource.path}": method
        for resource in snapshot.resources
        for verb, method in resource.methods.items()
    }


def test_the_workshops_api_is_created_whole(moto):
    api, links = create_api(moto, read_definition(workshop_swagger_text()))

    assert api["name"] == "MysfitsApi"
    snapshot = _snapshot(moto, api["id"], {(r, v): c for (r, v), c in links.items()})
    methods = _methods(snapshot)
    assert sorted(methods) == [
        "GET /",
        "GET /mysfits",
        "GET /mysfits/{mysfitId}",
        "OPTIONS /",
        "OPTIONS /mysfits",
        "OPTIONS /mysfits/{mysfitId}",
        "OPTIONS /mysfits/{mysfitId}/adopt",
        "OPTIONS /mysfits/{mysfitId}/like",
        "POST /mysfits/{mysfitId}/adopt",
        "POST /mysfits/{mysfitId}/like",
    ]
    (authorizer,) = snapshot.authorizers.values()
    assert (authorizer.type, authorizer.provider_arns) == ("COGNITO_USER_POOLS", (POOL_ARN,))
    like = methods["POST /mysfits/{mysfitId}/like"]
    assert (like.authorization_type, like.authorizer_id) == ("COGNITO_USER_POOLS", authorizer.id)
    assert like.integration.connection_type == "VPC_LINK"
    assert like.integration.connection_id == "abc123"  # moto forgot it; the records did not
    preflight = methods["OPTIONS /mysfits/{mysfitId}/like"]
    assert preflight.integration.type == "MOCK"
    (response,) = preflight.integration.responses
    assert response.parameters["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert snapshot.methods_without_integration() == []


def test_overwrite_replaces_and_merge_adds(moto):
    api, _ = create_api(moto, read_definition(json.dumps(openapi3())))
    api_id = api["id"]
    smaller = openapi3()
    del smaller["paths"]["/items/{id}/like"]
    smaller["paths"]["/items"].pop("options")

    apply(moto, api_id, read_definition(json.dumps(smaller)), "overwrite")
    assert sorted(_methods(_snapshot(moto, api_id, {}))) == ["GET /items", "GET /items/{id}"]
    root = [r for r in moto("GetResources", restApiId=api_id)["items"] if r["path"] == "/"]
    assert root and root[0]["id"] == api["rootResourceId"]  # the root resource stays

    extra = {
        "openapi": "3.0.1",
        "info": {"title": "ItemsApi"},
        "paths": {
            "/health": {
                "get": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {"default": {"statusCode": "200"}},
                    },
                }
            }
        },
    }
    apply(moto, api_id, read_definition(json.dumps(extra)), "merge")
    assert sorted(_methods(_snapshot(moto, api_id, {}))) == [
        "GET /health",
        "GET /items",
        "GET /items/{id}",
    ]


def test_overwrite_replaces_authorizers(moto):
    api, _ = create_api(moto, read_definition(json.dumps(workshop_swagger())))
    apply(moto, api["id"], read_definition(json.dumps(workshop_swagger())), "overwrite")
    assert len(moto("GetAuthorizers", restApiId=api["id"])["items"]) == 1


def test_a_failed_import_leaves_no_api_behind(moto):
    definition = read_definition(json.dumps(openapi3()))
    definition.paths["/items"]["GET"].authorizer = "missing"  # a step that cannot succeed
    with pytest.raises(KeyError):
        create_api(moto, definition)
    assert moto("GetRestApis").get("items", []) == []
