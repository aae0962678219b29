"""API Gateway's mapping templates: Velocity (VTL) rendered with airspeed, with the variables
API Gateway gives a template.

- ``$input.body`` (the payload as text; ``{}`` when empty), ``$input.json(path)`` (the JSONPath's
  value as JSON text, compact, non-ASCII kept), ``$input.path(path)`` (the value itself: a map,
  list, string, number or boolean), ``$input.params()`` (``{path, querystring, header}``) and
  ``$input.params(name)`` (path, then query string, then header; ``""`` when absent).
- ``$util.escapeJavaScript / base64Encode / base64Decode / parseJson / urlEncode / urlDecode``
  (``vtl_values.py``).
- ``$context.*`` (``variables.py``), ``$stageVariables.*``; ``#set($context.responseOverride.
  status = 400)`` and ``.header.<name>`` in response templates.
- ``#set``, ``#if/#elseif/#else``, ``#foreach`` (at most 1000 iterations, API Gateway's quota),
  ``#macro``... as airspeed runs them.

As on API Gateway, a reference to nothing (``$context.authorizer.claims.email`` without an
authorizer, an unknown ``$util`` function) renders as an empty string, not as its own text.
A template that cannot be parsed or run raises ``TemplateFailure`` (the stage answers 500, the
reason in its log); a payload that is not JSON where the template reads it as JSON raises
``BadInput`` (400 for a request, 500 for an integration's answer).
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import airspeed

from .jsonpath import MISSING, evaluate
from .vtl_values import Claims, Util, VtlMap, VtlString, plain, wrap

FOREACH_LIMIT = 1000  # API Gateway's quota of #foreach iterations


class TemplateFailure(Exception):
    """The template cannot be parsed or run."""


class BadInput(TemplateFailure):
    """The payload the template reads as JSON is not JSON."""


@dataclass
class Rendered:
    text: str
    status: int | None = None  # $context.responseOverride.status
    headers: dict[str, str] = field(default_factory=dict)  # $context.responseOverride.header


class Input:
    """``$input``: one payload (the request's, or the integration's answer) and the request's
    parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]):
        self._text = body
        self._params = params
        self._parsed: Any = MISSING

    def _document(self) -> Any:
        if self._parsed is MISSING:
            if not self._text.strip():
                self._parsed = {}
            else:
                try:
                    self._parsed = json.loads(self._text)
                except ValueError as exc:
                    raise BadInput(f"Could not parse payload into json: {exc}") from None
        return self._parsed

    @property
    def body(self) -> VtlString:
        return VtlString(self._text or "{}")

    def json(self, path: str = "$") -> VtlString:
        found = _at(self._document(), path)
        if found is MISSING:
            return VtlString("")
        return VtlString(json.dumps(found, separators=(",", ":"), ensure_ascii=False))

    def path(self, path: str = "$") -> Any:
        return wrap(_at(self._document(), path))

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return VtlMap((kind, VtlMap(_strings(v))) for kind, v in self._params.items())
        for kind in ("path", "querystring"):
            value = self._params.get(kind, {}).get(name)
            if value is not None:
                return VtlString(value)
        wanted = str(name).lower()
        headers = self._params.get("header", {})
        value = next((v for k, v in headers.items() if k.lower() == wanted), "")
        return VtlString(value)


def _at(document: Any, path: Any) -> Any:
    try:
        return evaluate(document, str(path))
    except ValueError as exc:
        raise TemplateFailure(str(exc)) from None


def _strings(values: Mapping[str, str]) -> dict[str, VtlString]:
    return {k: VtlString(v) for k, v in values.items()}


def render(
    template: str,
    body: str,
    params: Mapping[str, Mapping[str, str]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str] | None = None,
) -> Rendered:
    """``template`` with ``$input`` over ``body``; ``context`` is ``$context``'s data
    (``variables.context_of``)."""
    compiled = _compile(template)
    context_map = wrap(plain(context))
    context_map["responseOverride"] = VtlMap(status=None, header=VtlMap())
    authorizer = context_map.get("authorizer")
    if isinstance(authorizer, dict) and isinstance(authorizer.get("claims"), dict):
        authorizer["claims"] = Claims(authorizer["claims"])
    namespace = {
        "input": Input(body, params),
        "util": Util(),
        "context": context_map,
        "stageVariables": VtlMap(_strings(stage_variables or {})),
    }
    try:
        text = compiled.merge(namespace)
    except airspeed.TemplateExecutionError as exc:
        cause = exc.__cause__
        if isinstance(cause, TemplateFailure):
            raise cause from None
        raise TemplateFailure(f"{exc}") from None
    except (airspeed.TemplateError, RecursionError, ValueError, TypeError) as exc:
        raise TemplateFailure(f"{type(exc).__name__}: {exc}") from None
    return Rendered(text, *_overrides(context_map["responseOverride"]))


def _overrides(override: Mapping[str, Any]) -> tuple[int | None, dict[str, str]]:
    status = override.get("status")
    try:
        code = int(str(status)) if status is not None and str(status).strip() else None
    except ValueError:
        code = None
    if code is not None and not 100 <= code <= 599:
        code = None  # API Gateway ignores an override that is no HTTP status
    headers = override.get("header")
    found = {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}
    return code, found


@functools.lru_cache(maxsize=256)
def _compile(template: str) -> airspeed.Template:
    compiled = airspeed.Template(template)
    try:
        compiled.ensure_compiled()
    except airspeed.TemplateError as exc:
        raise TemplateFailure(f"template syntax: {exc}") from None
    except RecursionError:
        raise TemplateFailure("template syntax: nested too deep") from None
    _adapt(compiled.root_element, set())
    return compiled


def _adapt(element: Any, seen: set[int]) -> None:
    """Walk the parsed template once: every reference renders quietly (``$!x``), every
    ``#foreach`` is capped."""
    if id(element) in seen:
        return
    seen.add(id(element))
    if isinstance(element, airspeed.FormalReference):
        element.silent = "!"
    if isinstance(element, airspeed.ForeachDirective):
        element.value = _Capped(element.value)
    for value in vars(element).values():
        for child in _children(value):
            _adapt(child, seen)


def _children(value: Any) -> list[Any]:
    if isinstance(value, airspeed._Element):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, airspeed._Element)]
    if isinstance(value, dict):
        return [v for pair in value.items() for v in pair if isinstance(v, airspeed._Element)]
    return []


class _Capped:
    """A ``#foreach`` list that refuses more than ``FOREACH_LIMIT`` items."""

    def __init__(self, value: Any):
        self.value = value

    def calculate(self, namespace: Any, loader: Any) -> Any:
        items = self.value.calculate(namespace, loader)
        if items is None:
            return None
        if hasattr(items, "keys"):
            items = items.keys()
        taken = list(itertools.islice(iter(items), FOREACH_LIMIT + 1))
        if len(taken) > FOREACH_LIMIT:
            raise TemplateFailure(f"#foreach over more than {FOREACH_LIMIT} items")
        return taken
