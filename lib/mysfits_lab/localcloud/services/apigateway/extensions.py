"""API Gateway's OpenAPI extensions: ``x-amazon-apigateway-integration``,
``x-amazon-apigateway-authorizer`` (with ``x-amazon-apigateway-authtype``) and
``x-amazon-apigateway-gateway-responses``, read and checked as API Gateway checks them on
import. Problems are collected, not raised, so one answer names all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .definition import (
    AuthorizerSpec,
    GatewayResponseSpec,
    IntegrationResponseSpec,
    IntegrationSpec,
)
from .gateway_responses import RESPONSE_TYPES
from .gateway_responses import problems as gateway_response_problems

INTEGRATION = "x-amazon-apigateway-integration"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
AUTHORIZER = "x-amazon-apigateway-authorizer"
AUTHTYPE = "x-amazon-apigateway-authtype"

INTEGRATION_TYPES = ("HTTP", "HTTP_PROXY", "MOCK", "AWS", "AWS_PROXY")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY")
PASSTHROUGH = ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER")
CONTENT_HANDLING = ("CONVERT_TO_BINARY", "CONVERT_TO_TEXT")
AUTHORIZER_TYPES = {
    "cognito_user_pools": "COGNITO_USER_POOLS",
    "token": "TOKEN",
    "request": "REQUEST",
}
TIMEOUT_RANGE = (50, 29_000)  # API Gateway's integration timeout bounds, in ms

_SERVICE_ARN = re.compile(r"^arn:aws[\w-]*:apigateway:[a-z0-9-]+:[\w.-]+:(path|action)/\S+$")
_USER_POOL_ARN = re.compile(r"^arn:aws[\w-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_\w+$")
_TARGET = re.compile(
    r"^integration\.request\.(path|querystring|header|multivaluequerystring|multivalueheader)"
    r"\.[^\s.][^\s]*$"
)
_SOURCE = re.compile(
    r"^method\.request\.(path|querystring|header|multivaluequerystring|multivalueheader)"
    r"\.([^\s]+)$"
)
_OTHER_SOURCES = re.compile(
    r"^('[^']*'|stageVariables\.\w+|context\.[\w.]+|method\.request\.body(\.\S+)?)$"
)
_STATUS = re.compile(r"^[1-5]\d\d$")
_RESPONSE_TARGET = re.compile(r"^method\.response\.header\.[^\s]+$")


@dataclass
class Problems:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _text(value: Any) -> str | None:
    """A scalar as API Gateway reads it (YAML may give numbers where strings are meant)."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _string_map(value: Any, where: str, problems: Problems) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.error(f"{where} must be a map of strings")
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def read_integration(
    data: Any, where: str, path_variables: set[str], declared: set[str], problems: Problems
) -> IntegrationSpec | None:
    """``x-amazon-apigateway-integration`` of the method at ``where`` ("GET /mysfits/{id}").
    ``path_variables``: the resource path's variables; ``declared``: the method request
    parameters (``method.request.querystring.filter``, ...)."""
    if not isinstance(data, dict):
        problems.error(f"Invalid integration on {where}: {INTEGRATION} must be an object")
        return None
    kind = (_text(data.get("type")) or "").upper()
    if kind not in INTEGRATION_TYPES:
        problems.error(
            f"Invalid integration type {data.get('type')!r} on {where}: expected one of "
            f"{', '.join(t.lower() for t in INTEGRATION_TYPES)}"
        )
        return None
    spec = IntegrationSpec(type=kind)
    method = (_text(data.get("httpMethod")) or "").upper() or None
    if kind != "MOCK":
        if method not in HTTP_METHODS:
            problems.error(f"Enumeration value for HttpMethod must be non-empty on {where}")
        spec.http_method = method
        spec.uri = _uri(data.get("uri"), kind, where, problems)
    connection = (_text(data.get("connectionType")) or "INTERNET").upper()
    if connection not in ("INTERNET", "VPC_LINK"):
        problems.error(f"Invalid connectionType {connection!r} on {where}")
    spec.connection_type = connection
    if connection == "VPC_LINK":
        spec.connection_id = _text(data.get("connectionId"))
        if not spec.connection_id:
            problems.error(f"connectionId must be set for a VPC_LINK integration on {where}")
    spec.credentials = _text(data.get("credentials"))
    spec.request_parameters = _string_map(
        data.get("requestParameters"), f"requestParameters on {where}", problems
    )
    _check_mappings(spec.request_parameters, where, path_variables, declared, problems)
    spec.request_templates = _string_map(
        data.get("requestTemplates"), f"requestTemplates on {where}", problems
    )
    spec.passthrough_behavior = _choice(
        data.get("passthroughBehavior"), PASSTHROUGH, "passthroughBehavior", where, problems
    )
    spec.content_handling = _choice(
        data.get("contentHandling"), CONTENT_HANDLING, "contentHandling", where, problems
    )
    spec.timeout_ms = _timeout(data.get("timeoutInMillis"), where, problems)
    spec.cache_namespace = _text(data.get("cacheNamespace"))
    keys = data.get("cacheKeyParameters")
    spec.cache_key_parameters = [str(k) for k in keys] if isinstance(keys, list) else []
    if isinstance(data.get("tlsConfig"), dict):
        spec.tls_config = data["tlsConfig"]
    spec.responses = _responses(data.get("responses"), where, problems)
    return spec


