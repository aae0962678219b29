"""Mapping templates of the non-proxy integrations (HTTP, AWS, MOCK), rendered with the VTL
engine (``vtl.py``): which template applies, what the integration request's body becomes, and
what a template's failure is answered with.

- A request template is chosen by the request's Content-Type (``application/json`` when it has
  none). Without one for it, ``passthroughBehavior`` decides: ``WHEN_NO_MATCH`` (the default)
  passes the body through, ``WHEN_NO_TEMPLATES`` passes it through only when the integration has
  no template at all, ``NEVER`` never does — else 415 "Unsupported Media Type", as API Gateway.
- A response template is chosen by the request's Accept (else ``application/json``'s, else the
  first); ``$input`` is the integration's answer.
- A template that cannot be rendered is a 500 "Internal server error" (the reason in the log);
  a request body that is not JSON where a request template reads it as JSON is a 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ..answers import GatewayError
from .base import Invocation
from .variables import context_of, params_of
from .vtl import BadInput, Rendered, TemplateFailure, render

DEFAULT_CONTENT_TYPE = "application/json"
_STATUS = re.compile(r'"statusCode"\s*:\s*"?(\d{3})"?')


def choose(
    templates: Mapping[str, str | None], content_type: str | None
) -> tuple[str, str | None] | None:
    """(content type, template) for a request of ``content_type`` (application/json when it
    has none); None when no template is for it."""
    if not templates:
        return None
    wanted = (content_type or DEFAULT_CONTENT_TYPE).split(";", 1)[0].strip().lower()
    for key, template in templates.items():
        if key.lower() == wanted:
            return key, template
    return None


def response_template(
    templates: Mapping[str, str | None], accept: str | None
) -> tuple[str, str | None] | None:
    """The response template for a client accepting ``accept``: that type's if there is one,
    else application/json's, else the first."""
    if not templates:
        return None
    for wanted in [*(a.split(";")[0].strip() for a in (accept or "").split(",")), "*"]:
        found = choose(templates, wanted) if wanted not in ("", "*/*", "*") else None
        if found is not None:
            return found
    return choose(templates, DEFAULT_CONTENT_TYPE) or next(iter(templates.items()))


def render_request(template: str | None, invocation: Invocation) -> str:
    """A request template over the method request."""
    if not template:
        return ""
    try:
        return _render(template, invocation, invocation.body).text
    except BadInput as exc:
        raise GatewayError(
            "BAD_REQUEST_BODY", str(exc), f"Could not parse request body into json: {exc}"
        ) from None
    except TemplateFailure as exc:
        raise GatewayError(
            "API_CONFIGURATION_ERROR", f"request template of {_where(invocation)}: {exc}"
        ) from None


def render_response(template: str, invocation: Invocation, payload: bytes) -> Rendered:
    """A response template over the integration's answer ``payload``."""
    try:
        return _render(template, invocation, payload)
    except TemplateFailure as exc:  # a backend's answer that is not JSON is ours to fix too
        raise GatewayError(
            "API_CONFIGURATION_ERROR", f"response template of {_where(invocation)}: {exc}"
        ) from None


def _render(template: str, invocation: Invocation, payload: bytes) -> Rendered:
    return render(
        template,
        payload.decode("utf-8", "replace"),
        params_of(invocation),
        context_of(invocation),
        invocation.stage_variables,
    )


def _where(invocation: Invocation) -> str:
    return f"{invocation.http_method} {invocation.resource_path}"


def request_payload(invocation: Invocation) -> tuple[bytes, str | None]:
    """The integration request's body and its content type: the request template's output, or
    the method request's body passed through."""
    integration = invocation.integration
    chosen = choose(integration.request_templates, invocation.content_type)
    if chosen is not None:
        return render_request(chosen[1], invocation).encode(), chosen[0]
    behavior = integration.passthrough_behavior
    if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and integration.request_templates):
        raise GatewayError("UNSUPPORTED_MEDIA_TYPE", "no request template for this content type")
    return invocation.body, invocation.header("content-type")


def mock_status(template: str | None, invocation: Invocation) -> int:
    """The ``statusCode`` a MOCK integration's request template asks for (200 without one)."""
    text = render_request(template, invocation)
    if not text.strip():
        return 200
    try:
        data = json.loads(text)
    except ValueError:
        found = _STATUS.search(text)
        return int(found.group(1)) if found else 200
    status = data.get("statusCode", 200) if isinstance(data, dict) else 200
    try:
        return int(status)
    except (TypeError, ValueError):
        return 200
