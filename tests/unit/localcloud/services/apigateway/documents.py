"""API definitions for the tests: one shaped like the workshop's module-4 ``api-swagger.json``
(Swagger 2.0 with ``"swagger": 2.0`` a number, a Cognito authorizer, VPC link HTTP_PROXY
integrations, MOCK CORS preflights whose OPTIONS declare no parameters), and an OpenAPI 3 one."""

from __future__ import annotations

import copy
import json
from typing import Any

POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc123"
NLB = "http://mysfits-nlb-0123456789.elb.us-east-1.amazonaws.com"
CORS_HEADERS = {
    "Access-Control-Allow-Headers": {"type": "string"},
    "Access-Control-Allow-Methods": {"type": "string"},
    "Access-Control-Allow-Origin": {"type": "string"},
}
CORS_VALUES = {
    "method.response.header.Access-Control-Allow-Headers": (
        "'Content-Type,X-Amz-Date,Authorization,X-Api-Key'"
    ),
    "method.response.header.Access-Control-Allow-Methods": "'*'",
    "method.response.header.Access-Control-Allow-Origin": "'*'",
}
MYSFIT_ID = [{"name": "mysfitId", "in": "path", "required": True, "type": "string"}]


def _proxy(method: str, path: str, mapped: bool) -> dict[str, Any]:
    integration: dict[str, Any] = {
        "type": "http_proxy",
        "httpMethod": method,
        "uri": f"{NLB}{path}",
        "connectionType": "VPC_LINK",
        "connectionId": "abc123",
        "responses": {"default": {"statusCode": "200", "responseParameters": CORS_VALUES}},
    }
    if mapped:
        integration["requestParameters"] = {
            "integration.request.path.mysfitId": "method.request.path.mysfitId"
        }
    return integration


def _preflight() -> dict[str, Any]:
    return {
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "responses": {"200": {"description": "200 response", "headers": CORS_HEADERS}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "passthroughBehavior": "when_no_match",
            "responses": {
                "default": {
                    "statusCode": "200",
                    "responseParameters": CORS_VALUES,
                    "responseTemplates": {"application/json": "{}"},
                }
            },
        },
    }


def _operation(method: str, path: str, secured: bool) -> dict[str, Any]:
    mapped = "{mysfitId}" in path
    operation: dict[str, Any] = {
        "produces": ["application/json"],
        "responses": {"200": {"description": "200 response", "headers": CORS_HEADERS}},
        "x-amazon-apigateway-integration": _proxy(method.upper(), path, mapped),
    }
    if mapped:
        operation["parameters"] = copy.deepcopy(MYSFIT_ID)
    if secured:
        operation["security"] = [{"MysfitsUserPoolAuthorizer": []}]
        # the workshop's own sloppiness: a stray security list inside the integration
        operation["x-amazon-apigateway-integration"]["security"] = [
            {"MysfitsUserPoolAuthorizer": []}
        ]
    return operation


def workshop_swagger(pool_arn: str = POOL_ARN) -> dict[str, Any]:
    return {
        "swagger": 2.0,
        "info": {"title": "MysfitsApi"},
        "schemes": ["https"],
        "paths": {
            "/": {"get": _operation("get", "/", False), "options": _preflight()},
            "/mysfits": {"get": _operation("get", "/mysfits", False), "options": _preflight()},
            "/mysfits/{mysfitId}": {
                "get": _operation("get", "/mysfits/{mysfitId}", False),
                "options": _preflight(),
            },
            "/mysfits/{mysfitId}/adopt": {
                "post": _operation("post", "/mysfits/{mysfitId}/adopt", True),
                "options": _preflight(),
            },
            "/mysfits/{mysfitId}/like": {
                "post": _operation("post", "/mysfits/{mysfitId}/like", True),
                "options": _preflight(),
            },
        },
        "securityDefinitions": {
            "MysfitsUserPoolAuthorizer": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {
                    "type": "cognito_user_pools",
                    "providerARNs": [pool_arn],
                },
            }
        },
    }


def workshop_swagger_text() -> str:
    """As JSON text, with the workshop's duplicate ``responses`` key in the like integration
    (JSON readers keep the last one, as API Gateway does)."""
    text = json.dumps(workshop_swagger(), indent=2)
    marker = '"type": "http_proxy",\n          "httpMethod": "POST",\n          "uri": "'
    marker += NLB + '/mysfits/{mysfitId}/like"'
    assert marker in text
    return text.replace(marker, '"responses": {"default": {"statusCode": "500"}},\n' + marker)


def openapi3(backend: str = "http://127.0.0.1:8080", pool_arn: str = POOL_ARN) -> dict[str, Any]:
    """An OpenAPI 3 API over an INTERNET HTTP backend: items, one protected POST, a preflight."""
    item_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

    def proxy(method: str, path: str) -> dict[str, Any]:
        integration = {"type": "HTTP_PROXY", "httpMethod": method, "uri": f"{backend}{path}"}
        if "{id}" in path:
            integration["requestParameters"] = {
                "integration.request.path.id": "method.request.path.id"
            }
        return integration

    ok = {"200": {"description": "ok"}}
    return {
        "openapi": "3.0.1",
        "info": {"title": "ItemsApi", "version": "2024-01-01", "description": "items"},
        "paths": {
            "/items": {
                "get": {"responses": ok, "x-amazon-apigateway-integration": proxy("GET", "/items")},
                "options": {
                    "responses": {
                        "200": {
                            "description": "preflight",
                            "headers": {
                                "Access-Control-Allow-Origin": {"schema": {"type": "string"}},
                                "Access-Control-Allow-Methods": {"schema": {"type": "string"}},
                            },
                        }
                    },
                    "x-amazon-apigateway-integration": {
                        "type": "MOCK",
                        "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {
                            "default": {
                                "statusCode": "200",
                                "responseParameters": {
                                    "method.response.header.Access-Control-Allow-Origin": "'*'",
                                    "method.response.header.Access-Control-Allow-Methods": (
                                        "'GET,POST,OPTIONS'"
                                    ),
                                },
                                "responseTemplates": {"application/json": "{}"},
                            }
                        },
                    },
                },
            },
            "/items/{id}": {
                "get": {
                    "parameters": item_id,
                    "responses": ok,
                    "x-amazon-apigateway-integration": proxy("GET", "/items/{id}"),
                }
            },
            "/items/{id}/like": {
                "post": {
                    "parameters": item_id,
                    "security": [{"ItemsPool": []}],
                    "responses": ok,
                    "x-amazon-apigateway-integration": proxy("POST", "/items/{id}/like"),
                }
            },
        },
        "components": {
            "securitySchemes": {
                "ItemsPool": {
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
    }
