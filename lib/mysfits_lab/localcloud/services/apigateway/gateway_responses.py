"""Gateway responses: what API Gateway answers itself (401 from an authorizer, 403 for an
unknown route, 413, 415, 5xx of a failed integration...), as the API configures them
(PutGatewayResponse, ``x-amazon-apigateway-gateway-responses``), frozen with its deployment.

For an error of type T the configuration is T's if the API has one, else ``DEFAULT_4XX`` or
``DEFAULT_5XX`` (by T's default status), else API Gateway's default. From it:

- **status**: T's ``statusCode``; for an unconfigured T, the fallback's ``statusCode`` if it
  has one ("changing the status code of DEFAULT_4XX changes the status code of all other 4XX
  responses"), else T's default status (or the error's own, a Lambda proxy's 502);
- **headers**: ``gatewayresponse.header.X`` <- ``'literal'``, ``method.request.header.Y``
  (``querystring``, ``path``, ``multivalueheader``, ``multivaluequerystring``),
  ``stageVariables.Z`` or ``context.W``;
- **body**: the template for the request's Accept (else ``application/json``'s), default
  ``{"message":$context.error.messageString}``. As on API Gateway, these templates are not
  Velocity: ``$context.*`` (``error.message``, ``error.messageString``, ``error.responseType``,
  ``requestId``, ...) and ``$stageVariables.*`` are substituted, nothing else.

The stage's CORS rule still applies afterwards: ``Access-Control-Allow-*`` headers reach only
the cloud's own origins (``gateway.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .answers import GATEWAY_RESPONSES, Answer, GatewayError, default_status
from .integrations.base import Request
from .integrations.parameters import source_value
from .integrations.templates import response_template
from .integrations.variables import context_of
from .models import GatewayResponse

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
DEFAULT_TEMPLATES = {"application/json": DEFAULT_TEMPLATE}
RESPONSE_TYPES = tuple(GATEWAY_RESPONSES)
_TARGET = re.compile(r"^gatewayresponse\.header\.[^\s]+$")
_SOURCE = re.compile(
    r"^('[^']*'|method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)"
    r"\.\S+|stageVariables\.\w+|context\.[\w.:-]+)$"
)
_VARIABLE = re.compile(
    r"\$(?:\{(context|stageVariables)((?:\.[\w:-]+)+)\}"
    r"|(context|stageVariables)((?:\.[\w:-]+)+))"
)


def fallback_type(response_type: str) -> str:
    status = GATEWAY_RESPONSES[response_type][0] or default_status(response_type)
    return "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"


def default_api(response_type: str) -> dict[str, Any]:
    """GetGatewayResponse's answer for a type the API did not configure."""
    answer: dict[str, Any] = {
        "responseType": response_type,
        "defaultResponse": True,
        "responseParameters": {},
        "responseTemplates": dict(DEFAULT_TEMPLATES),
    }
    status = GATEWAY_RESPONSES[response_type][0]
    if status is not None:
        answer["statusCode"] = str(status)
    return answer


def patched(current: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """UpdateGatewayResponse: ``current`` (GetGatewayResponse's answer) after the patch
    operations on ``/statusCode``, ``/responseParameters/<target>`` and
    ``/responseTemplates/<content type>`` (``~1`` for ``/``); ValueError for anything else."""
    changed = {
        "statusCode": current.get("statusCode"),
        "responseParameters": dict(current.get("responseParameters") or {}),
        "responseTemplates": dict(current.get("responseTemplates") or {}),
    }
    for operation in operations:
        op, path = operation.get("op"), str(operation.get("path", ""))
        value = operation.get("value")
        if op not in ("add", "replace", "remove"):
            raise ValueError(f"Invalid patch operation {op!r}: add, replace or remove")
        if path == "/statusCode":
            changed["statusCode"] = None if op == "remove" else value
            continue
        section, _, key = path.lstrip("/").partition("/")
        if section not in ("responseParameters", "responseTemplates") or not key:
            raise ValueError(f"Invalid patch path {path!r}")
        key = key.replace("~1", "/").replace("~0", "~")
        if op == "remove":
            changed[section].pop(key, None)
        elif value is None:
            raise ValueError(f"Invalid patch operation: {op} {path} needs a value")
        else:
            changed[section][key] = value
    return {k: v for k, v in changed.items() if v is not None}


def problems(status_code: Any, parameters: Mapping[str, Any] | None, templates: Any) -> list[str]:
    """What PutGatewayResponse (or an imported document) may not set."""
    found = []
    if status_code is not None and not re.fullmatch(r"[1-5]\d\d", str(status_code)):
        found.append(f"Invalid status code {status_code!r}: an HTTP status code 100-599")
    for target, source in (parameters or {}).items():
        if not _TARGET.match(str(target)):
            found.append(
                f"Invalid mapping expression specified: {target} (a gateway response sets "
                "gatewayresponse.header.<name>)"
            )
        elif not isinstance(source, str) or not _SOURCE.match(source):
            found.append(f"Invalid mapping expression specified: {source}")
    if templates is not None and not (
        isinstance(templates, dict) and all(isinstance(v, str) for v in templates.values())
    ):
        found.append("responseTemplates must map content types to templates")
    return found


def answer(
    error: GatewayError,
    configured: Mapping[str, GatewayResponse],
    request: Request | None,
) -> Answer:
    """The stage's answer to ``error``."""
    kind = error.response_type
    _, default_message, error_type = GATEWAY_RESPONSES[kind]
    own = configured.get(kind)
    fallback = None if own is not None else configured.get(fallback_type(kind))
    chosen = own or fallback
    status = _status(own, fallback, error.status or default_status(kind))
    message = error.message or default_message
    headers = _headers(chosen.parameters if chosen else {}, request)
    templates = (chosen.templates if chosen else None) or DEFAULT_TEMPLATES
    found = response_template(templates, request.header("accept") if request else None)
    content_type, template = found or ("application/json", DEFAULT_TEMPLATE)
    body = _substitute(template or "", kind, message, request).encode()
    names = {name.lower() for name, _ in headers}
    if "content-type" not in names:
        headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(body))))
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return Answer(status, headers, [body] if body else [])


def _status(own: GatewayResponse | None, fallback: GatewayResponse | None, default: int) -> int:
    for configured in (own, fallback):
        if configured is not None and configured.status_code:
            return int(configured.status_code)
    return default


def _headers(parameters: Mapping[str, str], request: Request | None) -> list[tuple[str, str]]:
    found = []
    for target, source in parameters.items():
        if not target.startswith("gatewayresponse.header."):
            continue
        if request is None:
            value = source[1:-1] if len(source) >= 2 and source[0] == source[-1] == "'" else None
        else:
            value = source_value(source, request)
        if value is not None:
            found.append((target.removeprefix("gatewayresponse.header."), value))
    return found


def _substitute(template: str, kind: str, message: str, request: Request | None) -> str:
    context: dict[str, Any] = context_of(request) if request is not None else {}
    context["error"] = {
        "message": message,
        "messageString": json.dumps(message, ensure_ascii=False),
        "responseType": kind,
        "validationErrorString": "",
    }
    stage_variables = request.stage_variables if request is not None else {}

    def value(found: re.Match[str]) -> str:
        root = found.group(1) or found.group(3)
        path = (found.group(2) or found.group(4)).strip(".").split(".")
        node: Any = context if root == "context" else stage_variables
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return "" if node is None or isinstance(node, dict) else str(node)

    return _VARIABLE.sub(value, template)
