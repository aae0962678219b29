"""What a template refers to, read without resolving anything: the resources and parameters
named by Ref, Fn::GetAtt and ``${}``, and the conditions named by Fn::If and Condition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .syntax import SUB_VARIABLE, IntrinsicError, get_att_parts, is_function, sub_parts


@dataclass
class Reference:
    name: str
    attribute: str | None = None  # None: a Ref


def references(value: Any) -> list[Reference]:
    """Every Ref, Fn::GetAtt and ``${}`` of ``value`` (both branches of each Fn::If)."""
    found: list[Reference] = []
    _collect(value, found)
    return found


def _collect(value: Any, found: list[Reference]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, found)
        return
    if not isinstance(value, dict):
        return
    if is_function(value):
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            found.append(Reference(argument))
            return
        if key == "Fn::GetAtt":
            try:
                resource, attribute = get_att_parts(argument)
            except IntrinsicError:
                return
            found.append(Reference(resource, attribute if isinstance(attribute, str) else ""))
            _collect(attribute, found)
            return
        if key == "Fn::Sub":
            try:
                text, variables = sub_parts(argument)
            except IntrinsicError:
                return
            for match in SUB_VARIABLE.finditer(text):
                inner = match.group(1).strip()
                if inner.startswith("!") or inner in variables:
                    continue
                if "." in inner and not inner.startswith("AWS::"):
                    resource, _, attribute = inner.partition(".")
                    found.append(Reference(resource, attribute))
                else:
                    found.append(Reference(inner))
            _collect(list(variables.values()), found)
            return
    for item in value.values():
        _collect(item, found)


def condition_names(value: Any) -> list[str]:
    """The conditions that ``Fn::If`` and ``Condition`` name inside ``value``."""
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if len(node) == 1:
                ((key, argument),) = node.items()
                if key == "Fn::If" and isinstance(argument, list) and argument:
                    if isinstance(argument[0], str):
                        names.append(argument[0])
                    walk(argument[1:])
                    return
                if key == "Condition" and isinstance(argument, str):
                    names.append(argument)
                    return
            for item in node.values():
                walk(item)

    walk(value)
    return names
