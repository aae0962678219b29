"""Which resource and method of a deployment a request is for, as API Gateway decides it.

At each level a literal path part wins over a ``{variable}``, which wins over a greedy
``{proxy+}`` (which takes the rest of the path, one part at least); when the more specific
branch leads nowhere the next one is tried. Only resources with methods answer. The method
must be the request's, else ``ANY``; a path or method that matches nothing is API Gateway's
403 "Missing Authentication Token". Path parameters are percent-decoded part by part, so an
encoded ``%2F`` stays inside its part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from .models import Method, Resource


@dataclass
class Match:
    resource: Resource
    method: Method
    path_parameters: dict[str, str]
    greedy: str | None = None  # the name of the greedy parameter that matched, if any


@dataclass
class _Node:
    resource: Resource | None = None
    literals: dict[str, _Node] = field(default_factory=dict)
    variable: tuple[str, _Node] | None = None
    greedy: tuple[str, Resource] | None = None


class Router:
    def __init__(self, resources: tuple[Resource, ...] | list[Resource]):
        self._root = _Node()
        for resource in resources:
            self._add(resource)

    def _add(self, resource: Resource) -> None:
        node = self._root
        parts = [p for p in resource.path.split("/") if p]
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                if index == len(parts) - 1:
                    node.greedy = (part[1:-2], resource)
                return
            if part.startswith("{") and part.endswith("}"):
                if node.variable is None:
                    node.variable = (part[1:-1], _Node())
                node = node.variable[1]
            else:
                node = node.literals.setdefault(part, _Node())
        node.resource = resource

    def match(self, http_method: str, path: str) -> Match | None:
        """``path``: the request path below the stage, as sent (still percent-encoded)."""
        raw = path.split("?", 1)[0].strip("/")
        parts = [unquote(p) for p in raw.split("/")] if raw else []
        found = self._walk(self._root, parts, 0, {})
        if found is None:
            return None
        resource, parameters, greedy = found
        method = resource.methods.get(http_method.upper()) or resource.methods.get("ANY")
        if method is None:
            return None
        return Match(resource, method, parameters, greedy)

    def _walk(
        self, node: _Node, parts: list[str], index: int, parameters: dict[str, str]
    ) -> tuple[Resource, dict[str, str], str | None] | None:
        if index == len(parts):
            if node.resource is not None and node.resource.methods:
                return node.resource, parameters, None
            return None
        part = parts[index]
        literal = node.literals.get(part)
        if literal is not None:
            found = self._walk(literal, parts, index + 1, parameters)
            if found is not None:
                return found
        if node.variable is not None and part:
            name, child = node.variable
            found = self._walk(child, parts, index + 1, parameters | {name: part})
            if found is not None:
                return found
        if node.greedy is not None:
            name, resource = node.greedy
            if resource.methods:
                return resource, parameters | {name: "/".join(parts[index:])}, name
        return None
