"""CloudFormation's read operations over the store: stacks, events, resources, templates,
exports, and what a template needs (ValidateTemplate, GetTemplateSummary)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...edge import ServiceError
from . import parameters as parameter_values
from . import template as templates
from .errors import TemplateError, not_found
from .graph import creation_order
from .models import Stack
from .plan import IAM_NAMES, IAM_TYPES
from .references import references
from .sam import SAM
from .store import StackStore
from .syntax import PSEUDO_PARAMETERS


def _is_arn(name: str) -> bool:
    return name.startswith("arn:")


def describe_stacks(store: StackStore, region: str, name: str | None) -> dict[str, Any]:
    with store.lock:
        if name:
            return {"Stacks": [store.get(region, name, deleted=_is_arn(name)).to_api()]}
        stacks = [s for s in reversed(store.all(region)) if not s.is_deleted]
        return {"Stacks": [s.to_api() for s in stacks]}


def list_stacks(store: StackStore, region: str, statuses: list[str] | None) -> dict[str, Any]:
    with store.lock:
        stacks = [
            s.summary() for s in reversed(store.all(region)) if not statuses or s.status in statuses
        ]
    return {"StackSummaries": stacks}


def stack_events(store: StackStore, region: str, name: str) -> dict[str, Any]:
    with store.lock:
        stack = store.get(region, name, deleted=_is_arn(name))
        return {"StackEvents": [e.to_api() for e in reversed(stack.events)]}


def _stack_of_physical(store: StackStore, region: str, physical_id: str) -> Stack:
    for stack in reversed(store.all(region)):
        if stack.is_deleted:
            continue
        if any(r.physical_id == physical_id for r in stack.resources.values()):
            return stack
    raise ServiceError("ValidationError", f"Stack for {physical_id} does not exist")


def stack_resources(
    store: StackStore,
    region: str,
    name: str | None,
    logical_id: str | None,
    physical_id: str | None,
) -> dict[str, Any]:
    with store.lock:
        if name:
            stack = store.get(region, name, deleted=_is_arn(name))
        elif physical_id:
            stack = _stack_of_physical(store, region, physical_id)
        else:
            raise ServiceError(
                "ValidationError", "Either StackName or PhysicalResourceId must be specified."
            )
        found = [
            r.detail(stack) | {"Timestamp": r.updated}
            for r in stack.resources.values()
            if (logical_id is None or r.logical_id == logical_id)
            and (physical_id is None or r.physical_id == physical_id)
        ]
    return {"StackResources": found}


def stack_resource(store: StackStore, region: str, name: str, logical_id: str) -> dict[str, Any]:
    with store.lock:
        stack = store.get(region, name, deleted=_is_arn(name))
        resource = stack.resources.get(logical_id)
        if resource is None:
            raise ServiceError(
                "ValidationError", f"Resource {logical_id} does not exist for stack {name}"
            )
        detail = resource.detail(stack) | {"LastUpdatedTimestamp": resource.updated}
        if resource.metadata is not None:
            detail["Metadata"] = json.dumps(resource.metadata, default=str)
    return {"StackResourceDetail": detail}


def list_resources(store: StackStore, region: str, name: str) -> dict[str, Any]:
    with store.lock:
        stack = store.get(region, name, deleted=_is_arn(name))
        summaries = []
        for resource in stack.resources.values():
            entry = {
                "LogicalResourceId": resource.logical_id,
                "PhysicalResourceId": resource.physical_id or "",
                "ResourceType": resource.resource_type,
                "LastUpdatedTimestamp": resource.updated,
                "ResourceStatus": resource.status,
                "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
            }
            if resource.reason:
                entry["ResourceStatusReason"] = resource.reason
            summaries.append(entry)
    return {"StackResourceSummaries": summaries}


def get_template(stack: Stack, stage: str | None, body: str, template: dict) -> dict[str, Any]:
    stages = ["Original", "Processed"] if stack.transforms else ["Original"]
    text = templates.dump(template) if stage == "Processed" and stack.transforms else body
    return {"TemplateBody": text, "StagesAvailable": stages}


def list_exports(store: StackStore, region: str) -> dict[str, Any]:
    return {
        "Exports": [
            {"ExportingStackId": stack.stack_id, "Name": name, "Value": value}
            for name, (stack, value) in store.exports(region).items()
        ]
    }


def list_imports(store: StackStore, region: str, export_name: str) -> dict[str, Any]:
    users = store.importers(region, export_name)
    if not users:
        raise ServiceError(
            "ValidationError", f"Export '{export_name}' is not imported by any stack."
        )
    return {"Imports": [s.name for s in users]}


# -- what a template needs ----------------------------------------------------------------------
def inspect(
    body: str, expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """ValidateTemplate's checks and answer: format, structure, names that exist, no cycle.
    A SAM template is expanded by ``expand`` (the translator) and its result checked."""
    template = templates.load(body)
    transforms = templates.transforms(template)
    checked = template
    for name in transforms:
        if name != SAM:
            raise TemplateError(
                f"Template format error: transform {name} is not supported by the local cloud "
                f"(only {SAM} is)"
            )
    if transforms and expand is not None:
        checked = expand(template)
    if not transforms or expand is not None:
        templates.check_structure(checked)
        _check_names(checked)
    declared = template.get("Parameters") or {}
    capabilities, reason = _capabilities(checked)
    answer: dict[str, Any] = {
        "Parameters": [
            {
                k: v
                for k, v in entry.items()
                if k in ("ParameterKey", "DefaultValue", "NoEcho", "Description")
            }
            for entry in parameter_values.summary(declared)
        ],
        "Capabilities": capabilities,
        "DeclaredTransforms": transforms,
    }
    if reason:
        answer["CapabilitiesReason"] = reason
    if isinstance(template.get("Description"), str):
        answer["Description"] = template["Description"]
    return answer


def summary(body: str) -> dict[str, Any]:
    """GetTemplateSummary's answer for a template."""
    answer = inspect(body)
    template = templates.load(body)
    resources = template.get("Resources") or {}
    by_type: dict[str, list[str]] = {}
    for name, resource in resources.items():
        by_type.setdefault(str(resource.get("Type")), []).append(name)
    result: dict[str, Any] = {
        "Parameters": parameter_values.summary(template.get("Parameters") or {}),
        "Capabilities": answer["Capabilities"],
        "ResourceTypes": sorted(by_type),
        "DeclaredTransforms": answer["DeclaredTransforms"],
        "ResourceIdentifierSummaries": [
            {"ResourceType": kind, "LogicalResourceIds": names, "ResourceIdentifiers": []}
            for kind, names in sorted(by_type.items())
        ],
    }
    if "AWSTemplateFormatVersion" in template:
        result["Version"] = str(template["AWSTemplateFormatVersion"])
    if "CapabilitiesReason" in answer:
        result["CapabilitiesReason"] = answer["CapabilitiesReason"]
    if "Description" in answer:
        result["Description"] = answer["Description"]
    if template.get("Metadata") is not None:
        result["Metadata"] = json.dumps(template["Metadata"], default=str)
    return result


