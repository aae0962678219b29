"""The order of a stack's resources: each after what it refers to (Ref, Fn::GetAtt, Fn::Sub)
and what it ``DependsOn``; deletion in the reverse order. Ties keep the template's order."""

from __future__ import annotations

from typing import Any

from .errors import TemplateError
from .references import references


def depends_on(resource: dict[str, Any]) -> list[str]:
    value = resource.get("DependsOn")
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise TemplateError("Template format error: DependsOn must be a name or a list of names")
    return list(items)


def dependencies(resources: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """name → the resources (among ``resources``) it needs first."""
    needs: dict[str, list[str]] = {}
    for name, resource in resources.items():
        wanted: list[str] = []
        for other in depends_on(resource):
            if other not in resources:
                raise TemplateError(
                    f"Template format error: Unresolved resource dependencies [{other}] in the "
                    "Resources block of the template"
                )
            wanted.append(other)
        for reference in references(resource.get("Properties") or {}):
            if reference.name in resources:
                wanted.append(reference.name)
        if name in wanted:
            raise TemplateError(f"Circular dependency between resources: [{name}]")
        needs[name] = list(dict.fromkeys(wanted))
    return needs


def creation_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Resources in an order that creates each after its dependencies; TemplateError naming
    the resources of a cycle."""
    needs = dependencies(resources)
    order: list[str] = []
    placed: set[str] = set()
    pending = list(resources)
    while pending:
        ready = [name for name in pending if all(n in placed for n in needs[name])]
        if not ready:
            raise TemplateError(f"Circular dependency between resources: [{', '.join(pending)}]")
        first = ready[0]  # one at a time keeps the template's order among independent ones
        order.append(first)
        placed.add(first)
        pending.remove(first)
    return order


def dependents(resources: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Every resource that needs ``name``, directly or not."""
    needs = dependencies(resources)
    found: set[str] = set()
    frontier = {name}
    while frontier:
        found_now = {n for n, wanted in needs.items() if frontier & set(wanted)} - found
        found |= found_now
        frontier = found_now
    return found
