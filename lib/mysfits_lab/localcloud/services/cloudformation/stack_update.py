"""UpdateStack as CloudFormation runs it: each resource created, updated in place or
replaced in dependency order, then the cleanup of replaced and removed resources — or, when
the update fails, what changed put back (UPDATE_ROLLBACK_COMPLETE)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import NeedsReplacement, ResourceFailed
from .models import Output, Stack, StackResource
from .plan import Plan
from .resource_steps import ResourceSteps
from .resources.registry import handler_for


class StackUpdate(ResourceSteps):
    def update(self, stack: Stack, old: Plan, new: Plan, disable_rollback: bool) -> None:
        """Change the stack from ``old`` to ``new``; on failure, put back what changed."""
        self._stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
        resolver = self.resolver(stack, new)
        # (name, before): before is None for a created resource, else the state to restore
        touched: list[tuple[str, StackResource | None]] = []
        replaced: list[StackResource] = []  # old physical resources to delete in cleanup
        failed: str | None = None
        for name in new.order:
            definition = new.resources[name]
            current = stack.resources.get(name)
            try:
                if (
                    current is None
                    or not current.exists
                    or current.resource_type != definition["Type"]
                ):
                    if current is not None and current.exists:
                        replaced.append(copy.copy(current))
                    touched.append(
                        (name, copy.copy(current) if current and current.exists else None)
                    )
                    resource = self._new_resource(stack, name, definition)
                    self._create_one(stack, resolver, resource, definition)
                    continue
                properties = self._properties(resolver, definition)
                current.deletion_policy = str(definition.get("DeletionPolicy", "Delete"))
                if properties == current.properties:
                    continue
                before = copy.copy(current)
                touched.append((name, before))
                outcome = self._update_one(stack, current, definition, properties)
                if outcome is not None:
                    replaced.append(outcome)
            except ResourceFailed as exc:
                resource = stack.resources[name]
                status = (
                    "CREATE_FAILED" if resource.status == "CREATE_IN_PROGRESS" else "UPDATE_FAILED"
                )
                self._resource_event(stack, resource, status, exc.reason)
                failed = name
                break
        outputs: list[Output] = []
        reason = f"The following resource(s) failed to update: [{failed}]. "
        if failed is None:
            try:
                outputs = self.outputs(stack, new, resolver)
            except ResourceFailed as exc:
                failed, reason = "Outputs", exc.reason
        if failed is None:
            removed = [
                n for n in reversed(old.order) if n not in new.resources and n in stack.resources
            ]
            with self.store.lock:
                stack.outputs = outputs
                stack.template, stack.parameters = new.template, new.parameters
                stack.transforms, stack.template_body = new.transforms, new.body
            self._stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            self._cleanup(stack, replaced, removed)
            self._stack_event(stack, "UPDATE_COMPLETE")
            return
        if disable_rollback:
            self._stack_event(stack, "UPDATE_FAILED", reason)
            return
        self._stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        problems = self._roll_back(stack, touched, old)
        if problems:
            self._stack_event(
                stack,
                "UPDATE_ROLLBACK_FAILED",
                f"The following resource(s) failed to update: [{', '.join(problems)}]. ",
            )
            return
        self._stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        self._stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")

    def _update_one(
        self,
        stack: Stack,
        current: StackResource,
        definition: dict[str, Any],
        properties: dict[str, Any],
    ) -> StackResource | None:
        """Update in place, or replace: the replaced (old) resource is returned for cleanup."""
        handler = handler_for(current.resource_type)
        template_properties = definition.get("Properties") or {}
        self._resource_event(stack, current, "UPDATE_IN_PROGRESS", None, template_properties)
        req = self._request(stack, current.logical_id, current.resource_type, properties)
        try:
            result = self._attempt(
                handler, current.logical_id, lambda: handler.update(req, current)
            )
        except NeedsReplacement:
            name_property = handler.name_property
            if (
                name_property
                and properties.get(name_property)
                and properties.get(name_property) == current.properties.get(name_property)
            ):
                raise ResourceFailed(
                    f"CloudFormation cannot update a stack when a custom-named resource requires "
                    f"replacing. Rename {properties[name_property]} and update the stack again."
                ) from None
            old = copy.copy(current)
            self._resource_event(
                stack,
                current,
                "UPDATE_IN_PROGRESS",
                "Requested update requires the creation of a new physical resource; hence "
                "creating one.",
                template_properties,
            )
            result = self._attempt(handler, current.logical_id, lambda: handler.create(req))
            with self.store.lock:
                current.physical_id, current.ref = result.physical_id, result.ref
                current.attributes, current.handle = result.attributes, result.handle
                current.properties = properties
            self._resource_event(stack, current, "UPDATE_COMPLETE", None, template_properties)
            return old
        with self.store.lock:
            current.physical_id, current.ref = result.physical_id, result.ref
            current.attributes = result.attributes
            if result.handle is not None:
                current.handle = result.handle
            current.properties = properties
        self._resource_event(stack, current, "UPDATE_COMPLETE", None, template_properties)
        return None

    def _cleanup(self, stack: Stack, replaced: list[StackResource], removed: list[str]) -> None:
        for old in reversed(replaced):
            try:
                self._delete_one(stack, old, physical_id=old.physical_id)
            except ResourceFailed as exc:
                self._resource_event(stack, old, "DELETE_FAILED", exc.reason)
        for name in removed:
            resource = stack.resources[name]
            if resource.exists and resource.deletion_policy not in (
                "Retain",
                "RetainExceptOnCreate",
            ):
                try:
                    self._delete_one(stack, resource)
                except ResourceFailed as exc:
                    self._resource_event(stack, resource, "DELETE_FAILED", exc.reason)
                    continue
            elif resource.exists:
                self._resource_event(stack, resource, "DELETE_SKIPPED")
            with self.store.lock:
                stack.resources.pop(name, None)

    def _roll_back(
        self, stack: Stack, touched: list[tuple[str, StackResource | None]], old: Plan
    ) -> list[str]:
        problems: list[str] = []
        for name, before in reversed(touched):
            current = stack.resources.get(name)
            if current is None:
                continue
            if before is None or current.physical_id != before.physical_id:
                # created by this update (or a replacement): delete the new one
                if current.exists:
                    try:
                        self._delete_one(stack, current)
                    except ResourceFailed as exc:
                        self._resource_event(stack, current, "DELETE_FAILED", exc.reason)
                        problems.append(name)
                        continue
                with self.store.lock:
                    if before is None:
                        stack.resources.pop(name, None)
                    else:
                        stack.resources[name] = before
                        before.status = "UPDATE_COMPLETE"
                if before is not None:
                    self._resource_event(stack, before, "UPDATE_COMPLETE")
                continue
            # updated in place: apply the previous properties again
            handler = handler_for(current.resource_type)
            self._resource_event(stack, current, "UPDATE_IN_PROGRESS")
            req = self._request(stack, name, current.resource_type, before.properties)
            try:
                result = self._attempt(
                    handler,
                    name,
                    lambda h=handler, r=req, c=current: h.update(r, c),
                )
            except (ResourceFailed, NeedsReplacement) as exc:
                reason = getattr(exc, "reason", "the previous state cannot be restored in place")
                self._resource_event(stack, current, "UPDATE_FAILED", reason)
                problems.append(name)
                continue
            with self.store.lock:
                current.properties = before.properties
                current.attributes = result.attributes or before.attributes
            self._resource_event(stack, current, "UPDATE_COMPLETE")
        # resources of the old template that the failed update never reached stay as they are
        del old
        return problems
