"""From a request's template and parameters to what will be deployed, with everything AWS
refuses at the call itself (ValidationError, InsufficientCapabilitiesException) refused here:
format, transforms, parameters, conditions, references, attributes, cycles, capabilities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...constants import ACCOUNT_ID
from ...edge import ServiceError
from . import parameters as parameter_values
from . import template as templates
from .errors import TemplateError
from .graph import creation_order
from .intrinsics import Lookups, Resolver
from .parameters import Parameter
from .references import condition_names, references
from .resources.registry import handler_for, is_aws_type
from .sam import SAM, expand
from .syntax import (
    CONDITION_FUNCTIONS,
    FUNCTIONS,
    PSEUDO_PARAMETERS,
    IntrinsicError,
    get_att_parts,
    is_function,
    sub_parts,
)

IAM_TYPES = {
    "AWS::IAM::AccessKey",
    "AWS::IAM::Group",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::UserToGroupAddition",
}
# A property that names an IAM resource makes the stack need CAPABILITY_NAMED_IAM.
IAM_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}


@dataclass
class Plan:
    body: str  # the template as written
    template: dict[str, Any]  # processed: transforms applied
    transforms: list[str]
    parameters: dict[str, Parameter]
    conditions: dict[str, bool]
    resources: dict[str, dict[str, Any]]  # those whose condition holds
    order: list[str]
    needed_capabilities: list[str] = field(default_factory=list)
    capability_reasons: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, Any]:
        return self.template.get("Outputs") or {}


def pseudo(region: str, stack_name: str, stack_id: str, notifications: list[str]) -> dict:
    return {
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": region,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::Partition": "aws-cn" if region.startswith("cn-") else "aws",
        "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
        "AWS::NotificationARNs": list(notifications),
    }


@dataclass
class Context:
    region: str
    stack_name: str
    stack_id: str
    notifications: list[str] = field(default_factory=list)
    ssm: Callable[[str], str] | None = None
    managed_policies: Callable[[], dict[str, str]] = dict


def build(
    body: str,
    given: list[dict[str, Any]],
    ctx: Context,
    previous: dict[str, Parameter] | None = None,
) -> Plan:
    template = templates.load(body)
    transforms = templates.transforms(template)
    for name in transforms:
        if name != SAM:
            raise TemplateError(
                f"Template format error: transform {name} is not supported by the local cloud "
                f"(only {SAM} is)"
            )
    if SAM in transforms:
        declared = template.get("Parameters") or {}
        values = {
            str(e["ParameterKey"]): e["ParameterValue"]
            for e in given
            if "ParameterValue" in e and e.get("ParameterKey") in declared
        }
        if previous:
            for e in given:
                if e.get("UsePreviousValue") and e.get("ParameterKey") in previous:
                    values[e["ParameterKey"]] = previous[e["ParameterKey"]].value
        template = expand(template, values, ctx.region, ctx.stack_name, ctx.managed_policies)
        template.pop("Transform", None)
    templates.check_structure(template)
    params = parameter_values.resolve(template.get("Parameters") or {}, given, previous, ctx.ssm)
    values = {
        **pseudo(ctx.region, ctx.stack_name, ctx.stack_id, ctx.notifications),
        **{k: p.resolved for k, p in params.items()},
    }
    resolver = Resolver(Lookups(ctx.region, values), template.get("Conditions") or {})
    conditions = resolver.all_conditions()
    all_resources = template["Resources"]
    active: dict[str, dict[str, Any]] = {}
    for name, resource in all_resources.items():
        condition = resource.get("Condition")
        if condition is not None:
            if not isinstance(condition, str) or condition not in conditions:
                raise TemplateError(
                    f"Template format error: Unresolved resource dependencies [{condition}] in "
                    "the Conditions block of the template"
                )
            if not conditions[condition]:
                continue
        active[name] = resource
    unknown = sorted({r["Type"] for r in all_resources.values() if not is_aws_type(r["Type"])})
    if unknown:
        raise TemplateError(
            f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]"
        )
    _check_references(template, active, params, conditions)
    order = creation_order(active)
    plan = Plan(body, template, transforms, params, conditions, active, order)
    _capabilities(plan)
    return plan


def _check_references(
    template: dict[str, Any],
    active: dict[str, dict[str, Any]],
    params: dict[str, Parameter],
    conditions: dict[str, bool],
) -> None:
    every = template["Resources"]
    known = set(every) | set(params) | set(PSEUDO_PARAMETERS)
    sections = [(f"Resources/{n}", r.get("Properties") or {}) for n, r in active.items()]
    sections += [
        (f"Outputs/{n}", o)
        for n, o in (template.get("Outputs") or {}).items()
        if not o.get("Condition") or conditions.get(o["Condition"], False)
    ]
    for where, value in sections:
        _check_functions(value)
        for name in condition_names(value):
            if name not in conditions:
                raise TemplateError(
                    f"Template format error: Unresolved condition dependency {name} in Fn::If"
                )
        block = "Outputs" if where.startswith("Outputs") else "Resources"
        for ref in _taken_references(value, conditions):
            if ref.name not in known or (ref.name in every and ref.name not in active):
                kind = "Fn::GetAtt" if ref.attribute is not None else "Ref"
                if ref.attribute is not None and ref.name not in every:
                    raise TemplateError(
                        f"Template error: instance of {kind} references undefined resource "
                        f"{ref.name}"
                    )
                raise TemplateError(
                    f"Template format error: Unresolved resource dependencies [{ref.name}] in "
                    f"the {block} block of the template"
                )
            if ref.attribute is not None:
                if ref.name not in active:
                    raise TemplateError(
                        f"Template error: instance of Fn::GetAtt references undefined resource "
                        f"{ref.name}"
                    )
                handler = handler_for(active[ref.name]["Type"])
                if ref.attribute and not handler.has_attribute(ref.attribute):
                    raise TemplateError(
                        f"Template error: resource {ref.name} does not support attribute type "
                        f"{ref.attribute} in Fn::GetAtt"
                    )


def _check_functions(value: Any) -> None:
    """Functions CloudFormation does not know are refused at the call, as on AWS."""
    if isinstance(value, list):
        for item in value:
            _check_functions(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if (
                isinstance(key, str)
                and key.startswith("Fn::")
                and len(value) == 1
                and key not in (*FUNCTIONS, *CONDITION_FUNCTIONS)
            ):
                raise TemplateError(
                    f"Template format error: Encountered unsupported function: {key} Supported "
                    f"functions are: [{', '.join(FUNCTIONS)}]"
                )
            _check_functions(item)


def _taken_references(value: Any, conditions: dict[str, bool]) -> list[Any]:
    """References that resolution will follow: only the taken branch of each Fn::If."""
    if isinstance(value, list):
        return [r for item in value for r in _taken_references(item, conditions)]
    if not isinstance(value, dict):
        return []
    if is_function(value):
        ((key, argument),) = value.items()
        if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            name = argument[0]
            branch = argument[1] if conditions.get(name, False) else argument[2]
            return _taken_references(branch, conditions)
        if key == "Fn::GetAtt":
            try:
                get_att_parts(argument)
            except IntrinsicError:
                raise TemplateError(
                    "Template error: every Fn::GetAtt object requires two non-empty parameters"
                ) from None
        if key == "Fn::Sub":
            try:
                sub_parts(argument)
            except IntrinsicError as exc:
                raise TemplateError(exc.message) from None
        if key in ("Ref", "Fn::GetAtt", "Fn::Sub"):
            return references(value)
    return [r for item in value.values() for r in _taken_references(item, conditions)]


def _capabilities(plan: Plan) -> None:
    def reason(names: list[str]) -> str:
        types = sorted({plan.resources[n]["Type"] for n in names})
        return f"The following resource(s) require capabilities: [{', '.join(types)}]"

    named = [
        name
        for name, r in plan.resources.items()
        if r["Type"] in IAM_NAMES and (r.get("Properties") or {}).get(IAM_NAMES[r["Type"]])
    ]
    iam = [name for name, r in plan.resources.items() if r["Type"] in IAM_TYPES]
    if named:
        plan.needed_capabilities.append("CAPABILITY_NAMED_IAM")
        plan.capability_reasons.append(reason(named))
    elif iam:
        plan.needed_capabilities.append("CAPABILITY_IAM")
        plan.capability_reasons.append(reason(iam))


def check_capabilities(plan: Plan, given: list[str], direct: bool) -> None:
    """InsufficientCapabilitiesException as AWS answers it. ``direct``: CreateStack and
    UpdateStack, which also need CAPABILITY_AUTO_EXPAND for a transform (change sets do not)."""
    given_set = set(given)
    missing = []
    if direct and plan.transforms and "CAPABILITY_AUTO_EXPAND" not in given_set:
        missing.append("CAPABILITY_AUTO_EXPAND")
    for needed in plan.needed_capabilities:
        if needed == "CAPABILITY_IAM" and given_set & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
            continue
        if needed not in given_set:
            missing.append(needed)
    if missing:
        raise ServiceError(
            "InsufficientCapabilitiesException",
            f"Requires capabilities : [{', '.join(missing)}]",
        )
