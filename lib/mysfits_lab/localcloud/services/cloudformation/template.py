"""Reading a template as CloudFormation reads it: JSON, or YAML with the short-form tags.

CloudFormation's YAML has no timestamps: ``Version: 2012-10-17`` unquoted is the string
"2012-10-17" (PyYAML would build a ``date``, which moto then fails to serialize). Aliases and
``!!python/`` tags are refused at the edge (``edge/moto_guards.py``); the loader here is a safe
one, so a template fetched from S3 cannot build objects either.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from ...edge.moto_guards import PYTHON_TAG, yaml_facts
from ...edge.request import MAX_JSON_DEPTH, json_too_deep
from .errors import TemplateError

TOP_LEVEL = (
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Hooks",
)
RESOURCE_ATTRIBUTES = (
    "Type",
    "Properties",
    "DependsOn",
    "Metadata",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "CreationPolicy",
    "UpdatePolicy",
    "Version",  # custom resources may carry it
)
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader without timestamps, with CloudFormation's tags, refusing
    duplicate keys as CloudFormation does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _short_form(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``,
    ``!Condition C`` → ``{"Condition": "C"}``, ``!Sub ...`` → ``{"Fn::Sub": ...}``."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


def _mapping(loader: yaml.Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            mark = key_node.start_mark
            raise TemplateError(
                f"Template format error: YAML not well-formed. (line {mark.line + 1}, "
                f"column {mark.column + 1}): duplicate key {key!r}"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_multi_constructor("!", _short_form)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(text: str) -> dict[str, Any]:
    """The template as a dict; TemplateError (a ValidationError) when it is not one."""
    stripped = text.lstrip()
    if not stripped:
        raise TemplateError("Template format error: the template is empty")
    if json_too_deep(text.encode()):
        raise TemplateError(f"Template format error: nested deeper than {MAX_JSON_DEPTH} levels")
    document: Any
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"Template format error: JSON not well-formed. ({exc})") from None
    else:
        try:
            aliases, tags = yaml_facts(text)
        except ValueError as exc:
            raise TemplateError(f"Template format error: YAML not well-formed. {exc}") from None
        if aliases:
            raise TemplateError(
                "Template error: YAML aliases are not allowed in CloudFormation templates"
            )
        python = sorted(t for t in tags if t.startswith(PYTHON_TAG))
        if python:
            raise TemplateError(f"Template format error: unsupported YAML tag {python[0]}")
        try:
            document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            detail = str(exc).replace("\n", " ")
            raise TemplateError(f"Template format error: YAML not well-formed. {detail}") from None
    if not isinstance(document, dict):
        raise TemplateError("Template format error: JSON not well-formed. (a template is a map)")
    return document


def check_structure(template: dict[str, Any]) -> None:
    """What CloudFormation refuses before it looks at any resource."""
    unknown = [str(key) for key in template if key not in TOP_LEVEL]
    if unknown:
        raise TemplateError(
            f"Template format error: Invalid template property or properties [{', '.join(unknown)}]"
        )
    version = template.get("AWSTemplateFormatVersion")
    if version is not None and str(version) != "2010-09-09":
        raise TemplateError(
            f"Template format error: Unsupported template version '{version}' "
            "(2010-09-09 is the only one)"
        )
    description = template.get("Description")
    if description is not None and not isinstance(description, str):
        raise TemplateError("Template format error: Every Description member must be a string.")
    for section in ("Parameters", "Mappings", "Conditions", "Outputs", "Metadata", "Rules"):
        value = template.get(section)
        if value is not None and not isinstance(value, dict):
            raise TemplateError(f"Template format error: {section} must be a map")
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("Template format error: At least one Resources member must be defined.")
    if len(resources) > MAX_RESOURCES:
        raise TemplateError(
            f"Template format error: Number of resources, {len(resources)}, is greater than "
            f"maximum allowed, {MAX_RESOURCES}"
        )
    for name, resource in resources.items():
        if not isinstance(resource, dict):
            raise TemplateError(
                f"Template format error: [/Resources/{name}] Every Resources object must "
                "contain a Type member."
            )
        kind = resource.get("Type")
        if not isinstance(kind, str) or not kind:
            raise TemplateError(
                f"Template format error: [/Resources/{name}] Every Resources object must "
                "contain a Type member."
            )
        extra = [str(k) for k in resource if k not in RESOURCE_ATTRIBUTES]
        if extra:
            raise TemplateError(
                f"Template format error: [/Resources/{name}] Invalid template resource "
                f"property '{extra[0]}'"
            )
        properties = resource.get("Properties")
        if properties is not None and not isinstance(properties, dict):
            raise TemplateError(
                f"Template format error: [/Resources/{name}/Properties] Properties must be a map"
            )
    outputs = template.get("Outputs") or {}
    if len(outputs) > MAX_OUTPUTS:
        raise TemplateError(
            f"Template format error: Number of outputs, {len(outputs)}, is greater than "
            f"maximum allowed, {MAX_OUTPUTS}"
        )
    for name, output in outputs.items():
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError(
                f"Template format error: Every Outputs member must contain a Value object "
                f"(the output {name} does not)"
            )
    parameters = template.get("Parameters") or {}
    if len(parameters) > MAX_PARAMETERS:
        raise TemplateError(
            f"Template format error: Number of parameters, {len(parameters)}, is greater than "
            f"maximum allowed, {MAX_PARAMETERS}"
        )
    for name, parameter in parameters.items():
        if not isinstance(parameter, dict) or not isinstance(parameter.get("Type"), str):
            raise TemplateError(
                f"Template format error: Every Parameters object must contain a Type member "
                f"(the parameter {name} does not)"
            )


def transforms(template: dict[str, Any]) -> list[str]:
    """The template's declared transforms (a name, or a list of names)."""
    declared = template.get("Transform")
    if declared is None:
        return []
    items = declared if isinstance(declared, list) else [declared]
    names = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("Name"), str):
            names.append(item["Name"])
        else:
            raise TemplateError("Template format error: Transform must be a name or a list")
    return names


def dump(template: dict[str, Any]) -> str:
    """The processed template as GetTemplate's Processed stage gives it: JSON."""
    return json.dumps(template, indent=2, default=str)