def _uri(value: Any, kind: str, where: str, problems: Problems) -> str | None:
    uri = _text(value)
    if not uri:
        problems.error(f"Invalid integration URI on {where}: a {kind} integration needs a uri")
        return None
    if kind in ("HTTP", "HTTP_PROXY"):
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.error(f"Invalid HTTP endpoint specified for URI {uri!r} on {where}")
    elif not _SERVICE_ARN.match(uri):
        problems.error(
            f"Invalid ARN specified in the request: {uri!r} on {where} (expected "
            "arn:aws:apigateway:<region>:<service>:action/<Action> or .../path/<path>)"
        )
    return uri


def _choice(value: Any, allowed: tuple[str, ...], name: str, where: str, problems: Problems):
    if value is None:
        return None
    text = (_text(value) or "").upper()
    if text not in allowed:
        problems.error(f"Invalid {name} {value!r} on {where}: expected one of {', '.join(allowed)}")
        return None
    return text


def _timeout(value: Any, where: str, problems: Problems) -> int | None:
    if value is None:
        return None
    try:
        millis = int(str(value))
    except ValueError:
        millis = -1
    low, high = TIMEOUT_RANGE
    if not low <= millis <= high:
        problems.error(f"Timeout should be between {low} ms and {high} ms (on {where})")
        return None
    return millis


def _check_mappings(
    mappings: dict[str, str],
    where: str,
    path_variables: set[str],
    declared: set[str],
    problems: Problems,
) -> None:
    for target, source in mappings.items():
        if not _TARGET.match(target):
            problems.error(f"Invalid mapping expression specified: {target} (on {where})")
            continue
        found = _SOURCE.match(source)
        if found is None:
            if not _OTHER_SOURCES.match(source):
                problems.error(f"Invalid mapping expression specified: {source} (on {where})")
            continue
        location, name = found.groups()
        known = (location == "path" and name in path_variables) or source in declared
        if not known:
            problems.error(
                "Invalid mapping expression specified: Validation Result: warnings : [], errors "
                f": [Invalid mapping expression parameter specified: {source}] (on {where})"
            )


def _responses(data: Any, where: str, problems: Problems) -> list[IntegrationResponseSpec]:
    if data is None:
        return []
    if not isinstance(data, dict):
        problems.error(f"Invalid integration responses on {where}: expected a map")
        return []
    found = []
    for pattern, response in data.items():
        if not isinstance(response, dict):
            problems.error(f"Invalid integration response {pattern!r} on {where}")
            continue
        status = _text(response.get("statusCode"))
        if not status or not _STATUS.match(status):
            problems.error(
                f"Invalid integration response {pattern!r} on {where}: statusCode must be an "
                "HTTP status code"
            )
            continue
        parameters = _string_map(
            response.get("responseParameters"), f"responseParameters on {where}", problems
        )
        for target in parameters:
            if not _RESPONSE_TARGET.match(target):
                problems.error(f"Invalid mapping expression specified: {target} (on {where})")
        found.append(
            IntegrationResponseSpec(
                status_code=status,
                selection_pattern=None if str(pattern) == "default" else str(pattern),
                parameters=parameters,
                templates=_string_map(
                    response.get("responseTemplates"), f"responseTemplates on {where}", problems
                ),
                content_handling=_choice(
                    response.get("contentHandling"),
                    CONTENT_HANDLING,
                    "contentHandling",
                    where,
                    problems,
                ),
            )
        )
    return found


