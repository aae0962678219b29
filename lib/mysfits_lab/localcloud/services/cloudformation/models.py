"""What CloudFormation keeps about stacks, their resources, events and change sets, and how
its API shows them (``to_api``). No I/O here."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...constants import ACCOUNT_ID
from .parameters import Parameter

STACK_TYPE = "AWS::CloudFormation::Stack"
NOT_CHECKED = {"StackResourceDriftStatus": "NOT_CHECKED"}
UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def now() -> datetime:
    return datetime.now(UTC)


def stack_arn(region: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{name}/{uuid.uuid4()}"


def change_set_arn(region: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:changeSet/{name}/{uuid.uuid4()}"


@dataclass
class StackResource:
    logical_id: str
    resource_type: str
    status: str = "CREATE_IN_PROGRESS"
    physical_id: str | None = None
    ref: str | None = None  # what Ref gives, when it is not the physical id
    reason: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)  # resolved, as created
    attributes: dict[str, Any] = field(default_factory=dict)  # what Fn::GetAtt gives
    handle: Any = None  # what its handler keeps (a moto model)
    updated: datetime = field(default_factory=now)
    description: str | None = None
    metadata: Any = None
    deletion_policy: str = "Delete"

    @property
    def exists(self) -> bool:
        """Whether something was created for it (and is not deleted)."""
        return self.physical_id is not None and self.status not in (
            "DELETE_COMPLETE",
            "DELETE_SKIPPED",
        )

    def detail(self, stack: Stack) -> dict[str, Any]:
        entry = {
            "StackName": stack.name,
            "StackId": stack.stack_id,
            "LogicalResourceId": self.logical_id,
            "PhysicalResourceId": self.physical_id or "",
            "ResourceType": self.resource_type,
            "ResourceStatus": self.status,
            "DriftInformation": NOT_CHECKED,
        }
        if self.reason:
            entry["ResourceStatusReason"] = self.reason
        if self.description:
            entry["Description"] = self.description
        return entry


@dataclass
class StackEvent:
    stack: Stack
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str | None = None
    properties: dict[str, Any] | None = None
    token: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: datetime = field(default_factory=now)

    def to_api(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "StackId": self.stack.stack_id,
            "EventId": self.event_id,
            "StackName": self.stack.name,
            "LogicalResourceId": self.logical_id,
            "PhysicalResourceId": self.physical_id,
            "ResourceType": self.resource_type,
            "Timestamp": self.timestamp,
            "ResourceStatus": self.status,
        }
        if self.reason:
            entry["ResourceStatusReason"] = self.reason
        if self.properties is not None:
            entry["ResourceProperties"] = json.dumps(self.properties, default=str)
        if self.token:
            entry["ClientRequestToken"] = self.token
        return entry


@dataclass
class Output:
    key: str
    value: str
    description: str | None = None
    export_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        entry = {"OutputKey": self.key, "OutputValue": self.value}
        if self.description is not None:
            entry["Description"] = self.description
        if self.export_name is not None:
            entry["ExportName"] = self.export_name
        return entry


@dataclass
class Stack:
    stack_id: str
    name: str
    region: str
    status: str
    template_body: str = ""  # as the caller wrote it
    template: dict[str, Any] = field(default_factory=dict)  # processed (transforms applied)
    transforms: list[str] = field(default_factory=list)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    notification_arns: list[str] = field(default_factory=list)
    role_arn: str | None = None
    timeout: int | None = None
    disable_rollback: bool = False
    termination_protection: bool = False
    reason: str | None = None
    created: datetime = field(default_factory=now)
    updated: datetime | None = None
    deleted: datetime | None = None
    resources: dict[str, StackResource] = field(default_factory=dict)
    events: list[StackEvent] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # export names this stack imports
    change_set_id: str | None = None
    token: str | None = None
    busy: bool = False  # an operation runs on it

    @property
    def description(self) -> str | None:
        text = self.template.get("Description")
        return text if isinstance(text, str) else None

    @property
    def is_deleted(self) -> bool:
        return self.status == "DELETE_COMPLETE"

    def to_api(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "StackId": self.stack_id,
            "StackName": self.name,
            "Parameters": [p.to_api() for p in self.parameters.values()],
            "CreationTime": self.created,
            "RollbackConfiguration": {},
            "StackStatus": self.status,
            "DisableRollback": self.disable_rollback,
            "NotificationARNs": list(self.notification_arns),
            "Capabilities": list(self.capabilities),
            "Outputs": [o.to_api() for o in self.outputs],
            "Tags": list(self.tags),
            "EnableTerminationProtection": self.termination_protection,
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        optional = {
            "ChangeSetId": self.change_set_id,
            "Description": self.description,
            "LastUpdatedTime": self.updated,
            "DeletionTime": self.deleted,
            "StackStatusReason": self.reason,
            "TimeoutInMinutes": self.timeout,
            "RoleARN": self.role_arn,
        }
        entry.update({k: v for k, v in optional.items() if v is not None})
        if not entry["Outputs"]:
            del entry["Outputs"]
        return entry

    def summary(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "StackId": self.stack_id,
            "StackName": self.name,
            "CreationTime": self.created,
            "StackStatus": self.status,
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        optional = {
            "TemplateDescription": self.description,
            "LastUpdatedTime": self.updated,
            "DeletionTime": self.deleted,
            "StackStatusReason": self.reason,
        }
        entry.update({k: v for k, v in optional.items() if v is not None})
        return entry


@dataclass
class Change:
    action: str  # Add, Modify, Remove
    logical_id: str
    resource_type: str
    physical_id: str | None = None
    replacement: str | None = None  # True, False, Conditional (Modify only)

    def to_api(self) -> dict[str, Any]:
        change: dict[str, Any] = {
            "Action": self.action,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "Scope": ["Properties"] if self.action == "Modify" else [],
            "Details": [],
        }
        if self.physical_id:
            change["PhysicalResourceId"] = self.physical_id
        if self.replacement:
            change["Replacement"] = self.replacement
        return {"Type": "Resource", "ResourceChange": change}


@dataclass
class ChangeSet:
    change_set_id: str
    name: str
    stack_id: str
    stack_name: str
    kind: str  # CREATE or UPDATE
    template_body: str
    template: dict[str, Any]
    transforms: list[str]
    parameters: dict[str, Parameter]
    capabilities: list[str]
    tags: list[dict[str, str]] | None
    description: str | None = None
    notification_arns: list[str] = field(default_factory=list)
    role_arn: str | None = None
    on_stack_failure: str | None = None
    status: str = "CREATE_COMPLETE"
    execution_status: str = "AVAILABLE"
    reason: str | None = None
    changes: list[Change] = field(default_factory=list)
    created: datetime = field(default_factory=now)
    plan: Any = None  # what ExecuteChangeSet deploys (plan.Plan)

    def to_api(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ChangeSetName": self.name,
            "ChangeSetId": self.change_set_id,
            "StackId": self.stack_id,
            "StackName": self.stack_name,
            "Parameters": [p.to_api() for p in self.parameters.values()],
            "CreationTime": self.created,
            "ExecutionStatus": self.execution_status,
            "Status": self.status,
            "NotificationARNs": list(self.notification_arns),
            "RollbackConfiguration": {},
            "Capabilities": list(self.capabilities),
            "Tags": list(self.tags or []),
            "Changes": [c.to_api() for c in self.changes],
            "IncludeNestedStacks": False,
        }
        optional = {
            "Description": self.description,
            "StatusReason": self.reason,
            "OnStackFailure": self.on_stack_failure,
        }
        entry.update({k: v for k, v in optional.items() if v is not None})
        return entry

    def summary(self) -> dict[str, Any]:
        entry = {
            "StackId": self.stack_id,
            "StackName": self.stack_name,
            "ChangeSetId": self.change_set_id,
            "ChangeSetName": self.name,
            "ExecutionStatus": self.execution_status,
            "Status": self.status,
            "CreationTime": self.created,
            "IncludeNestedStacks": False,
        }
        if self.reason:
            entry["StatusReason"] = self.reason
        if self.description:
            entry["Description"] = self.description
        return entry
