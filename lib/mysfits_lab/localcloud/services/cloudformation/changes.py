"""A stack against a new plan: the plan of what the stack has now, whether the new one changes
anything, and the changes a change set lists."""

from __future__ import annotations

from .engine import order_of
from .models import Change, Stack
from .plan import Plan
from .references import references


def current_plan(stack: Stack) -> Plan:
    template_resources = stack.template.get("Resources") or {}
    resources = {
        name: template_resources.get(name) or {"Type": r.resource_type}
        for name, r in stack.resources.items()
        if r.exists
    }
    return Plan(
        body=stack.template_body,
        template=stack.template,
        transforms=stack.transforms,
        parameters=stack.parameters,
        conditions={},
        resources=resources,
        order=[n for n in order_of(stack) if n in resources],
    )


def has_changes(stack: Stack, plan: Plan, tags: list[dict[str, str]]) -> bool:
    same_parameters = {k: v.value for k, v in stack.parameters.items()} == {
        k: v.value for k, v in plan.parameters.items()
    }
    return not (plan.template == stack.template and same_parameters and tags == stack.tags)


def change_list(stack: Stack, plan: Plan, kind: str) -> list[Change]:
    if kind == "CREATE":
        return [Change("Add", n, plan.resources[n]["Type"]) for n in plan.order]
    old = stack.template.get("Resources") or {}
    changed_parameters = {
        k for k, v in plan.parameters.items() if stack.parameters.get(k, v).value != v.value
    }
    changes = []
    for name in plan.order:
        definition = plan.resources[name]
        current = stack.resources.get(name)
        if current is None or not current.exists:
            changes.append(Change("Add", name, definition["Type"]))
        elif old.get(name) != definition or any(
            r.name in changed_parameters for r in references(definition.get("Properties") or {})
        ):
            changes.append(
                Change(
                    "Modify",
                    name,
                    definition["Type"],
                    current.physical_id,
                    "True" if current.resource_type != definition["Type"] else "Conditional",
                )
            )
    for name, resource in stack.resources.items():
        if resource.exists and name not in plan.resources:
            changes.append(Change("Remove", name, resource.resource_type, resource.physical_id))
    return changes