def _check_names(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    known = set(resources) | set(template.get("Parameters") or {}) | set(PSEUDO_PARAMETERS)
    for block in ("Resources", "Outputs"):
        for entry in (template.get(block) or {}).values():
            value = entry.get("Properties") if block == "Resources" else entry
            for ref in references(value or {}):
                if ref.name not in known:
                    raise TemplateError(
                        f"Template format error: Unresolved resource dependencies [{ref.name}] "
                        f"in the {block} block of the template"
                    )
                if ref.attribute is not None and ref.name not in resources:
                    raise TemplateError(
                        f"Template error: instance of Fn::GetAtt references undefined resource "
                        f"{ref.name}"
                    )
    creation_order(resources)


def _capabilities(template: dict[str, Any]) -> tuple[list[str], str | None]:
    resources = template.get("Resources") or {}
    types = {str(r.get("Type")) for r in resources.values() if isinstance(r, dict)}
    named = any(
        isinstance(r, dict)
        and r.get("Type") in IAM_NAMES
        and (r.get("Properties") or {}).get(IAM_NAMES[r["Type"]])
        for r in resources.values()
    )
    iam = sorted(types & IAM_TYPES)
    reason = f"The following resource(s) require capabilities: [{', '.join(iam)}]"
    if named:
        return ["CAPABILITY_NAMED_IAM"], reason
    if iam:
        return ["CAPABILITY_IAM"], reason
    return [], None


def stack_or_none(store: StackStore, region: str, name: str) -> Stack:
    stack = store.find(region, name, deleted=_is_arn(name))
    if stack is None:
        raise not_found(name)
    return stack
