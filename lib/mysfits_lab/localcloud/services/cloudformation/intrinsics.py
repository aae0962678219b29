"""Intrinsic functions and conditions, resolved as CloudFormation resolves them.

Where moto differs (``Fn::GetAZs`` of ``{Ref: AWS::Region}`` appends letters to the raw dict,
``""`` always means us-east-1; ``Fn::Sub`` is a regular expression over the text; conditions
that name other conditions are not read; an unknown ``Fn::GetAtt`` silently drops the
property; no ``Fn::Cidr``), this module follows AWS's documentation.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .syntax import (
    CONDITION_FUNCTIONS,
    FUNCTIONS,
    SUB_VARIABLE,
    IntrinsicError,
    get_att_parts,
    is_function,
    sub_parts,
)


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


@dataclass
class Lookups:
    """What a template's functions read: parameters and pseudo parameters, resources (their
    ``Ref`` and attributes), mappings, the region's availability zones and other stacks'
    exports."""

    region: str
    values: dict[str, Any]  # parameters and pseudo parameters
    mappings: dict[str, Any] = field(default_factory=dict)
    ref: Callable[[str], Any] | None = None  # a resource's Ref
    attribute: Callable[[str, str], Any] | None = None
    availability_zones: Callable[[str], list[str]] = lambda region: []
    import_value: Callable[[str], str] | None = None


class Resolver:
    def __init__(self, lookups: Lookups, conditions: dict[str, Any] | None = None):
        self.lookups = lookups
        self._condition_defs = conditions or {}
        self._conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []

    # -- conditions -----------------------------------------------------------------------
    def condition(self, name: Any) -> bool:
        if not isinstance(name, str) or name not in self._condition_defs:
            raise IntrinsicError(f"Template format error: Unresolved condition dependency {name}")
        if name in self._conditions:
            return self._conditions[name]
        if name in self._evaluating:
            raise IntrinsicError(
                "Template format error: Circular dependency between conditions: "
                f"[{', '.join([*self._evaluating, name])}]"
            )
        self._evaluating.append(name)
        try:
            value = self._evaluate(self._condition_defs[name], in_conditions=True)
        finally:
            self._evaluating.pop()
        if not isinstance(value, bool):
            raise IntrinsicError(
                f"Template error: condition {name} is not a condition function (Fn::Equals, "
                "Fn::And, Fn::Or, Fn::Not, Condition)"
            )
        self._conditions[name] = value
        return value

    def all_conditions(self) -> dict[str, bool]:
        return {name: self.condition(name) for name in self._condition_defs}

    def _evaluate(self, value: Any, in_conditions: bool = False) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals":
                left, right = self._arguments(key, argument, 2)
                return _comparable(self.resolve(left)) == _comparable(self.resolve(right))
            if key == "Fn::Not":
                (inner,) = self._arguments(key, argument, 1)
                return not self._boolean(key, self._evaluate(inner, in_conditions))
            if key in ("Fn::And", "Fn::Or"):
                if not isinstance(argument, list) or not 2 <= len(argument) <= 10:
                    raise IntrinsicError(
                        f"Template error: {key} needs a list of 2 to 10 conditions"
                    )
                results = [self._boolean(key, self._evaluate(a, in_conditions)) for a in argument]
                return all(results) if key == "Fn::And" else any(results)
        if in_conditions and isinstance(value, bool):
            return value
        return self.resolve(value)

    @staticmethod
    def _boolean(function: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise IntrinsicError(f"Template error: {function} takes conditions, not {value!r}")

    @staticmethod
    def _arguments(function: str, argument: Any, count: int) -> list[Any]:
        if not isinstance(argument, list) or len(argument) != count:
            raise IntrinsicError(
                f"Template error: {function} takes a list of {count} "
                f"{'value' if count == 1 else 'values'}"
            )
        return argument

    # -- values -----------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """``value`` with every function evaluated; ``AWS::NoValue`` leaves maps and lists."""
        if isinstance(value, dict):
            if is_function(value):
                ((key, argument),) = value.items()
                return self._function(key, argument)
            resolved = {}
            for key, item in value.items():
                item = self.resolve(item)
                if item is not NO_VALUE:
                    resolved[key] = item
            return resolved
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        return value

    def _function(self, key: str, argument: Any) -> Any:
        handler = _FUNCTIONS.get(key)
        if handler is None:
            if key in CONDITION_FUNCTIONS:
                return self._evaluate({key: argument})
            raise IntrinsicError(
                f"Template format error: Encountered unsupported function: {key} Supported "
                f"functions are: [{', '.join(FUNCTIONS)}]"
            )
        return handler(self, argument)

    def ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise IntrinsicError("Template error: Ref takes the name of a parameter or resource")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.lookups.values:
            return self.lookups.values[name]
        if self.lookups.ref is None:
            raise IntrinsicError(
                f"Template format error: Unresolved resource dependencies [{name}] in the "
                "Conditions block of the template"
            )
        return self.lookups.ref(name)

    def _ref(self, argument: Any) -> Any:
        return self.ref(argument)

    def _get_att(self, argument: Any) -> Any:
        resource, attribute = get_att_parts(argument)
        attribute = self.resolve(attribute)
        if not isinstance(attribute, str):
            raise IntrinsicError("Template error: Fn::GetAtt's attribute name must be a string")
        if self.lookups.attribute is None:
            raise IntrinsicError(
                f"Template error: Fn::GetAtt of {resource} cannot be used here (resources are "
                "not available)"
            )
        return self.lookups.attribute(resource, attribute)

    def _sub(self, argument: Any) -> str:
        text, variables = sub_parts(argument)
        resolved = {name: self.resolve(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            name = inner.strip()
            if name in resolved:
                value = resolved[name]
            elif "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                value = self._get_att([resource, attribute])
            else:
                value = self.ref(name)
            return _scalar_text("Fn::Sub", value)

        return SUB_VARIABLE.sub(replace, text)

    def _join(self, argument: Any) -> str:
        if not isinstance(argument, list) or len(argument) != 2:
            raise IntrinsicError("Template error: Fn::Join takes a delimiter and a list")
        delimiter, items = self.resolve(argument[0]), self.resolve(argument[1])
        if not isinstance(delimiter, str):
            raise IntrinsicError("Template error: Fn::Join's delimiter must be a string")
        if not isinstance(items, list):
            raise IntrinsicError("Template error: Fn::Join's second argument must be a list")
        return delimiter.join(_scalar_text("Fn::Join", item) for item in items)

    def _select(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise IntrinsicError("Template error: Fn::Select takes an index and a list")
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        try:
            position = int(index)
        except (TypeError, ValueError):
            raise IntrinsicError(
                f"Template error: Fn::Select's index must be a number, not {index!r}"
            ) from None
        if not isinstance(items, list):
            raise IntrinsicError("Template error: Fn::Select's second argument must be a list")
        if not 0 <= position < len(items):
            raise IntrinsicError(
                f"Template error: Fn::Select cannot select nonexistent value at index {position}"
            )
        return items[position]

    def _split(self, argument: Any) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise IntrinsicError("Template error: Fn::Split takes a delimiter and a string")
        delimiter, text = self.resolve(argument[0]), self.resolve(argument[1])
        if not isinstance(delimiter, str) or not isinstance(text, str) or not delimiter:
            raise IntrinsicError("Template error: Fn::Split takes a delimiter and a string")
        return text.split(delimiter)

    def _get_azs(self, argument: Any) -> list[str]:
        region = self.resolve(argument)
        if region in ("", None):
            region = self.lookups.region
        if not isinstance(region, str):
            raise IntrinsicError("Template error: Fn::GetAZs takes a region name")
        return list(self.lookups.availability_zones(region))

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise IntrinsicError(
                "Template error: Fn::FindInMap takes a map name, a top-level key and a "
                "second-level key"
            )
        names = [self.resolve(part) for part in argument]
        value: Any = self.lookups.mappings
        for name in names:
            if (
                not isinstance(value, dict)
                or not isinstance(name, str | int)
                or str(name) not in {str(k) for k in value}
            ):
                raise IntrinsicError(
                    f"Template error: Unable to get mapping for {'::'.join(map(str, names))}"
                )
            value = next(v for k, v in value.items() if str(k) == str(name))
        return value

    def _base64(self, argument: Any) -> str:
        text = _scalar_text("Fn::Base64", self.resolve(argument))
        return base64.b64encode(text.encode()).decode()

    def _cidr(self, argument: Any) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 3:
            raise IntrinsicError("Template error: Fn::Cidr takes a block, a count and cidrBits")
        block, count, bits = (self.resolve(part) for part in argument)
        try:
            network = ipaddress.ip_network(str(block), strict=False)
            count, bits = int(count), int(bits)
            prefix = network.max_prefixlen - bits
            subnets = network.subnets(new_prefix=prefix)
            return [str(next(subnets)) for _ in range(count)]
        except (ValueError, StopIteration) as exc:
            raise IntrinsicError(f"Template error: Fn::Cidr cannot divide {block}: {exc}") from None

    def _import_value(self, argument: Any) -> str:
        name = self.resolve(argument)
        if not isinstance(name, str):
            raise IntrinsicError("Template error: Fn::ImportValue takes an export name")
        if self.lookups.import_value is None:
            raise IntrinsicError("Template error: Fn::ImportValue cannot be used here")
        return self.lookups.import_value(name)

    def _if(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise IntrinsicError(
                "Template error: Fn::If takes a condition name, a value if true and one if false"
            )
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _transform(self, argument: Any) -> Any:
        raise IntrinsicError(
            "Template error: Fn::Transform (macros) is not supported by the local cloud; only "
            "the AWS::Serverless-2016-10-31 transform is"
        )


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::GetAZs": Resolver._get_azs,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Base64": Resolver._base64,
    "Fn::Cidr": Resolver._cidr,
    "Fn::ImportValue": Resolver._import_value,
    "Fn::If": Resolver._if,
    "Fn::Transform": Resolver._transform,
}


def _comparable(value: Any) -> Any:
    """Fn::Equals compares what the template wrote: "true" and true, "1" and 1 are equal."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


def _scalar_text(function: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise IntrinsicError(f"Template error: {function} needs strings, not {value!r}")
