"""FilterCriteria: Lambda's event filtering (EventBridge pattern syntax) over the records it reads
from a stream. A record that matches no filter is dropped before batching, as on AWS.

The subset understood: nested objects, lists of literal values (``null`` included), and the
rules ``prefix``, ``suffix``, ``equals-ignore-case``, ``exists``, ``anything-but`` and
``numeric``. Anything else is refused at creation, as Lambda refuses a pattern it cannot read.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

MAX_FILTERS = 5  # Lambda's quota of filters per event source mapping
_MISSING = object()
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class BadPattern(ValueError):
    """A filter pattern Lambda would refuse."""


def parse_criteria(criteria: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The parsed patterns of a ``FilterCriteria``; BadPattern when one is not valid."""
    filters = criteria.get("Filters") or []
    if len(filters) > MAX_FILTERS:
        raise BadPattern(f"at most {MAX_FILTERS} filters")
    patterns = []
    for item in filters:
        text = item.get("Pattern")
        if not isinstance(text, str) or not text:
            raise BadPattern("no pattern")
        try:
            pattern = json.loads(text)
        except ValueError:
            raise BadPattern("not JSON") from None
        _check(pattern)
        patterns.append(pattern)
    return tuple(patterns)


def matches_any(patterns: tuple[dict[str, Any], ...], record: dict[str, Any]) -> bool:
    """Whether ``record`` passes: no filters, or at least one pattern matches."""
    return not patterns or any(_matches(pattern, record) for pattern in patterns)


def _check(pattern: Any) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise BadPattern("a pattern is a non-empty JSON object")
    for value in pattern.values():
        if isinstance(value, dict):
            _check(value)
        elif isinstance(value, list) and value:
            for rule in value:
                _check_rule(rule)
        else:
            raise BadPattern("a pattern's leaves are non-empty lists")


def _check_rule(rule: Any) -> None:
    if rule is None or isinstance(rule, str | int | float | bool):
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise BadPattern("a rule is a value or a one-key object")
    ((name, arg),) = rule.items()
    if name in ("prefix", "suffix", "equals-ignore-case") and isinstance(arg, str):
        return
    if name == "exists" and isinstance(arg, bool):
        return
    if name == "anything-but" and (
        isinstance(arg, str | int | float | list) or _is_prefix_rule(arg)
    ):
        return
    if name == "numeric" and _numeric_terms(arg) is not None:
        return
    raise BadPattern(f"unsupported rule {name!r}")


def _is_prefix_rule(arg: Any) -> bool:
    return isinstance(arg, dict) and set(arg) == {"prefix"} and isinstance(arg["prefix"], str)


def _numeric_terms(arg: Any) -> list[tuple[str, float]] | None:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        return None
    terms = []
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        if op not in _COMPARE or isinstance(bound, bool) or not isinstance(bound, int | float):
            return None
        terms.append((op, float(bound)))
    return terms


def _matches(pattern: dict[str, Any], data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    for key, condition in pattern.items():
        value = data.get(key, _MISSING)
        if isinstance(condition, dict):
            if not _matches(condition, value):
                return False
        elif not any(_rule_matches(rule, value) for rule in condition):
            return False
    return True


def _rule_matches(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        ((name, arg),) = rule.items()
        if name == "exists":
            return (value is not _MISSING) == arg
        if value is _MISSING:
            return False
        values = value if isinstance(value, list) else [value]
        return any(_named_rule(name, arg, v) for v in values)
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    return any(_equal(rule, v) for v in values)


def _equal(rule: Any, value: Any) -> bool:
    if isinstance(rule, bool) or isinstance(value, bool):
        return rule is value
    if isinstance(rule, int | float) and not isinstance(value, dict | list):
        number = _number(value)
        return number is not None and number == rule
    return rule == value


def _named_rule(name: str, arg: Any, value: Any) -> bool:
    if name == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(arg)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == arg.lower()
    if name == "anything-but":
        if _is_prefix_rule(arg):
            return isinstance(value, str) and not value.startswith(arg["prefix"])
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_equal(item, value) for item in excluded)
    terms = _numeric_terms(arg) or []
    number = _number(value)  # DynamoDB numbers ("N") are strings
    return number is not None and all(_COMPARE[op](number, bound) for op, bound in terms)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
