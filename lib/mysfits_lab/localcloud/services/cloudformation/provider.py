"""CloudFormation on the local cloud, answered here rather than by moto's stacks.

moto's CloudFormation skips the resource types it does not know (Firehose, Cognito, bucket
policies, API Gateway stages, SNS subscriptions, ...) and reports CREATE_COMPLETE, never rolls
a failed stack back (leaving it CREATE_PENDING, its DescribeStacks a 500), resolves some
functions wrongly, cannot read ``Version: 2012-10-17`` unquoted, fails on an all-protocols
ingress rule without ports, and has no SAM. Here:

- templates are read as CloudFormation reads them (``template.py``) and checked at the call
  (``plan.py``: ValidationError, InsufficientCapabilitiesException), SAM templates expanded by
  AWS's translator (``sam.py``), parameters checked (``parameters.py``), functions resolved
  (``intrinsics.py``), templates read from the call or from S3 (``call_inputs.py``);
- resources are made one by one in dependency order (``graph.py``) through the cloud's own AWS
  API (``resources/``: the providers see them), or by moto's model class for types no handler
  covers, or fail naming a type the cloud cannot make;
- operations run on a thread with AWS's statuses and events and roll back (``engine.py``);
- change sets are worked out and executed in ``change_sets.py`` (``changes.py``: what differs);
- stacks, exports and change sets are kept here (``store.py``, ``models.py``); moto keeps the
  resources themselves.

Control route: ``GET /_localcloud/cloudformation`` lists ``{"<region>/<stack>": status}``.
"""

from __future__ import annotations

import threading
from typing import Any

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from . import views
from .call_inputs import plan_context, template_body
from .change_sets import ChangeSets
from .changes import current_plan, has_changes
from .checks import check_name, wait_idle
from .engine import Engine, order_of
from .errors import validation
from .models import UPDATABLE, Stack, now, stack_arn
from .plan import Plan, build, check_capabilities
from .resource_steps import Services
from .sam import ManagedPolicies, expand
from .store import StackStore


