"""What a stage serves: the API as it was when it was deployed (resources, methods,
integrations, authorizers, gateway responses, binary media types), read from moto's answers
and frozen, so later changes need a new deployment as on AWS. Also the VPC link ids moto
forgets. No I/O here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

DEFAULT_TIMEOUT_MS = 29_000
DEFAULT_IDENTITY_SOURCE = "method.request.header.Authorization"


def _frozen(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class MappedResponse:
    """An integration response: which backend status it answers, and how."""

    status_code: str
    selection_pattern: str | None
    parameters: Mapping[str, str]
    templates: Mapping[str, str | None]

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> MappedResponse:
        return cls(
            status_code=str(data.get("statusCode", "200")),
            selection_pattern=data.get("selectionPattern") or None,
            parameters=_frozen(data.get("responseParameters")),
            templates=_frozen(data.get("responseTemplates")),
        )


@dataclass(frozen=True)
class Integration:
    type: str
    http_method: str | None = None
    uri: str | None = None
    connection_type: str = "INTERNET"
    connection_id: str | None = None
    request_parameters: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    request_templates: Mapping[str, str | None] = field(default_factory=lambda: _frozen({}))
    passthrough_behavior: str = "WHEN_NO_MATCH"
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    credentials: str | None = None
    responses: tuple[MappedResponse, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any], connection_id: str | None = None) -> Integration:
        responses = data.get("integrationResponses") or {}
        return cls(
            type=str(data.get("type", "")).upper(),
            http_method=data.get("httpMethod"),
            uri=data.get("uri"),
            connection_type=data.get("connectionType") or "INTERNET",
            connection_id=data.get("connectionId") or connection_id,
            request_parameters=_frozen(data.get("requestParameters")),
            request_templates=_frozen(data.get("requestTemplates")),
            passthrough_behavior=data.get("passthroughBehavior") or "WHEN_NO_MATCH",
            timeout_ms=int(data.get("timeoutInMillis") or DEFAULT_TIMEOUT_MS),
            credentials=data.get("credentials"),
            responses=tuple(MappedResponse.from_api(r) for r in responses.values()),
        )


@dataclass(frozen=True)
class Method:
    http_method: str
    authorization_type: str = "NONE"
    authorizer_id: str | None = None
    scopes: tuple[str, ...] = ()
    api_key_required: bool = False
    request_parameters: Mapping[str, bool] = field(default_factory=lambda: _frozen({}))
    integration: Integration | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any], connection_id: str | None = None) -> Method:
        integration = data.get("methodIntegration")
        return cls(
            http_method=data["httpMethod"],
            authorization_type=data.get("authorizationType") or "NONE",
            authorizer_id=data.get("authorizerId"),
            scopes=tuple(data.get("authorizationScopes") or ()),
            api_key_required=bool(data.get("apiKeyRequired")),
            request_parameters=_frozen(data.get("requestParameters")),
            integration=Integration.from_api(integration, connection_id) if integration else None,
        )


@dataclass(frozen=True)
class Resource:
    id: str
    path: str
    methods: Mapping[str, Method]


@dataclass(frozen=True)
class Authorizer:
    id: str
    name: str
    type: str
    provider_arns: tuple[str, ...] = ()
    identity_source: str = DEFAULT_IDENTITY_SOURCE
    identity_validation_expression: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Authorizer:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            type=data.get("type", ""),
            provider_arns=tuple(data.get("providerARNs") or ()),
            identity_source=data.get("identitySource") or DEFAULT_IDENTITY_SOURCE,
            identity_validation_expression=data.get("identityValidationExpression"),
        )

    @property
    def header(self) -> str:
        """The request header holding the token (``method.request.header.<name>``)."""
        source = self.identity_source.split(",")[0].strip()
        return source.removeprefix("method.request.header.")


@dataclass(frozen=True)
class GatewayResponse:
    """An API's configuration of one gateway response type (PutGatewayResponse)."""

    status_code: str | None = None
    parameters: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    templates: Mapping[str, str] = field(default_factory=lambda: _frozen({}))

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> GatewayResponse:
        return cls(
            status_code=str(data["statusCode"]) if data.get("statusCode") else None,
            parameters=_frozen(data.get("responseParameters")),
            templates=_frozen(data.get("responseTemplates")),
        )


@dataclass(frozen=True)
class ApiSnapshot:
    """One deployment of an API."""

    api_id: str
    region: str
    deployment_id: str
    resources: tuple[Resource, ...]
    authorizers: Mapping[str, Authorizer]
    # response type -> the API's configuration of it (the types it customized only)
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=lambda: _frozen({}))
    binary_media_types: tuple[str, ...] = ()

    @classmethod
    def from_api(
        cls,
        api_id: str,
        region: str,
        deployment_id: str,
        resources: list[dict[str, Any]],
        authorizers: list[dict[str, Any]],
        connections: Mapping[tuple[str, str], str],
        gateway_responses: Sequence[dict[str, Any]] = (),
        binary_media_types: Sequence[str] = (),
    ) -> ApiSnapshot:
        """From GetResources (embed methods), GetAuthorizers and GetGatewayResponses answers,
        plus the VPC link ids by (resource id, method)."""
        built = []
        for data in resources:
            methods = {
                verb: Method.from_api(method, connections.get((data["id"], verb)))
                for verb, method in (data.get("resourceMethods") or {}).items()
            }
            built.append(Resource(data["id"], data["path"], _frozen(methods)))
        return cls(
            api_id=api_id,
            region=region,
            deployment_id=deployment_id,
            resources=tuple(built),
            authorizers=_frozen({a["id"]: Authorizer.from_api(a) for a in authorizers}),
            gateway_responses=_frozen(
                {r["responseType"]: GatewayResponse.from_api(r) for r in gateway_responses}
            ),
            binary_media_types=tuple(binary_media_types),
        )

    def methods_without_integration(self) -> list[str]:
        return [
            f"{verb} {resource.path}"
            for resource in self.resources
            for verb, method in resource.methods.items()
            if method.integration is None
        ]


class ConnectionIds:
    """VPC link ids of integrations, by (API, resource, method): moto does not keep them."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def set(self, api_id: str, resource_id: str, verb: str, connection_id: str | None) -> None:
        with self._lock:
            if connection_id:
                self._ids[(api_id, resource_id, verb)] = connection_id
            else:
                self._ids.pop((api_id, resource_id, verb), None)

    def get(self, api_id: str, resource_id: str, verb: str) -> str | None:
        with self._lock:
            return self._ids.get((api_id, resource_id, verb))

    def of_api(self, api_id: str) -> dict[tuple[str, str], str]:
        with self._lock:
            return {(r, v): c for (a, r, v), c in self._ids.items() if a == api_id}

    def forget(self, api_id: str, resource_id: str | None = None, verb: str | None = None) -> None:
        """An API's ids, a resource's or a method's."""
        with self._lock:
            for key in list(self._ids):
                a, r, v = key
                if a == api_id and resource_id in (None, r) and verb in (None, v):
                    del self._ids[key]
