"""Stack operations as CloudFormation runs them: create, update, delete, each on a thread of
its own, one resource at a time in dependency order, with the events AWS writes and the
rollback AWS does — created resources deleted in reverse order when a create fails
(ROLLBACK_COMPLETE), changed ones put back when an update fails (``stack_update.py``). The
steps on a single resource are in ``resource_steps.py``.
"""

from __future__ import annotations

from typing import Any

from .errors import ResourceFailed, TemplateError
from .graph import creation_order
from .models import Output, Stack, now
from .plan import Plan
from .stack_update import StackUpdate


class Engine(StackUpdate):
    # -- create ---------------------------------------------------------------------------------
    def create(self, stack: Stack, plan: Plan, on_failure: str) -> None:
        self._stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
        resolver = self.resolver(stack, plan)
        failed: list[str] = []
        for name in plan.order:
            definition = plan.resources[name]
            resource = self._new_resource(stack, name, definition)
            try:
                self._create_one(stack, resolver, resource, definition)
            except ResourceFailed as exc:
                self._resource_event(stack, resource, "CREATE_FAILED", exc.reason)
                failed.append(name)
                break
        outputs: list[Output] = []
        reason = None
        if not failed:
            try:
                outputs = self.outputs(stack, plan, resolver)
            except ResourceFailed as exc:
                reason = exc.reason
        if not failed and reason is None:
            with self.store.lock:
                stack.outputs = outputs
            self._stack_event(stack, "CREATE_COMPLETE")
            return
        reason = (
            f"The following resource(s) failed to create: [{', '.join(failed)}]. "
            if failed
            else reason
        )
        if on_failure == "DO_NOTHING":
            self._stack_event(stack, "CREATE_FAILED", reason)
            return
        self._stack_event(stack, "ROLLBACK_IN_PROGRESS", f"{reason}Rollback requested by user.")
        leftovers = self._delete_resources(stack, plan.order)
        if leftovers:
            self._stack_event(
                stack,
                "ROLLBACK_FAILED",
                f"The following resource(s) failed to delete: [{', '.join(leftovers)}]. ",
            )
            return
        self._stack_event(stack, "ROLLBACK_COMPLETE")
        if on_failure == "DELETE":
            self.delete(stack, plan.order, [])

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, stack: Stack, order: list[str], retain: list[str]) -> None:
        self._stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
        for output in stack.outputs:
            if output.export_name:
                users = [s.name for s in self.store.importers(stack.region, output.export_name)]
                if users:
                    self._stack_event(
                        stack,
                        "DELETE_FAILED",
                        f"Export {output.export_name} cannot be deleted as it is in use by "
                        f"{', '.join(users)}",
                    )
                    return
        leftovers = self._delete_resources(stack, order, retain)
        if leftovers:
            self._stack_event(
                stack,
                "DELETE_FAILED",
                f"The following resource(s) failed to delete: [{', '.join(leftovers)}]. ",
            )
            return
        with self.store.lock:
            stack.deleted = now()
            stack.outputs = []
            stack.imports.clear()
        self._stack_event(stack, "DELETE_COMPLETE")
        self.store.drop_change_sets(stack.region, stack.stack_id)

    def _delete_resources(
        self, stack: Stack, order: list[str], retain: list[str] | None = None
    ) -> list[str]:
        """Delete the stack's resources, dependents first; the names that could not be."""
        known = [n for n in order if n in stack.resources]
        known += [n for n in stack.resources if n not in known]
        failed: list[str] = []
        for name in reversed(known):
            resource = stack.resources[name]
            if resource.status in ("DELETE_COMPLETE", "DELETE_SKIPPED"):
                continue
            if not resource.exists:
                if resource.status.endswith("FAILED") or resource.status.endswith("IN_PROGRESS"):
                    self._resource_event(stack, resource, "DELETE_COMPLETE")
                continue
            policy = resource.deletion_policy
            keep = policy == "Retain" or (
                policy == "RetainExceptOnCreate" and stack.status != "ROLLBACK_IN_PROGRESS"
            )
            if keep or name in (retain or []):
                self._resource_event(stack, resource, "DELETE_SKIPPED")
                continue
            try:
                self._delete_one(stack, resource)
            except ResourceFailed as exc:
                self._resource_event(stack, resource, "DELETE_FAILED", exc.reason)
                failed.append(name)
        return failed


def order_of(stack: Stack) -> list[str]:
    """The creation order of what the stack has now (for deleting it)."""
    template = stack.template.get("Resources") or {}
    definitions: dict[str, dict[str, Any]] = {}
    for name, resource in stack.resources.items():
        definition = dict(template.get(name) or {"Type": resource.resource_type})
        wanted = definition.get("DependsOn")
        if wanted is not None:
            wanted = wanted if isinstance(wanted, list) else [wanted]
            definition["DependsOn"] = [w for w in wanted if w in stack.resources]
        definitions[name] = definition
    try:
        return creation_order(definitions)
    except TemplateError:
        return list(stack.resources)
