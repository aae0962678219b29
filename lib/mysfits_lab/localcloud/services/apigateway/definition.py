"""An API definition read from an OpenAPI 3 or Swagger 2.0 document, in API Gateway's own terms
(resources, methods, integrations, authorizers, gateway responses), ready to be created
operation by operation.

No I/O: ``openapi.py`` builds it, ``importer.py`` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class IntegrationResponseSpec:
    status_code: str
    selection_pattern: str | None = None  # None: the default response
    parameters: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    content_handling: str | None = None

    def put_params(self) -> dict[str, Any]:
        """PutIntegrationResponse's members (but the method's identifiers)."""
        params: dict[str, Any] = {"statusCode": self.status_code}
        if self.selection_pattern is not None:
            params["selectionPattern"] = self.selection_pattern
        if self.parameters:
            params["responseParameters"] = self.parameters
        if self.templates:
            params["responseTemplates"] = self.templates
        if self.content_handling:
            params["contentHandling"] = self.content_handling
        return params


@dataclass
class IntegrationSpec:
    type: str  # HTTP, HTTP_PROXY, MOCK, AWS, AWS_PROXY
    http_method: str | None = None
    uri: str | None = None
    connection_type: str = "INTERNET"
    connection_id: str | None = None
    credentials: str | None = None
    request_parameters: dict[str, str] = field(default_factory=dict)
    request_templates: dict[str, str] = field(default_factory=dict)
    passthrough_behavior: str | None = None
    content_handling: str | None = None
    timeout_ms: int | None = None
    cache_namespace: str | None = None
    cache_key_parameters: list[str] = field(default_factory=list)
    tls_config: dict[str, Any] | None = None
    responses: list[IntegrationResponseSpec] = field(default_factory=list)

    def put_params(self) -> dict[str, Any]:
        """PutIntegration's members (but the method's identifiers)."""
        params: dict[str, Any] = {"type": self.type}
        optional = {
            "integrationHttpMethod": self.http_method,
            "uri": self.uri,
            "connectionType": self.connection_type if self.connection_id else None,
            "connectionId": self.connection_id,
            "credentials": self.credentials,
            "requestParameters": self.request_parameters or None,
            "requestTemplates": self.request_templates or None,
            "passthroughBehavior": self.passthrough_behavior,
            "contentHandling": self.content_handling,
            "timeoutInMillis": self.timeout_ms,
            "cacheNamespace": self.cache_namespace,
            "cacheKeyParameters": self.cache_key_parameters or None,
            "tlsConfig": self.tls_config,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        return params


@dataclass
class MethodSpec:
    http_method: str  # GET, POST, ..., ANY
    authorization_type: str = "NONE"  # NONE, COGNITO_USER_POOLS, CUSTOM, AWS_IAM
    authorizer: str | None = None  # the name of an AuthorizerSpec
    scopes: list[str] = field(default_factory=list)
    api_key_required: bool = False
    operation_name: str | None = None
    request_parameters: dict[str, bool] = field(default_factory=dict)
    responses: dict[str, dict[str, bool]] = field(default_factory=dict)  # status -> headers
    integration: IntegrationSpec | None = None


@dataclass
class AuthorizerSpec:
    name: str
    type: str  # COGNITO_USER_POOLS, TOKEN, REQUEST
    provider_arns: list[str] = field(default_factory=list)
    auth_type: str | None = None
    identity_source: str | None = None
    identity_validation_expression: str | None = None
    result_ttl: int | None = None
    authorizer_uri: str | None = None
    authorizer_credentials: str | None = None

    def create_params(self) -> dict[str, Any]:
        """CreateAuthorizer's members (but the API's id)."""
        optional = {
            "providerARNs": self.provider_arns or None,
            "authType": self.auth_type,
            "identitySource": self.identity_source,
            "identityValidationExpression": self.identity_validation_expression,
            "authorizerResultTtlInSeconds": self.result_ttl,
            "authorizerUri": self.authorizer_uri,
            "authorizerCredentials": self.authorizer_credentials,
        }
        return {"name": self.name, "type": self.type} | {
            k: v for k, v in optional.items() if v is not None
        }


@dataclass
class GatewayResponseSpec:
    status_code: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)

    def put_params(self) -> dict[str, Any]:
        """PutGatewayResponse's members (but the API's id and the response type)."""
        optional = {
            "statusCode": self.status_code,
            "responseParameters": self.parameters or None,
            "responseTemplates": self.templates or None,
        }
        return {k: v for k, v in optional.items() if v is not None}


@dataclass
class ApiDefinition:
    title: str
    description: str | None = None
    version: str | None = None
    # resource path ("/", "/mysfits/{mysfitId}") -> HTTP method -> method
    paths: dict[str, dict[str, MethodSpec]] = field(default_factory=dict)
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    # response type ("DEFAULT_4XX") -> x-amazon-apigateway-gateway-responses' configuration
    gateway_responses: dict[str, GatewayResponseSpec] = field(default_factory=dict)
    binary_media_types: list[str] = field(default_factory=list)
    api_key_source: str | None = None
    endpoint_types: list[str] = field(default_factory=list)
    policy: str | None = None
    minimum_compression_size: int | None = None
    warnings: list[str] = field(default_factory=list)

    def create_params(self) -> dict[str, Any]:
        """CreateRestApi's members."""
        optional = {
            "description": self.description,
            "version": self.version,
            "binaryMediaTypes": self.binary_media_types or None,
            "apiKeySource": self.api_key_source,
            "endpointConfiguration": {"types": self.endpoint_types}
            if self.endpoint_types
            else None,
            "policy": self.policy,
            "minimumCompressionSize": self.minimum_compression_size,
        }
        return {"name": self.title} | {k: v for k, v in optional.items() if v is not None}
