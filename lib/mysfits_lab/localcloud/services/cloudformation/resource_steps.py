"""The engine's single steps, each on one resource: create it, delete it, resolve its
properties, turn a handler's errors into the reasons AWS gives, and record the events; and
running a whole operation on a thread of its own.

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


class ResourceSteps:
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

    # -- one resource ---------------------------------------------------------------------------
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