def read_authorizer(name: str, scheme: dict[str, Any], problems: Problems) -> AuthorizerSpec | None:
    """The authorizer of a security scheme that has ``x-amazon-apigateway-authorizer``."""
    data = scheme.get(AUTHORIZER)
    if not isinstance(data, dict):
        problems.error(f"Invalid authorizer {name!r}: {AUTHORIZER} must be an object")
        return None
    kind = AUTHORIZER_TYPES.get((_text(data.get("type")) or "").lower())
    if kind is None:
        problems.error(
            f"Invalid authorizer {name!r}: type {data.get('type')!r} is not one of "
            "cognito_user_pools, token, request"
        )
        return None
    spec = AuthorizerSpec(name=name, type=kind, auth_type=_text(scheme.get(AUTHTYPE)))
    header = _text(scheme.get("name")) if scheme.get("in", "header") == "header" else None
    spec.identity_source = _text(data.get("identitySource")) or (
        f"method.request.header.{header or 'Authorization'}" if kind != "REQUEST" else None
    )
    spec.identity_validation_expression = _text(data.get("identityValidationExpression"))
    ttl = data.get("authorizerResultTtlInSeconds")
    if ttl is not None:
        try:
            spec.result_ttl = int(str(ttl))
        except ValueError:
            spec.result_ttl = -1
        if not 0 <= spec.result_ttl <= 3600:
            problems.error(f"Invalid authorizer {name!r}: authorizerResultTtlInSeconds 0-3600")
    if kind == "COGNITO_USER_POOLS":
        arns = data.get("providerARNs")
        if not isinstance(arns, list) or not arns:
            problems.error(f"Invalid authorizer {name!r}: providerARNs must list user pools")
            return None
        for arn in arns:
            if not _USER_POOL_ARN.match(str(arn)):
                problems.error(
                    f"Invalid authorizer {name!r}: {arn!r} is not a Cognito user pool ARN "
                    "(arn:aws:cognito-idp:<region>:<account>:userpool/<pool id>)"
                )
        spec.provider_arns = [str(a) for a in arns]
    else:
        spec.authorizer_uri = _text(data.get("authorizerUri"))
        spec.authorizer_credentials = _text(data.get("authorizerCredentials"))
        if not spec.authorizer_uri:
            problems.error(f"Invalid authorizer {name!r}: authorizerUri is required")
    return spec


def read_gateway_responses(data: Any, problems: Problems) -> dict[str, GatewayResponseSpec]:
    """``x-amazon-apigateway-gateway-responses``: response type -> its configuration."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.error(f"Invalid {GATEWAY_RESPONSES}: expected a map of response types")
        return {}
    found = {}
    for kind, response in data.items():
        where = f"gateway response {kind}"
        if str(kind) not in RESPONSE_TYPES:
            problems.error(
                f"Invalid {where}: the response type must be one of {', '.join(RESPONSE_TYPES)}"
            )
            continue
        if not isinstance(response, dict):
            problems.error(f"Invalid {where}: expected an object")
            continue
        status = _text(response.get("statusCode"))
        parameters = _string_map(
            response.get("responseParameters"), f"responseParameters of {where}", problems
        )
        templates = _string_map(
            response.get("responseTemplates"), f"responseTemplates of {where}", problems
        )
        for problem in gateway_response_problems(status, parameters, templates):
            problems.error(f"{problem} (on {where})")
        found[str(kind)] = GatewayResponseSpec(status, parameters, templates)
    return found
