"""The security of an imported API definition (``openapi.py`` reads the rest): its security
schemes — ``x-amazon-apigateway-authorizer`` ones become the API's authorizers — and, per method,
the authorization its ``security`` requirements give it: a Cognito or custom authorizer, IAM
(``x-amazon-apigateway-authtype: awsSigv4``) or a required API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .definition import ApiDefinition, MethodSpec
from .extensions import AUTHORIZER, AUTHTYPE, Problems, read_authorizer


def security_schemes(
    document: dict[str, Any],
    version: str,
    resolve: Callable[[Any, str], Any],
    definition: ApiDefinition,
    problems: Problems,
) -> dict[str, dict[str, Any]]:
    """The document's security schemes by name (``$ref``s resolved); those with an authorizer
    are added to the definition's authorizers."""
    if version == "swagger2":
        schemes = document.get("securityDefinitions") or {}
    else:
        components = document.get("components") or {}
        schemes = components.get("securitySchemes") if isinstance(components, dict) else {}
        schemes = {} if schemes is None else schemes
    if not isinstance(schemes, dict):
        problems.error("Invalid security schemes: expected an object")
        return {}
    resolved = {}
    for name, scheme in schemes.items():
        scheme = resolve(scheme, f"security scheme {name}")
        if not isinstance(scheme, dict):
            continue
        resolved[str(name)] = scheme
        if AUTHORIZER in scheme:
            authorizer = read_authorizer(str(name), scheme, problems)
            if authorizer is not None:
                definition.authorizers[str(name)] = authorizer
    return resolved


def apply_security(
    method: MethodSpec,
    requirements: Any,
    schemes: dict[str, dict[str, Any]],
    where: str,
    problems: Problems,
) -> None:
    """The method's authorization from its ``security`` requirements (else the document's)."""
    if not requirements:
        return
    if not isinstance(requirements, list):
        problems.error(f"Invalid security on {where}: expected a list")
        return
    for requirement in requirements:
        if not isinstance(requirement, dict):
            problems.error(f"Invalid security requirement on {where}")
            continue
        for name, scopes in requirement.items():
            scheme = schemes.get(str(name))
            if scheme is None:
                problems.error(f"Unable to find security scheme {name!r} for {where}")
                continue
            _apply_scheme(method, str(name), scheme, scopes, where, problems)


def _apply_scheme(
    method: MethodSpec,
    name: str,
    scheme: dict[str, Any],
    scopes: Any,
    where: str,
    problems: Problems,
) -> None:
    authorizer = scheme.get(AUTHORIZER)
    if isinstance(authorizer, dict):
        kind = str(authorizer.get("type", "")).lower()
        method.authorization_type = (
            "COGNITO_USER_POOLS" if kind == "cognito_user_pools" else "CUSTOM"
        )
        method.authorizer = name
        if kind == "cognito_user_pools" and isinstance(scopes, list):
            method.scopes = [str(s) for s in scopes]
    elif str(scheme.get(AUTHTYPE, "")).lower() == "awssigv4":
        method.authorization_type = "AWS_IAM"
    elif (
        scheme.get("type") == "apiKey"
        and str(scheme.get("name", "")).lower() == "x-api-key"
        and scheme.get("in", "header") == "header"
    ):
        method.api_key_required = True
    else:
        problems.warn(f"Security scheme {name!r} on {where} is not one API Gateway uses")
