"""Change sets: created (their plan and list of changes worked out at once, or FAILED with
AWS's reason), described, listed, deleted, and executed as a create or an update."""

from __future__ import annotations

from typing import Any

from ...core.provider import Context
from ...edge import Call, ServiceError
from .call_inputs import plan_context, template_body
from .changes import change_list, current_plan, has_changes
from .checks import check_name
from .engine import Engine
from .errors import validation
from .models import UPDATABLE, ChangeSet, Stack, change_set_arn, now, stack_arn
from .plan import Plan, build, check_capabilities
from .sam import ManagedPolicies
from .store import StackStore

NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create "
    "a change set."
)


class ChangeSets:
    """The change-set calls of ``CloudFormationProvider``, which gives what is declared here."""

    ctx: Context
    store: StackStore
    engine: Engine
    managed_policies: ManagedPolicies

    def _create_change_set(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        name, stack_name = p["ChangeSetName"], p["StackName"]
        check_name(name, "changeSetName")
        kind = p.get("ChangeSetType") or "UPDATE"
        if kind == "IMPORT":
            raise validation("the local cloud does not import existing resources into stacks")
        stack = self.store.find(region, stack_name)
        if kind == "CREATE":
            check_name(stack_name)
            if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
                raise validation(
                    f"Stack [{stack_name}] already exists and cannot be created again with the "
                    f"changeSet [{name}]."
                )
        elif stack is None:
            raise validation(f"Stack [{stack_name}] does not exist")
        elif stack.status not in UPDATABLE:
            raise validation(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
            )
        if stack is not None and any(
            c.name == name for c in self.store.change_sets(region, stack.stack_id)
        ):
            raise ServiceError("AlreadyExistsException", f"ChangeSet [{name}] already exists")
        body = template_body(self.ctx.client, p, region, stack)
        if stack is None:
            stack = Stack(
                stack_id=stack_arn(region, stack_name),
                name=stack_name,
                region=region,
                status="REVIEW_IN_PROGRESS",
                template_body=body,
                tags=list(p.get("Tags") or []),
            )
            self.store.add(stack)
            self.engine._stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")  # noqa: SLF001
        change_set = ChangeSet(
            change_set_id=change_set_arn(region, name),
            name=name,
            stack_id=stack.stack_id,
            stack_name=stack.name,
            kind=kind,
            template_body=body,
            template={},
            transforms=[],
            parameters={},
            capabilities=list(p.get("Capabilities") or []),
            tags=list(p["Tags"]) if "Tags" in p else None,
            description=p.get("Description"),
            notification_arns=list(p.get("NotificationARNs") or []),
            role_arn=p.get("RoleARN"),
            on_stack_failure=p.get("OnStackFailure"),
        )
        self._prepare_change_set(change_set, stack, call)
        self.store.add_change_set(region, change_set)
        return {"Id": change_set.change_set_id, "StackId": stack.stack_id}

    def _prepare_change_set(self, change_set: ChangeSet, stack: Stack, call: Call) -> None:
        """Work out the change set as AWS does while it is CREATE_IN_PROGRESS: failures of the
        template, its transform or its capabilities make it FAILED with the reason."""
        p = call.params
        previous = stack.parameters if change_set.kind == "UPDATE" else None
        try:
            plan = build(
                change_set.template_body,
                p.get("Parameters") or [],
                plan_context(
                    self.ctx.client,
                    self.managed_policies,
                    call.region,
                    stack.name,
                    stack.stack_id,
                    call,
                ),
                previous=previous,
            )
            check_capabilities(plan, change_set.capabilities, direct=False)
        except ServiceError as exc:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.reason = exc.message
            return
        change_set.plan = plan
        change_set.template, change_set.transforms = plan.template, plan.transforms
        change_set.parameters = plan.parameters
        tags = change_set.tags if change_set.tags is not None else stack.tags
        if change_set.kind == "UPDATE" and not has_changes(stack, plan, tags):
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.reason = NO_CHANGES
            return
        change_set.changes = change_list(stack, plan, change_set.kind)

    def _change_set(self, call: Call) -> ChangeSet:
        p, region = call.params, call.region
        stack = (
            self.store.find(region, p["StackName"], deleted=True) if p.get("StackName") else None
        )
        change_set = self.store.find_change_set(region, p["ChangeSetName"], stack)
        if change_set is None:
            raise ServiceError(
                "ChangeSetNotFound", f"ChangeSet [{p['ChangeSetName']}] does not exist", 404
            )
        return change_set

    def _describe_change_set(self, call: Call) -> dict[str, Any]:
        return self._change_set(call).to_api()

    def _execute_change_set(self, call: Call) -> dict[str, Any]:
        change_set = self._change_set(call)
        if change_set.execution_status != "AVAILABLE":
            raise ServiceError(
                "InvalidChangeSetStatus",
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"execution status of [{change_set.execution_status}]",
            )
        stack = self.store.get(call.region, change_set.stack_id)
        plan: Plan = change_set.plan
        disable_rollback = bool(call.params.get("DisableRollback"))
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        self.store.drop_change_sets(call.region, stack.stack_id, keep=change_set)
        if change_set.kind == "CREATE":
            on_failure = change_set.on_stack_failure or (
                "DO_NOTHING" if disable_rollback else "ROLLBACK"
            )
            with self.store.lock:
                stack.template_body, stack.template = change_set.template_body, plan.template
                stack.transforms, stack.parameters = plan.transforms, plan.parameters
                stack.capabilities = change_set.capabilities
                stack.tags = change_set.tags or []
                stack.notification_arns = change_set.notification_arns
                stack.role_arn = change_set.role_arn
                stack.disable_rollback = on_failure == "DO_NOTHING"
                stack.change_set_id = change_set.change_set_id
                stack.token = call.params.get("ClientRequestToken")

            def create() -> None:
                self.engine.create(stack, plan, on_failure)
                change_set.execution_status = "EXECUTE_COMPLETE"

            self.engine.run(stack, create)
            return {}
        if stack.status not in UPDATABLE:
            raise validation(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
            )
        with self.store.lock:
            stack.capabilities = change_set.capabilities
            if change_set.tags is not None:
                stack.tags = change_set.tags
            stack.change_set_id = change_set.change_set_id
            stack.token = call.params.get("ClientRequestToken")
        old = current_plan(stack)
        stack.updated = now()

        def update() -> None:
            self.engine.update(stack, old, plan, disable_rollback)
            change_set.execution_status = "EXECUTE_COMPLETE"

        self.engine.run(stack, update)
        return {}

    def _delete_change_set(self, call: Call) -> dict[str, Any]:
        change_set = self._change_set(call)
        if change_set.execution_status == "EXECUTE_IN_PROGRESS":
            raise ServiceError(
                "InvalidChangeSetStatus",
                f"ChangeSet [{change_set.change_set_id}] cannot be deleted in its current "
                "execution status of [EXECUTE_IN_PROGRESS]",
            )
        self.store.drop_change_set(call.region, change_set)
        return {}

    def _list_change_sets(self, call: Call) -> dict[str, Any]:
        stack = self.store.get(call.region, call.params["StackName"])
        return {
            "Summaries": [c.summary() for c in self.store.change_sets(call.region, stack.stack_id)]
        }
