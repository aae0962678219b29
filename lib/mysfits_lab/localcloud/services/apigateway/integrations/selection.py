"""Integration responses of the non-proxy integrations (MOCK, HTTP, AWS): which one answers,
and the method response it makes.

- The selection value is the backend's status code as a string (``"400"``) — for a Lambda
  function behind an ``AWS`` integration, the ``errorMessage`` of a function error (else
  ``"200"``), as API Gateway does. A response whose ``selectionPattern`` (a Java regular
  expression; here Python's, matched against the whole value) matches is chosen, else the
  default one (no pattern); none at all is a configuration error (500).
- Its headers: ``method.response.header.X`` <- ``'literal'``, ``integration.response.header.Y``,
  ``integration.response.body`` (or a JSONPath below it), ``context.Z``, ``stageVariables.W``.
- Its body: the response template for the request's Accept, rendered with ``$input`` over the
  backend's answer (``#set($context.responseOverride.status = ...)`` and ``.header.X`` apply);
  without a template, the backend's answer as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ..answers import Answer, GatewayError
from ..models import Integration, MappedResponse
from .base import Invocation
from .jsonpath import MISSING, evaluate
from .templates import render_response, response_template
from .variables import context_value


def select(integration: Integration, value: str) -> MappedResponse:
    default = None
    for response in integration.responses:
        pattern = response.selection_pattern
        if not pattern:
            default = default or response
            continue
        try:
            if re.fullmatch(pattern, value):
                return response
        except re.error:
            continue
    if default is None:
        raise GatewayError(
            "API_CONFIGURATION_ERROR",
            f"no integration response for {value[:200]!r} and no default response",
        )
    return default


def method_answer(
    response: MappedResponse,
    invocation: Invocation,
    backend_body: bytes = b"",
    backend_headers: Mapping[str, str] | None = None,
    backend_type: str | None = None,
) -> Answer:
    """The method response an integration response makes of a backend's (or a mock's)."""
    headers = _headers(response.parameters, backend_headers or {}, backend_body, invocation)
    status = int(response.status_code)
    chosen = response_template(response.templates, invocation.header("accept"))
    if chosen is not None and chosen[1]:
        content_type, template = chosen
        rendered = render_response(template, invocation, backend_body)
        body = rendered.text.encode()
        status = rendered.status or status
        overridden = {name.lower() for name in rendered.headers}
        headers = [(n, v) for n, v in headers if n.lower() not in overridden]
        headers += list(rendered.headers.items())
    else:
        content_type = chosen[0] if chosen else backend_type or "application/json"
        body = backend_body
    names = {name.lower() for name, _ in headers}
    if "content-type" not in names:
        headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(body))))
    return Answer(status, headers, [body] if body else [])


def _headers(
    parameters: Mapping[str, str],
    backend: Mapping[str, str],
    body: bytes,
    invocation: Invocation,
) -> list[tuple[str, str]]:
    found = []
    for target, source in parameters.items():
        if not target.startswith("method.response.header."):
            continue
        value = _source(source, backend, body, invocation)
        if value is not None:
            found.append((target.removeprefix("method.response.header."), value))
    return found


def _source(
    source: str, backend: Mapping[str, str], body: bytes, invocation: Invocation
) -> str | None:
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("integration.response.header."):
        return backend.get(source.removeprefix("integration.response.header.").lower())
    if source == "integration.response.body":
        return body.decode("utf-8", "replace")
    if source.startswith("integration.response.body."):
        path = "$" + source.removeprefix("integration.response.body")
        try:
            found = evaluate(json.loads(body or b"{}"), path)
        except ValueError:
            return None
        if found is MISSING or found is None:
            return None
        return found if isinstance(found, str) else json.dumps(found, separators=(",", ":"))
    if source.startswith("context."):
        return context_value(source.removeprefix("context."), invocation)
    if source.startswith("stageVariables."):
        return invocation.stage_variables.get(source.removeprefix("stageVariables."))
    return None
