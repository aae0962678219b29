"""CloudFormation on the local cloud, answered here rather than by moto's stacks.

moto's CloudFormation skips the resource types it does not know (Firehose, Cognito, bucket
policies, API Gateway stages, SNS subscriptions, ...) and reports CREATE_COMPLETE, never rolls
a failed stack back (leaving it CREATE_PENDING, its DescribeStacks a 500), resolves some
functions wrongly, cannot read ``Version: 2012-10-17`` unquoted, fails on an all-protocols
ingress rule without ports, and has no SAM. Here:

- templates are read as CloudFormation reads them (``template.py``) and checked at the call
  (``plan.py``: ValidationError, InsufficientCapabilitiesException), SAM templates expanded by
  AWS's translator (``sam.py``), parameters checked (``parameters.py``), functions resolved
  (``intrinsics.py``);
- resources are made one by one in dependency order (``graph.py``) through the cloud's own AWS
  API (``resources/``: the providers see them), or by moto's model class for types no handler
  covers, or fail naming a type the cloud cannot make;
- operations run on a thread with AWS's statuses and events and roll back (``engine.py``);
- stacks, exports and change sets are kept here (``store.py``, ``models.py``); moto keeps the
  resources themselves.

Control route: ``GET /_localcloud/cloudformation`` lists ``{"<region>/<stack>": status}``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from . import views
from .engine import Engine, Services, order_of
from .errors import TemplateError, validation
from .intrinsics import references
from .models import UPDATABLE, Change, ChangeSet, Stack, change_set_arn, now, stack_arn
from .plan import Context as PlanContext
from .plan import Plan, build, check_capabilities
from .sam import ManagedPolicies, expand
from .store import StackStore

log = logging.getLogger("mysfits_lab.localcloud.cloudformation")
_NAME = re.compile(r"^[A-Za-z][-A-Za-z0-9]{0,127}$")
MAX_URL_TEMPLATE = 1_048_576
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create "
    "a change set."
)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class CloudFormationProvider(Provider):
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

    def _ssm(self, region: str) -> Any:
        def read(name: str) -> str:
            try:
                return self.ctx.client("ssm", region).get_parameter(Name=name)["Parameter"]["Value"]
            except ClientError:
                raise TemplateError(
                    f"Unable to fetch parameters [{name}] from parameter store for this account."
                ) from None

        return read

    def _plan_context(self, region: str, name: str, stack_id: str, call: Call) -> PlanContext:
        return PlanContext(
            region=region,
            stack_name=name,
            stack_id=stack_id,
            notifications=list(call.params.get("NotificationARNs") or []),
            ssm=self._ssm(region),
            managed_policies=self.managed_policies,
        )

    def _body(self, params: dict[str, Any], region: str, previous: Stack | None = None) -> str:
        if params.get("UsePreviousTemplate"):
            if previous is None:
                raise validation("UsePreviousTemplate needs an existing stack")
            return previous.template_body
        if params.get("TemplateBody") is not None:
            return str(params["TemplateBody"])
        if params.get("TemplateURL"):
            return self._from_url(str(params["TemplateURL"]), region)
        raise validation("Either Template URL or Template Body must be specified.")

    def _from_url(self, url: str, region: str) -> str:
        """A template in S3, read through this cloud's S3 (any S3 URL form, or the edge's own
        path-style address that ``aws cloudformation deploy --s3-bucket`` makes locally)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = unquote(parts.path.lstrip("/"))
        if parts.scheme not in ("http", "https") or not host:
            raise validation("TemplateURL must be a supported URL.")
        if host in _LOOPBACK_HOSTS or host.startswith(("s3.", "s3-")) or host == "s3.amazonaws.com":
            bucket, _, key = path.partition("/")
        elif ".s3." in host or ".s3-" in host:
            bucket, key = host.split(".s3", 1)[0], path
        else:
            raise validation("TemplateURL must be a supported URL.")
        if not bucket or not key:
            raise validation("TemplateURL must be a supported URL.")
        try:
            body = (
                self.ctx.client("s3", region)
                .get_object(Bucket=bucket, Key=key)["Body"]
                .read(MAX_URL_TEMPLATE + 1)
            )
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "Access Denied")
            raise validation(f"S3 error: {message}") from None
        if len(body) > MAX_URL_TEMPLATE:
            raise validation(f"Template may not exceed {MAX_URL_TEMPLATE} bytes in size.")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise validation("Template format error: the template is not UTF-8 text") from None

    @staticmethod
    def _check_name(name: str, what: str = "stackName") -> None:
        if not _NAME.match(name):
            raise validation(
                f"1 validation error detected: Value '{name[:128]}' at '{what}' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: "
                "[a-zA-Z][-a-zA-Z0-9]*"
            )

    def _wait_idle(self, stack: Stack, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while stack.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        if stack.busy:
            raise validation(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
            )

    # -- stacks -------------------------------------------------------------------------------
    def _create_stack(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        name = p["StackName"]
        self._check_name(name)
        if self.store.find(region, name) is not None:
            raise ServiceError("AlreadyExistsException", f"Stack [{name}] already exists")
        if p.get("OnFailure") and "DisableRollback" in p:
            raise validation("Parameters: [DisableRollback, OnFailure] cannot both be specified.")
        body = self._body(p, region)
        stack_id = stack_arn(region, name)
        plan = build(
            body, p.get("Parameters") or [], self._plan_context(region, name, stack_id, call)
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

    @staticmethod
    def _current_plan(stack: Stack) -> Plan:
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

    def _update_stack(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        stack = self.store.get(region, p["StackName"])
        self._wait_idle(stack, 0)
        if stack.status not in UPDATABLE:
            raise validation(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
            )
        body = self._body(p, region, stack)
        plan = build(
            body,
            p.get("Parameters") or [],
            self._plan_context(region, stack.name, stack.stack_id, call),
            previous=stack.parameters,
        )
        check_capabilities(plan, p.get("Capabilities") or [], direct=True)
        tags = list(p["Tags"]) if "Tags" in p else stack.tags
        if not self._changes(stack, plan, tags):
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
        old = self._current_plan(stack)
        stack.updated = now()
        self.engine.run(stack, lambda: self.engine.update(stack, old, plan, disable_rollback))

    @staticmethod
    def _changes(stack: Stack, plan: Plan, tags: list[dict[str, str]]) -> bool:
        same_parameters = {k: v.value for k, v in stack.parameters.items()} == {
            k: v.value for k, v in plan.parameters.items()
        }
        return not (plan.template == stack.template and same_parameters and tags == stack.tags)

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
        self._wait_idle(stack)
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
        return views.summary(self._body(p, region))

    def _validate(self, call: Call) -> dict[str, Any]:
        region = call.region

        def translate(template: dict[str, Any]) -> dict[str, Any]:
            return expand(template, {}, region, "validation", self.managed_policies)

        return views.inspect(self._body(call.params, region), translate)

    def _list_exports(self, call: Call) -> dict[str, Any]:
        return views.list_exports(self.store, call.region)

    def _list_imports(self, call: Call) -> dict[str, Any]:
        return views.list_imports(self.store, call.region, call.params["ExportName"])

    # -- change sets ---------------------------------------------------------------------------
    def _create_change_set(self, call: Call) -> dict[str, Any]:
        p, region = call.params, call.region
        name, stack_name = p["ChangeSetName"], p["StackName"]
        self._check_name(name, "changeSetName")
        kind = p.get("ChangeSetType") or "UPDATE"
        if kind == "IMPORT":
            raise validation("the local cloud does not import existing resources into stacks")
        stack = self.store.find(region, stack_name)
        if kind == "CREATE":
            self._check_name(stack_name)
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
        body = self._body(p, region, stack)
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
                self._plan_context(call.region, stack.name, stack.stack_id, call),
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
        if change_set.kind == "UPDATE" and not self._changes(stack, plan, tags):
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.reason = NO_CHANGES
            return
        change_set.changes = self._change_list(stack, plan, change_set.kind)

    @staticmethod
    def _change_list(stack: Stack, plan: Plan, kind: str) -> list[Change]:
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
        old = self._current_plan(stack)
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
