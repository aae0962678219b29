"""Enumerated property values CloudFormation accepts in any case, written as the service's API
takes them before the API (or moto) sees them.

Only properties whose CloudFormation registry schema marks the enum case-insensitive are here
(``enumCaseInsensitive``, as cfn-lint ships those schemas; a unit test checks this table
against them), limited to the types the local cloud creates and whose API spells the values
the same way. Every other enum is case-sensitive on AWS too and is passed as written.
"""

from __future__ import annotations

from typing import Any

# (resource type, property path; "*" is each item of a list) → the values as the API spells them
CASE_INSENSITIVE: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {
    ("AWS::EC2::EIP", ("Domain",)): ("standard", "vpc"),
    ("AWS::EC2::Volume", ("VolumeType",)): ("gp2", "gp3", "io1", "io2", "sc1", "st1", "standard"),
}
# A Domain other than standard or vpc is turned into vpc (cfn-lint W3700, the EIP reference).
_DEFAULTS = {("AWS::EC2::EIP", ("Domain",)): "vpc"}


def normalize(resource_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` with each case-insensitive enum value spelled as the API wants it."""
    for (kind, path), values in CASE_INSENSITIVE.items():
        if kind == resource_type:
            _apply(properties, list(path), values, _DEFAULTS.get((kind, path)))
    return properties


def _apply(node: Any, path: list[str], values: tuple[str, ...], default: str | None) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        items = node if isinstance(node, list) else []
        for index, item in enumerate(items):
            if rest:
                _apply(item, rest, values, default)
            else:
                items[index] = _spelled(item, values, default)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _apply(node[head], rest, values, default)
    else:
        node[head] = _spelled(node[head], values, default)


def _spelled(value: Any, values: tuple[str, ...], default: str | None) -> Any:
    if not isinstance(value, str):
        return value
    for known in values:
        if value.lower() == known.lower():
            return known
    return default if default is not None else value
