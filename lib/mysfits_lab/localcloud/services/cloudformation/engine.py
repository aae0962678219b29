"""Stack operations as CloudFormation runs them: create, update, delete, each on a thread of
its own, one resource at a time in dependency order, with the events AWS writes and the
rollback AWS does — created resources deleted in reverse order when a create fails
(ROLLBACK_COMPLETE), changed ones put back when an update fails (UPDATE_ROLLBACK_COMPLETE).

The API call that starts an operation waits for it a few seconds (``SYNC_SECONDS``), so a
quick stack is settled when CreateStack returns — and a failed one has rolled back, which
boto3's waiters, whose first poll is immediate, report at once instead of after 30 s.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError
from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

from .enums import normalize
from .errors import (
    NeedsReplacement,
    ResourceFailed,
    Retained,
    TemplateError,
    from_client_error,
    from_param_error,
)
from .graph import creation_order
from .intrinsics import Lookups, Resolver
from .models import STACK_TYPE, Output, Stack, StackEvent, StackResource, now
from .plan import Plan, pseudo
from .resources.base import Handler, ResourceRequest, StackInfo
from .resources.registry import handler_for
from .store import StackStore

log = logging.getLogger("mysfits_lab.localcloud.cloudformation")
SYNC_SECONDS = 10.0
DEPENDENCY_RETRIES = 4  # a deletion AWS would retry while a dependency finishes going


@dataclass
class Services:
    """How the engine reaches the cloud."""

    client: Callable[[str, str], Any]  # (service, region) → boto3 client
    availability_zones: Callable[[str], list[str]] = lambda region: []


class Engine:
    def __init__(self, store: StackStore, services: Services):
        self.store = store
        self.services = services

    # -- running an operation ---------------------------------------------------------------------
    def run(self, stack: Stack, operation: Callable[[], None], wait: float = SYNC_SECONDS) -> None:
        """Start ``operation`` on its own thread; return when it ends or after ``wait``."""
        done = threading.Event()
        stack.busy = True

        def body() -> None:
            try:
                operation()
            except Exception:  # an engine bug must not leave the stack IN_PROGRESS forever
                log.exception("stack operation on %s failed", stack.name)
                with self.store.lock:
                    failed = stack.status.replace("IN_PROGRESS", "FAILED")
                    if failed == stack.status:
                        failed = "UPDATE_ROLLBACK_FAILED"
                    self._stack_event(stack, failed, "Internal failure of the local cloud")
            finally:
                stack.busy = False
                done.set()

        threading.Thread(target=body, name=f"cfn-{stack.name}", daemon=True).start()
        done.wait(wait)

    # -- events --------------------------------------------------------------------------------
    def _stack_event(self, stack: Stack, status: str, reason: str | None = None) -> None:
        with self.store.lock:
            # A rolled-back stack keeps saying why it was rolled back (DescribeStacks, and so
            # the last answer a failed waiter holds).
            kept = stack.reason if status == "ROLLBACK_COMPLETE" and reason is None else None
            stack.status, stack.reason = status, reason or kept
            stack.events.append(
                StackEvent(
                    stack, stack.name, stack.stack_id, STACK_TYPE, status, reason, token=stack.token
                )
            )

    def _resource_event(
        self,
        stack: Stack,
        resource: StackResource,
        status: str,
        reason: str | None = None,
        properties: dict[str, Any] | None = None,
        physical_id: str | None = None,
    ) -> None:
        with self.store.lock:
            resource.status, resource.reason, resource.updated = status, reason, now()
            stack.events.append(
                StackEvent(
                    stack,
                    resource.logical_id,
                    physical_id if physical_id is not None else resource.physical_id or "",
                    resource.resource_type,
                    status,
                    reason,
                    properties,
                    token=stack.token,
                )
            )

    # -- resolution ------------------------------------------------------------------------------
    def resolver(self, stack: Stack, plan: Plan) -> Resolver:
        values = {
            **pseudo(stack.region, stack.name, stack.stack_id, stack.notification_arns),
            **{k: p.resolved for k, p in plan.parameters.items()},
        }

        def ref(name: str) -> Any:
            resource = stack.resources.get(name)
            if resource is None or not resource.exists:
                raise ResourceFailed(
                    f"Template format error: Unresolved resource dependencies [{name}] in the "
                    "Resources block of the template"
                )
            return resource.ref if resource.ref is not None else resource.physical_id

        def attribute(name: str, attribute: str) -> Any:
            resource = stack.resources.get(name)
            if resource is None or not resource.exists:
                raise ResourceFailed(
                    f"Template error: instance of Fn::GetAtt references undefined resource {name}"
                )
            return handler_for(resource.resource_type).attribute(resource, attribute)

        def import_value(name: str) -> str:
            exported = self.store.exports(stack.region).get(name)
            if exported is None:
                raise ResourceFailed(f"No export named {name} found.")
            stack.imports.add(name)
            return exported[1]

        lookups = Lookups(
            region=stack.region,
            values=values,
            mappings=plan.template.get("Mappings") or {},
            ref=ref,
            attribute=attribute,
            availability_zones=self.services.availability_zones,
            import_value=import_value,
        )
        return Resolver(lookups, plan.template.get("Conditions") or {})

    def _request(
        self, stack: Stack, name: str, resource_type: str, properties: dict[str, Any]
    ) -> ResourceRequest:
        info = StackInfo(stack.name, stack.stack_id, stack.region, list(stack.tags))
        return ResourceRequest(
            logical_id=name,
            resource_type=resource_type,
            properties=properties,
            stack=info,
            client=lambda service: self.services.client(service, stack.region),
        )

    def _properties(self, resolver: Resolver, definition: dict[str, Any]) -> dict[str, Any]:
        try:
            resolved = resolver.resolve(copy.deepcopy(definition.get("Properties") or {}))
        except TemplateError as exc:
            raise ResourceFailed(exc.message) from None
        return normalize(definition["Type"], resolved)

    @staticmethod
    def _attempt(handler: Handler, logical_id: str, action: Callable[[], Any]) -> Any:
        """Run a handler call; API errors become the reasons AWS's handlers give."""
        try:
            return action()
        except (ResourceFailed, NeedsReplacement, Retained):
            raise
        except ClientError as exc:
            raise from_client_error(exc, handler.service or "AWS") from None
        except ParamValidationError as exc:
            raise from_param_error(exc, logical_id) from None
        except TemplateError as exc:
            raise ResourceFailed(exc.message) from None
        except (HTTPException, ServiceException) as exc:  # a moto model refused it
            message = getattr(exc, "message", None) or str(exc)
            raise ResourceFailed(
                f'Resource handler returned message: "{message}" (HandlerErrorCode: InvalidRequest)'
            ) from None
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            # A property of the wrong shape (a number for a list, a list for a map).
            log.info("resource %s: %s", logical_id, exc)
            raise ResourceFailed(
                f"Properties validation failed for resource {logical_id} with message: "
                f"a property has the wrong type or shape ({type(exc).__name__}: {exc})"
            ) from None
        except Exception as exc:  # a handler bug: say so, never a 500
            log.exception("resource %s failed", logical_id)
            raise ResourceFailed(f"Internal Failure: {type(exc).__name__}: {exc}") from None

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

    def _new_resource(self, stack: Stack, name: str, definition: dict[str, Any]) -> StackResource:
        resource = StackResource(
            logical_id=name,
            resource_type=definition["Type"],
            description=(definition.get("Metadata") or {}).get("Description")
            if isinstance(definition.get("Metadata"), dict)
            else None,
            metadata=definition.get("Metadata"),
            deletion_policy=str(definition.get("DeletionPolicy", "Delete")),
        )
        with self.store.lock:
            stack.resources[name] = resource
        return resource

    def _create_one(
        self,
        stack: Stack,
        resolver: Resolver,
        resource: StackResource,
        definition: dict[str, Any],
        reason: str | None = None,
    ) -> None:
        self._resource_event(
            stack, resource, "CREATE_IN_PROGRESS", reason, definition.get("Properties") or {}
        )
        handler = handler_for(resource.resource_type)
        properties = self._properties(resolver, definition)
        req = self._request(stack, resource.logical_id, resource.resource_type, properties)
        result = self._attempt(handler, resource.logical_id, lambda: handler.create(req))
        with self.store.lock:
            resource.physical_id = result.physical_id
            resource.ref = result.ref
            resource.attributes = result.attributes
            resource.handle = result.handle
            resource.properties = properties
        self._resource_event(
            stack,
            resource,
            "CREATE_IN_PROGRESS",
            "Resource creation Initiated",
            definition.get("Properties") or {},
        )
        self._resource_event(
            stack, resource, "CREATE_COMPLETE", None, definition.get("Properties") or {}
        )

    def outputs(self, stack: Stack, plan: Plan, resolver: Resolver) -> list[Output]:
        found: list[Output] = []
        exports = self.store.exports(stack.region)
        for key, output in plan.outputs.items():
            condition = output.get("Condition")
            if condition and not plan.conditions.get(condition, False):
                continue
            try:
                value = resolver.resolve(copy.deepcopy(output.get("Value")))
                export = output.get("Export")
                export_name = (
                    resolver.resolve(copy.deepcopy(export.get("Name")))
                    if isinstance(export, dict)
                    else None
                )
            except TemplateError as exc:
                raise ResourceFailed(exc.message) from None
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = str(value).lower()
            elif not isinstance(value, str):
                value = str(value)
            if export_name is not None:
                holder = exports.get(str(export_name))
                if holder is not None and holder[0] is not stack:
                    raise ResourceFailed(
                        f"Export with name {export_name} is already exported by stack "
                        f"{holder[0].name}"
                    )
            found.append(
                Output(
                    key,
                    value,
                    output.get("Description"),
                    None if export_name is None else str(export_name),
                )
            )
        return found

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

    def _delete_one(
        self, stack: Stack, resource: StackResource, physical_id: str | None = None
    ) -> None:
        self._resource_event(stack, resource, "DELETE_IN_PROGRESS", physical_id=physical_id)
        handler = handler_for(resource.resource_type)
        req = self._request(stack, resource.logical_id, resource.resource_type, resource.properties)
        for attempt in range(DEPENDENCY_RETRIES):
            try:
                self._attempt(handler, resource.logical_id, lambda: handler.delete(req, resource))
                break
            except Retained as kept:
                self._resource_event(
                    stack, resource, "DELETE_SKIPPED", kept.reason, physical_id=physical_id
                )
                return
            except ResourceFailed as exc:
                if "DependencyViolation" not in exc.reason or attempt == DEPENDENCY_RETRIES - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
        self._resource_event(stack, resource, "DELETE_COMPLETE", physical_id=physical_id)

    # -- update ---------------------------------------------------------------------------------
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
