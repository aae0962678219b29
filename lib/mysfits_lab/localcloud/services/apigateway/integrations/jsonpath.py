"""The JSONPath subset API Gateway's mapping templates are written with: ``$``, ``$.a.b``,
``$.a[0]`` (negative indexes count from the end), ``$['a']`` / ``$["a b"]``, and the wildcards
``$.a[*]`` / ``$.a.*`` (their matches are returned as a list). A definite path that leads
nowhere is ``MISSING``; anything else (filters, slices, recursive descent) is refused with
``ValueError`` — a configuration error of the template, not of the request."""

from __future__ import annotations

import re
from typing import Any

MISSING = object()  # a definite path that leads nowhere (not JSON null)

_NAME = re.compile(r"\.([A-Za-z_$@\-][\w$@\-]*)")
_WILDCARD = re.compile(r"\.\*|\[\s*\*\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")


def steps(path: str) -> list[tuple[str, Any]]:
    """The path as steps: ("key", name), ("index", n), ("all", None)."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"a JSONPath starts with '$': {path!r}")
    found: list[tuple[str, Any]] = []
    position = 1
    while position < len(text):
        for pattern, kind in ((_WILDCARD, "all"), (_NAME, "key"), (_INDEX, "index")):
            match = pattern.match(text, position)
            if match:
                value = match.group(1) if kind == "key" else None
                found.append((kind, int(match.group(1)) if kind == "index" else value))
                break
        else:
            match = _QUOTED.match(text, position)
            if match is None:
                raise ValueError(f"unsupported JSONPath {path!r} at {text[position:]!r}")
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            found.append(("key", re.sub(r"\\(.)", r"\1", raw)))
        position = match.end()
    return found


def _has(node: Any, kind: str, value: Any) -> bool:
    if kind == "key":
        return isinstance(node, dict) and value in node
    return isinstance(node, list) and -len(node) <= value < len(node)


def evaluate(document: Any, path: str) -> Any:
    """The value at ``path`` (a list when a wildcard is in it), or ``MISSING``."""
    current: list[Any] = [document]
    spread = False
    for kind, value in steps(path):
        following: list[Any] = []
        for node in current:
            if kind == "all":
                spread = True
                if isinstance(node, dict):
                    following.extend(node.values())
                elif isinstance(node, list):
                    following.extend(node)
            elif _has(node, kind, value):
                following.append(node[value])
        current = following
    if spread:
        return current
    return current[0] if current else MISSING