class CloudFormationProvider(ChangeSets, Provider):
    name = "cloudformation"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.store = StackStore()
        self._zones: dict[str, list[str]] = {}
        self._zones_lock = threading.Lock()
        self.engine = Engine(
            self.store,
            Services(
                client=lambda service, region: ctx.client(service, region),
                availability_zones=self._availability_zones,
            ),
        )
        self.managed_policies = ManagedPolicies(lambda: ctx.client("iam"))

    def routes(self) -> list[Route]:
        handlers = {
            "CreateStack": self._create_stack,
            "UpdateStack": self._update_stack,
            "DeleteStack": self._delete_stack,
            "DescribeStacks": self._describe_stacks,
            "ListStacks": self._list_stacks,
            "DescribeStackEvents": self._events,
            "DescribeStackResources": self._resources,
            "DescribeStackResource": self._resource,
            "ListStackResources": self._list_resources,
            "GetTemplate": self._get_template,
            "GetTemplateSummary": self._template_summary,
            "ValidateTemplate": self._validate,
            "ListExports": self._list_exports,
            "ListImports": self._list_imports,
            "CreateChangeSet": self._create_change_set,
            "DescribeChangeSet": self._describe_change_set,
            "ExecuteChangeSet": self._execute_change_set,
            "DeleteChangeSet": self._delete_change_set,
            "ListChangeSets": self._list_change_sets,
            "UpdateTerminationProtection": self._termination_protection,
        }
        return [Route("cloudformation", op, handler) for op, handler in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._overview)]

    def _overview(self, _request: Any) -> dict[str, str]:
        with self.store.lock:
            return {
                f"{s.region}/{s.name}": s.status
                for region in self.store.regions()
                for s in self.store.all(region)
            }

    def status(self) -> dict[str, Any]:
        with self.store.lock:
            live = sum(
                1 for r in self.store.regions() for s in self.store.all(r) if not s.is_deleted
            )
        return {"cloudformation": {"stacks": live}}

    # -- helpers ------------------------------------------------------------------------------
    def _availability_zones(self, region: str) -> list[str]:
        with self._zones_lock:
            if region not in self._zones:
                zones = self.ctx.client("ec2", region).describe_availability_zones()
                self._zones[region] = sorted(
                    z["ZoneName"]
                    for z in zones["AvailabilityZones"]
                    if z.get("State", "available") == "available"
                    and z.get("ZoneType", "availability-zone") == "availability-zone"
                )
            return list(self._zones[region])

    # -- stacks -------------------------------------------------------------------------------
    def _create_stack(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        name = p["StackName"]
        check_name(name)
        if self.store.find(region, name) is not None:
            raise ServiceError("AlreadyExistsException", f"Stack [{name}] already exists")
        if p.get("OnFailure") and "DisableRollback" in p:
            raise validation("Parameters: [DisableRollback, OnFailure] cannot both be specified.")
        body = template_body(self.ctx.client, p, region)
        stack_id = stack_arn(region, name)
        plan = build(
            body,
            p.get("Parameters") or [],
            plan_context(self.ctx.client, self.managed_policies, region, name, stack_id, call),
        )
        check_capabilities(plan, p.get("Capabilities") or [], direct=True)
        on_failure = p.get("OnFailure") or (
            "DO_NOTHING" if p.get("DisableRollback") else "ROLLBACK"
        )
        stack = Stack(
            stack_id=stack_id,
            name=name,
            region=region,
            status="CREATE_IN_PROGRESS",
            template_body=body,
            template=plan.template,
            transforms=plan.transforms,
            parameters=plan.parameters,
            capabilities=list(p.get("Capabilities") or []),
            tags=list(p.get("Tags") or []),
            notification_arns=list(p.get("NotificationARNs") or []),
            role_arn=p.get("RoleARN"),
            timeout=p.get("TimeoutInMinutes"),
            disable_rollback=on_failure == "DO_NOTHING",
            termination_protection=bool(p.get("EnableTerminationProtection")),
            token=p.get("ClientRequestToken"),
        )
        self.store.add(stack)
        self.engine.run(stack, lambda: self.engine.create(stack, plan, on_failure))
        return {"StackId": stack_id}

    def _update_stack(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        stack = self.store.get(region, p["StackName"])
        wait_idle(stack, 0)
        if stack.status not in UPDATABLE:
            raise validation(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
            )
        body = template_body(self.ctx.client, p, region, stack)
        plan = build(
            body,
            p.get("Parameters") or [],
            plan_context(
                self.ctx.client, self.managed_policies, region, stack.name, stack.stack_id, call
            ),
            previous=stack.parameters,
        )
        check_capabilities(plan, p.get("Capabilities") or [], direct=True)
        tags = list(p["Tags"]) if "Tags" in p else stack.tags
        if not has_changes(stack, plan, tags):
            raise validation("No updates are to be performed.")
        with self.store.lock:
            stack.capabilities = list(p.get("Capabilities") or [])
            stack.tags = tags
            if "NotificationARNs" in p:
                stack.notification_arns = list(p["NotificationARNs"])
            stack.token = p.get("ClientRequestToken")
        self._start_update(stack, plan, bool(p.get("DisableRollback")))
        return {"StackId": stack.stack_id}

    def _start_update(self, stack: Stack, plan: Plan, disable_rollback: bool) -> None:
        old = current_plan(stack)
        stack.updated = now()
        self.engine.run(stack, lambda: self.engine.update(stack, old, plan, disable_rollback))

    def _delete_stack(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        stack = self.store.find(region, p["StackName"])
        if stack is None or stack.is_deleted:
            return {}  # AWS answers success for a stack that is not there
        if stack.termination_protection:
            raise validation(
                f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
        retain = list(p.get("RetainResources") or [])
        if retain and stack.status != "DELETE_FAILED":
            raise validation(
                "Invalid operation on stack "
                f"{stack.stack_id}: RetainResources can only be specified when the stack is "
                "in the DELETE_FAILED state"
            )
        wait_idle(stack)
        if stack.status == "DELETE_IN_PROGRESS":
            return {}
        stack.token = p.get("ClientRequestToken")
        if stack.status == "REVIEW_IN_PROGRESS":
            self.engine.delete(stack, [], [])
            return {}
        self.engine.run(stack, lambda: self.engine.delete(stack, order_of(stack), retain))
        return {}

    def _termination_protection(self, call: Call) -> dict[str, Any]:
        stack = self.store.get(call.region, call.params["StackName"])
        stack.termination_protection = bool(call.params["EnableTerminationProtection"])
        return {"StackId": stack.stack_id}

    # -- reads ------------------------------------------------------------------------------------
    def _describe_stacks(self, call: Call) -> dict[str, Any]:
        return views.describe_stacks(self.store, call.region, call.params.get("StackName"))

    def _list_stacks(self, call: Call) -> dict[str, Any]:
        return views.list_stacks(self.store, call.region, call.params.get("StackStatusFilter"))

    def _events(self, call: Call) -> dict[str, Any]:
        return views.stack_events(self.store, call.region, call.params["StackName"])

    def _resources(self, call: Call) -> dict[str, Any]:
        p = call.params
        return views.stack_resources(
            self.store,
            call.region,
            p.get("StackName"),
            p.get("LogicalResourceId"),
            p.get("PhysicalResourceId"),
        )

    def _resource(self, call: Call) -> dict[str, Any]:
        p = call.params
        return views.stack_resource(self.store, call.region, p["StackName"], p["LogicalResourceId"])

    def _list_resources(self, call: Call) -> dict[str, Any]:
        return views.list_resources(self.store, call.region, call.params["StackName"])

    def _get_template(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        if p.get("ChangeSetName"):
            stack = (
                self.store.find(region, p.get("StackName") or "") if p.get("StackName") else None
            )
            change_set = self.store.find_change_set(region, p["ChangeSetName"], stack)
            if change_set is None:
                raise ServiceError(
                    "ChangeSetNotFound", f"ChangeSet [{p['ChangeSetName']}] does not exist", 404
                )
            owner = self.store.get(region, change_set.stack_id, deleted=True)
            return views.get_template(
                owner, p.get("TemplateStage"), change_set.template_body, change_set.template
            ) | {
                "StagesAvailable": ["Original", "Processed"]
                if change_set.transforms
                else ["Original"]
            }
        if not p.get("StackName"):
            raise validation("Either StackName or ChangeSetName must be specified.")
        stack = views.stack_or_none(self.store, region, p["StackName"])
        return views.get_template(
            stack, p.get("TemplateStage"), stack.template_body, stack.template
        )

    def _template_summary(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        if p.get("StackName"):
            stack = views.stack_or_none(self.store, region, p["StackName"])
            return views.summary(stack.template_body)
        if p.get("StackSetName"):
            raise validation("StackSets are not supported by the local cloud")
        return views.summary(template_body(self.ctx.client, p, region))

    def _validate(self, call: Call) -> dict[str, Any]:
        region = call.region

        def translate(template: dict[str, Any]) -> dict[str, Any]:
            return expand(template, {}, region, "validation", self.managed_policies)

        return views.inspect(template_body(self.ctx.client, call.params, region), translate)

    def _list_exports(self, call: Call) -> dict[str, Any]:
        return views.list_exports(self.store, call.region)

    def _list_imports(self, call: Call) -> dict[str, Any]:
        return views.list_imports(self.store, call.region, call.params["ExportName"])
