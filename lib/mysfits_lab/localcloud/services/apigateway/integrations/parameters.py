"""Request parameter mappings (``integration.request.<where>.<name>`` <- a method request
value, a ``'literal'``, a stage variable or a context variable) and the integration URI filled
from them: ``http://host/mysfits/{mysfitId}`` with ``integration.request.path.mysfitId <-
method.request.path.mysfitId``. A value is percent-encoded into its path part; a greedy
``{proxy+}`` value keeps its slashes."""

from __future__ import annotations

import re
from urllib.parse import quote

from .base import Invocation, Request
from .variables import context_value

_PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")
_PART_SAFE = "-_.~!$&'()*+,;=:@"


def source_value(expression: str, invocation: Request) -> str | None:
    """The value of a mapping's source expression for this request (None: absent)."""
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression.startswith("stageVariables."):
        return invocation.stage_variables.get(expression.removeprefix("stageVariables."))
    if expression.startswith("context."):
        return context_value(expression.removeprefix("context."), invocation)
    parts = expression.split(".", 3)
    if len(parts) != 4 or parts[:2] != ["method", "request"]:
        return None
    _, _, location, name = parts
    if location == "path":
        return invocation.path_parameters.get(name)
    if location == "querystring":
        values = invocation.query.get(name)
        return values[-1] if values else None
    if location == "multivaluequerystring":
        values = invocation.query.get(name)
        return ",".join(values) if values else None
    if location in ("header", "multivalueheader"):
        return invocation.header(name)
    return None


def mapped(invocation: Invocation, location: str) -> list[tuple[str, str]]:
    """(name, value) of the integration request's ``location`` (header, querystring)."""
    prefix = f"integration.request.{location}."
    found = []
    for target, source in invocation.integration.request_parameters.items():
        if target.startswith(prefix):
            value = source_value(source, invocation)
            if value is not None:
                found.append((target.removeprefix(prefix), value))
    return found


def fill_uri(uri: str, invocation: Invocation) -> str:
    """The URI with each ``{name}`` replaced by ``integration.request.path.name``'s value;
    a placeholder nothing maps is left as it is, as API Gateway leaves it."""
    mappings = invocation.integration.request_parameters

    def value(found: re.Match[str]) -> str:
        source = mappings.get(f"integration.request.path.{found.group(1)}")
        if source is None:
            return found.group(0)
        text = source_value(source, invocation)
        if text is None:
            return ""
        greedy = invocation.greedy is not None and source == (
            f"method.request.path.{invocation.greedy}"
        )
        return quote(text, safe=_PART_SAFE + ("/" if greedy else ""))

    return _PLACEHOLDER.sub(value, uri)
