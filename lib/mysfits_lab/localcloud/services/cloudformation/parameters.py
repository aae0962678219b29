"""A stack's parameters: the values given, defaulted, checked against the template's
constraints with CloudFormation's messages, and read from SSM where the type says so."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError

SSM_PREFIX = "AWS::SSM::Parameter::Value<"
_LIST_TYPES = ("CommaDelimitedList", "List<")
_TYPE = re.compile(
    r"^(String|Number|List<Number>|CommaDelimitedList|AWS::[A-Za-z0-9:]+|List<AWS::[A-Za-z0-9:]+>"
    r"|AWS::SSM::Parameter::Value<[A-Za-z0-9:<>]+>)$"
)


@dataclass
class Parameter:
    key: str
    value: str  # as given (or defaulted), the text DescribeStacks shows
    resolved: Any  # what Ref gives: a string, or a list for list types
    no_echo: bool = False
    ssm_value: str | None = None  # ResolvedValue of an SSM parameter

    def to_api(self) -> dict[str, Any]:
        entry = {"ParameterKey": self.key, "ParameterValue": "****" if self.no_echo else self.value}
        if self.ssm_value is not None:
            entry["ResolvedValue"] = self.ssm_value
        return entry


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def resolve(
    declared: dict[str, Any],
    given: list[dict[str, Any]],
    previous: dict[str, Parameter] | None = None,
    ssm: Callable[[str], str] | None = None,
) -> dict[str, Parameter]:
    """The parameters of a stack from the template's ``Parameters`` and the request's list;
    TemplateError with CloudFormation's message when a value is missing or refused."""
    for spec in declared.values():
        if not _TYPE.match(str(spec.get("Type", ""))):
            raise TemplateError(
                f"Template format error: Unrecognized parameter type: {spec.get('Type')}"
            )
    values: dict[str, str] = {}
    unknown: list[str] = []
    for entry in given:
        key = str(entry.get("ParameterKey", ""))
        if key not in declared:
            unknown.append(key)
            continue
        if entry.get("UsePreviousValue"):
            if previous is None or key not in previous:
                raise TemplateError(
                    f"Invalid input for parameter key {key}. Cannot specify usePreviousValue "
                    "as true for a parameter key not in the previous template"
                )
            values[key] = previous[key].value
        elif "ParameterValue" in entry:
            values[key] = str(entry["ParameterValue"])
    if unknown:
        raise TemplateError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = []
    for key, spec in declared.items():
        if key not in values:
            if "Default" in spec:
                values[key] = _text(spec["Default"])
            else:
                missing.append(key)
    if missing:
        raise TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    try:
        return {key: _checked(key, declared[key], values[key], ssm) for key in declared}
    except (TypeError, ValueError) as exc:  # MinLength: "many", and the like
        raise TemplateError(f"Template format error: Invalid parameter property: {exc}") from None


def _checked(
    key: str, spec: dict[str, Any], value: str, ssm: Callable[[str], str] | None
) -> Parameter:
    kind = str(spec.get("Type", "String"))
    ssm_value = None
    effective = value
    if kind.startswith(SSM_PREFIX):
        if ssm is None:
            raise TemplateError(f"Parameter '{key}': SSM parameters cannot be read here")
        ssm_value = ssm(value)
        effective = ssm_value
        kind = kind[len(SSM_PREFIX) : -1]
    elif kind == "AWS::SSM::Parameter::Name":
        kind = "String"
    is_list = kind.startswith(_LIST_TYPES)
    items = [item.strip() for item in effective.split(",")] if is_list else [effective]
    if is_list and effective == "":
        items = []
    _constraints(key, spec, kind, items, effective)
    return Parameter(
        key=key,
        value=value,
        resolved=items if is_list else effective,
        no_echo=str(spec.get("NoEcho", "false")).lower() == "true",
        ssm_value=ssm_value,
    )


def _fail(key: str, spec: dict[str, Any], message: str) -> TemplateError:
    if spec.get("ConstraintDescription"):
        return TemplateError(
            f"Parameter {key} failed to satisfy constraint: {spec['ConstraintDescription']}"
        )
    return TemplateError(f"Parameter '{key}' {message}")


def _constraints(key: str, spec: dict[str, Any], kind: str, items: list[str], whole: str) -> None:
    numeric = kind in ("Number", "List<Number>")
    allowed = spec.get("AllowedValues")
    if allowed is not None:
        texts = {_text(v) for v in (allowed if isinstance(allowed, list) else [allowed])}
        for item in items if kind.startswith(_LIST_TYPES) else [whole]:
            if item not in texts:
                raise _fail(key, spec, "must be one of AllowedValues")
    for item in items:
        if numeric:
            try:
                number = float(item)
            except ValueError:
                raise _fail(key, spec, "must be a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise _fail(key, spec, f"must be a number not less than {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise _fail(key, spec, f"must be a number not greater than {spec['MaxValue']}")
    if numeric:
        return
    pattern = spec.get("AllowedPattern")
    for item in items if kind.startswith(_LIST_TYPES) else [whole]:
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            raise _fail(key, spec, f"must contain at least {spec['MinLength']} characters")
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            raise _fail(key, spec, f"must contain at most {spec['MaxLength']} characters")
        if pattern is not None:
            try:
                matched = re.fullmatch(str(pattern), item)
            except re.error:
                raise TemplateError(
                    f"Template format error: AllowedPattern of {key} is not a valid pattern"
                ) from None
            if matched is None:
                raise _fail(key, spec, f"must match pattern {pattern}")


def summary(declared: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's parameters as ValidateTemplate and GetTemplateSummary list them."""
    listed = []
    for key, spec in declared.items():
        entry: dict[str, Any] = {
            "ParameterKey": key,
            "ParameterType": str(spec.get("Type", "String")),
            "NoEcho": str(spec.get("NoEcho", "false")).lower() == "true",
            "Description": str(spec.get("Description", "")),
        }
        if "Default" in spec:
            entry["DefaultValue"] = _text(spec["Default"])
        if "AllowedValues" in spec and isinstance(spec["AllowedValues"], list):
            entry["ParameterConstraints"] = {
                "AllowedValues": [_text(v) for v in spec["AllowedValues"]]
            }
        listed.append(entry)
    return listed
