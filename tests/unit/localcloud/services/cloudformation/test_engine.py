"""Stack operations with handlers that only record: the order of creation and deletion, the
events, rollback on failure (created resources deleted in reverse dependency order), the
choices of OnFailure, and an update that fails put back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mysfits_lab.localcloud.services.cloudformation import resource_steps, stack_update
from mysfits_lab.localcloud.services.cloudformation.engine import Engine, order_of
from mysfits_lab.localcloud.services.cloudformation.errors import ResourceFailed
from mysfits_lab.localcloud.services.cloudformation.models import Stack, StackResource
from mysfits_lab.localcloud.services.cloudformation.plan import Context, build
from mysfits_lab.localcloud.services.cloudformation.resource_steps import Services
from mysfits_lab.localcloud.services.cloudformation.resources.base import (
    Handler,
    ResourceRequest,
    Result,
)
from mysfits_lab.localcloud.services.cloudformation.store import StackStore

REGION = "eu-west-1"


class Recorder(Handler):
    """Creates ``<logical id>-<n>``; fails where ``Fail`` is set; updates in place unless
    ``Replace`` changes."""

    resource_type = "AWS::Test::Thing"
    attributes = ("Arn",)

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.count = 0

    def create(self, req: ResourceRequest) -> Result:
        self.calls.append(("create", req.logical_id))
        if req.properties.get("Fail"):
            raise ResourceFailed(f"{req.logical_id} cannot be made: {req.properties['Fail']}")
        self.count += 1
        physical = f"{req.logical_id}-{self.count}"
        return Result(physical, {"Arn": f"arn:{physical}"})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.calls.append(("update", req.logical_id))
        if req.properties.get("Fail"):
            raise ResourceFailed(f"{req.logical_id} cannot change: {req.properties['Fail']}")
        if req.properties.get("Replace") != current.properties.get("Replace"):
            from mysfits_lab.localcloud.services.cloudformation.errors import NeedsReplacement

            raise NeedsReplacement()
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        self.calls.append(("delete", req.logical_id))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    handler = Recorder()
    for module in (resource_steps, stack_update):
        monkeypatch.setattr(module, "handler_for", lambda resource_type: handler)
    return handler


def template(**overrides: dict[str, Any]) -> str:
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::Test::Thing", "Properties": {}},
        "Group": {"Type": "AWS::Test::Thing", "Properties": {"Vpc": {"Ref": "Vpc"}}},
        "Role": {
            "Type": "AWS::Test::Thing",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-role"}},
        },
        "Rule": {
            "Type": "AWS::Test::Thing",
            "Properties": {"Group": {"Fn::GetAtt": ["Group", "Arn"]}},
        },
    }
    for name, properties in overrides.items():
        resources[name]["Properties"].update(properties)
    return json.dumps(
        {
            "Resources": resources,
            "Outputs": {"Group": {"Value": {"Ref": "Group"}, "Export": {"Name": "g"}}},
        }
    )


def deploy(body: str, on_failure: str = "ROLLBACK") -> tuple[Engine, Stack]:
    store = StackStore()
    engine = Engine(store, Services(client=lambda service, region: None))
    stack = Stack("arn:stack/s/1", "s", REGION, "CREATE_IN_PROGRESS", template_body=body)
    plan = build(body, [], Context(REGION, "s", stack.stack_id))
    stack.template, stack.parameters = plan.template, plan.parameters
    store.add(stack)
    engine.create(stack, plan, on_failure)
    return engine, stack


def statuses(stack: Stack) -> list[tuple[str, str]]:
    return [(e.logical_id, e.status) for e in stack.events]


def test_a_stack_is_created_in_dependency_order_with_outputs(recorder):
    _, stack = deploy(template())
    assert [c for c in recorder.calls] == [
        ("create", "Vpc"),
        ("create", "Group"),
        ("create", "Role"),
        ("create", "Rule"),
    ]
    assert stack.status == "CREATE_COMPLETE"
    assert [(o.key, o.value, o.export_name) for o in stack.outputs] == [("Group", "Group-2", "g")]
    assert stack.resources["Role"].properties == {"Name": "s-role"}
    assert stack.resources["Rule"].properties == {"Group": "arn:Group-2"}
    assert statuses(stack)[:4] == [
        ("s", "CREATE_IN_PROGRESS"),
        ("Vpc", "CREATE_IN_PROGRESS"),
        ("Vpc", "CREATE_IN_PROGRESS"),
        ("Vpc", "CREATE_COMPLETE"),
    ]


def test_a_failed_create_deletes_what_it_made_in_reverse_order(recorder):
    _, stack = deploy(template(Role={"Fail": "malformed policy"}))
    assert recorder.calls == [
        ("create", "Vpc"),
        ("create", "Group"),
        ("create", "Role"),
        ("delete", "Group"),
        ("delete", "Vpc"),
    ]
    assert stack.status == "ROLLBACK_COMPLETE"
    failed = [e for e in stack.events if e.status == "CREATE_FAILED"]
    assert [(e.logical_id, e.reason) for e in failed] == [
        ("Role", "Role cannot be made: malformed policy")
    ]
    rollback = next(e for e in stack.events if e.status == "ROLLBACK_IN_PROGRESS")
    assert rollback.reason == (
        "The following resource(s) failed to create: [Role]. Rollback requested by user."
    )
    assert {r.logical_id: r.status for r in stack.resources.values()} == {
        "Vpc": "DELETE_COMPLETE",
        "Group": "DELETE_COMPLETE",
        "Role": "DELETE_COMPLETE",
    }
    assert stack.outputs == []


def test_do_nothing_keeps_what_was_made(recorder):
    _, stack = deploy(template(Role={"Fail": "x"}), on_failure="DO_NOTHING")
    assert stack.status == "CREATE_FAILED"
    assert stack.reason == "The following resource(s) failed to create: [Role]. "
    assert ("delete", "Vpc") not in recorder.calls
    assert stack.resources["Vpc"].status == "CREATE_COMPLETE"


def test_on_failure_delete_deletes_the_stack(recorder):
    _, stack = deploy(template(Role={"Fail": "x"}), on_failure="DELETE")
    assert stack.status == "DELETE_COMPLETE"
    assert [s for _, s in statuses(stack) if _ == "s"][-3:] == [
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_COMPLETE",
    ]


def test_delete_goes_in_reverse_dependency_order(recorder):
    engine, stack = deploy(template())
    recorder.calls.clear()
    engine.delete(stack, order_of(stack), [])
    assert recorder.calls == [
        ("delete", "Rule"),
        ("delete", "Role"),
        ("delete", "Group"),
        ("delete", "Vpc"),
    ]
    assert stack.status == "DELETE_COMPLETE"


def test_a_failed_update_puts_back_what_it_changed(recorder):
    engine, stack = deploy(template())
    before = {n: r.physical_id for n, r in stack.resources.items()}
    old = _current(stack)
    body = template(Group={"Replace": "yes"}, Rule={"Fail": "bad rule"})
    plan = build(body, [], Context(REGION, "s", stack.stack_id))
    recorder.calls.clear()
    engine.update(stack, old, plan, disable_rollback=False)
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    # The group was replaced (a new one made), the rule failed: the new group is deleted and
    # the old one is the stack's again; nothing of the old stack was deleted.
    assert recorder.calls == [
        ("update", "Group"),
        ("create", "Group"),
        ("update", "Rule"),
        ("update", "Rule"),  # back to its previous properties
        ("delete", "Group"),
    ]
    assert {n: r.physical_id for n, r in stack.resources.items()} == before


def test_an_update_replaces_then_cleans_up(recorder):
    engine, stack = deploy(template())
    old = _current(stack)
    plan = build(template(Group={"Replace": "yes"}), [], Context(REGION, "s", stack.stack_id))
    recorder.calls.clear()
    engine.update(stack, old, plan, disable_rollback=False)
    assert stack.status == "UPDATE_COMPLETE"
    assert recorder.calls == [
        ("update", "Group"),
        ("create", "Group"),
        ("update", "Rule"),  # its GetAtt changed with the new group
        ("delete", "Group"),  # the old group, in cleanup
    ]
    assert stack.resources["Group"].physical_id == "Group-5"
    assert stack.outputs[0].value == "Group-5"


def _current(stack: Stack) -> Any:
    from mysfits_lab.localcloud.services.cloudformation.plan import Plan

    return Plan(
        body=stack.template_body,
        template=stack.template,
        transforms=[],
        parameters=stack.parameters,
        conditions={},
        resources=dict(stack.template["Resources"]),
        order=order_of(stack),
    )
