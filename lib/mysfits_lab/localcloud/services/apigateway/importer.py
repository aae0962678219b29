"""Creating an ``ApiDefinition`` in moto through its individual operations (CreateRestApi,
CreateResource, PutMethod, PutIntegration, PutGatewayResponse, ...): moto's own import cannot
take Swagger 2.0, MOCK integrations or authorizers, but its single operations record them all.

moto drops an integration's ``connectionId``: the ids are returned to the caller, which keeps
them (``models.ConnectionIds``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .definition import ApiDefinition

# moto's answer to one apigateway operation: (operation, **params) -> parsed output
Moto = Callable[..., dict[str, Any]]
# (resource id, HTTP method) -> VPC link id
Connections = dict[tuple[str, str], str]


def create_api(moto: Moto, definition: ApiDefinition) -> tuple[dict[str, Any], Connections]:
    """ImportRestApi: a new API with the definition (the RestApi and its VPC link ids);
    nothing is left behind if a step fails."""
    api = moto("CreateRestApi", **definition.create_params())
    try:
        connections = apply(moto, api["id"], definition, "overwrite")
    except Exception:
        moto("DeleteRestApi", restApiId=api["id"])
        raise
    return api, connections


def apply(moto: Moto, api_id: str, definition: ApiDefinition, mode: str) -> Connections:
    """PutRestApi: ``overwrite`` replaces the API's resources, methods, authorizers and gateway
    responses; ``merge`` adds to them (a method or response type defined again replaces the
    old one)."""
    if mode == "overwrite":
        _clear(moto, api_id)
    for kind, response in definition.gateway_responses.items():
        moto("PutGatewayResponse", restApiId=api_id, responseType=kind, **response.put_params())
    authorizers = _authorizers(moto, api_id, definition)
    resources = _resources(moto, api_id, sorted(definition.paths, key=_depth))
    connections: Connections = {}
    for path, methods in definition.paths.items():
        resource_id = resources[path]
        for verb, method in methods.items():
            base = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": verb}
            params: dict[str, Any] = base | {
                "authorizationType": method.authorization_type,
                "apiKeyRequired": method.api_key_required,
            }
            if method.authorizer is not None:
                params["authorizerId"] = authorizers[method.authorizer]
            if method.scopes:
                params["authorizationScopes"] = method.scopes
            if method.request_parameters:
                params["requestParameters"] = method.request_parameters
            if method.operation_name:
                params["operationName"] = method.operation_name
            moto("PutMethod", **params)
            for status, headers in method.responses.items():
                extra = {"responseParameters": headers} if headers else {}
                moto("PutMethodResponse", **base, statusCode=status, **extra)
            integration = method.integration
            if integration is None:
                continue
            moto("PutIntegration", **base, **integration.put_params())
            if integration.connection_id:
                connections[(resource_id, verb)] = integration.connection_id
            for response in integration.responses:
                moto("PutIntegrationResponse", **base, **response.put_params())
    return connections


def _depth(path: str) -> int:
    return 0 if path == "/" else path.count("/")


def _clear(moto: Moto, api_id: str) -> None:
    """Everything but the root resource (moto fails on an API without one) and its id:
    resources, methods, authorizers, gateway responses."""
    resources = moto("GetResources", restApiId=api_id, embed=["methods"]).get("items", [])
    # Deepest first: moto answers a deletion with the resource's path, read through its parents.
    for resource in sorted(resources, key=lambda r: _depth(r.get("path", "/")), reverse=True):
        if resource.get("path") == "/":
            for verb in resource.get("resourceMethods") or {}:
                moto("DeleteMethod", restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
        else:
            moto("DeleteResource", restApiId=api_id, resourceId=resource["id"])
    for authorizer in moto("GetAuthorizers", restApiId=api_id).get("items", []):
        moto("DeleteAuthorizer", restApiId=api_id, authorizerId=authorizer["id"])
    for response in moto("GetGatewayResponses", restApiId=api_id).get("items", []):
        moto("DeleteGatewayResponse", restApiId=api_id, responseType=response["responseType"])


def _authorizers(moto: Moto, api_id: str, definition: ApiDefinition) -> dict[str, str]:
    """Name -> id; an authorizer of the same name is kept (merge)."""
    existing = {
        a["name"]: a["id"] for a in moto("GetAuthorizers", restApiId=api_id).get("items", [])
    }
    ids = {}
    for name, spec in definition.authorizers.items():
        if name not in existing:
            existing[name] = moto("CreateAuthorizer", restApiId=api_id, **spec.create_params())[
                "id"
            ]
        ids[name] = existing[name]
    return ids


def _resources(moto: Moto, api_id: str, paths: list[str]) -> dict[str, str]:
    """Path -> resource id, creating the missing ones (parents first)."""
    known = {r["path"]: r["id"] for r in moto("GetResources", restApiId=api_id).get("items", [])}
    for path in paths:
        parts = path.split("/")[1:] if path != "/" else []
        current = ""
        for part in parts:
            parent = known[current or "/"]
            current = f"{current}/{part}"
            if current not in known:
                created = moto("CreateResource", restApiId=api_id, parentId=parent, pathPart=part)
                known[current] = created["id"]
    return known
