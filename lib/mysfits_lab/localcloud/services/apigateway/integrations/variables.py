"""A request's ``$context`` (mapping templates, ``context.*`` mapping sources, gateway
responses, a Lambda proxy event's ``requestContext``) and its ``$input.params()``, computed once
here so each reader agrees.

Cognito claims are given as API Gateway gives a REST API's claims: every value a string —
``true``/``false``, numbers as digits, ``exp`` and ``iat`` as Java prints a date
(``Tue Oct 09 23:26:35 UTC 2018``), lists joined with commas.
"""

from __future__ import annotations

import time
from typing import Any

from ....constants import ACCOUNT_ID
from .base import Request

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_CLAIMS = ("exp", "iat")


def request_time(epoch_ms: int) -> str:
    """``dd/MMM/yyyy:HH:mm:ss +0000``, English month names whatever the locale."""
    moment = time.gmtime(epoch_ms / 1000)
    month = _MONTHS[moment.tm_mon - 1]
    return (
        f"{moment.tm_mday:02d}/{month}/{moment.tm_year}:"
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
    )


def _java_date(seconds: float) -> str:
    moment = time.gmtime(seconds)
    return (
        f"{_DAYS[moment.tm_wday]} {_MONTHS[moment.tm_mon - 1]} {moment.tm_mday:02d} "
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} UTC {moment.tm_year}"
    )


def claim_strings(claims: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name, value in claims.items():
        if name in _DATE_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = _java_date(value)
        elif isinstance(value, bool):
            found[name] = "true" if value else "false"
        elif isinstance(value, list):
            found[name] = ",".join(str(v) for v in value)
        else:
            found[name] = str(value)
    return found


def domain_prefix(request: Request) -> str:
    return request.api_id


def context_of(request: Request) -> dict[str, Any]:
    """``$context`` (and the proxy event's ``requestContext``, which has the same members)."""
    identity = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("user-agent"),
        "user": None,
    }
    context: dict[str, Any] = {
        "resourceId": request.resource_id or None,
        "resourcePath": request.resource_path or None,
        "httpMethod": request.http_method,
        "extendedRequestId": request.extended_request_id,
        "requestTime": request_time(request.request_time_ms),
        "path": f"/{request.stage}{request.path}",
        "accountId": ACCOUNT_ID,
        "protocol": request.protocol,
        "stage": request.stage,
        "domainPrefix": domain_prefix(request),
        "requestTimeEpoch": request.request_time_ms,
        "requestId": request.request_id,
        "identity": identity,
        "domainName": request.host,
        "deploymentId": request.deployment_id or None,
        "apiId": request.api_id,
    }
    if request.claims is not None:
        context["authorizer"] = {"claims": claim_strings(request.claims)}
    return context


def params_of(request: Request) -> dict[str, dict[str, str]]:
    """``$input.params()``: path, query string (a repeated name's last value) and headers
    (repeated ones joined with commas, names as sent)."""
    headers: dict[str, str] = {}
    names: dict[str, str] = {}
    for name, value in request.headers:
        first = names.setdefault(name.lower(), name)
        headers[first] = f"{headers[first]},{value}" if first in headers else value
    return {
        "path": dict(request.path_parameters),
        "querystring": {k: v[-1] for k, v in request.query.items() if v},
        "header": headers,
    }


def context_value(name: str, request: Request) -> str | None:
    """A ``context.<name>`` mapping source (``identity.sourceIp``, ``authorizer.claims.email``)
    as text; None when the request has no such value."""
    node: Any = context_of(request)
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if node is None or isinstance(node, dict):
        return None
    return str(node)
