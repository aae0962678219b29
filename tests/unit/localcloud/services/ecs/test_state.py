"""What the ECS state remembers: a deleted service leaves the listings once its tasks stopped,
answers DescribeServices a while longer, and a new service of the same name does not orphan
the old one's tasks."""

from __future__ import annotations

from pathlib import Path

from mysfits_lab.localcloud.services.ecs.state import INACTIVE_RETENTION, EcsState
from tests.unit.localcloud.services.ecs.test_rollout import Tick, _service


def _state_with_running_service() -> tuple[EcsState, Tick]:
    state = EcsState()
    tick = Tick(_service(desired=1))
    state.add_service(tick.service)
    for task in tick():
        state.tasks[task.arn] = task
    return state, tick


def _listed(state: EcsState) -> list[str]:
    return [s["name"] for s in state.describe(Path("/logs"))["services"].values()]


def test_a_deleted_service_is_listed_until_its_tasks_stop_then_forgotten():
    state, tick = _state_with_running_service()
    service = tick.service
    assert _listed(state) == ["web"] and state.active() == [service]

    service.deleting, service.desired = True, 0
    state.prune(at=1000.0)
    assert _listed(state) == [] and state.active() == []
    assert service.to_api({}, state.service_tasks(service))["status"] == "DRAINING"
    assert state.scheduled() == [service]  # its tasks still have to be stopped

    for task in state.service_tasks(service):
        task.last_status = "STOPPED"
        task.times["stoppedAt"] = 1001.0
    state.prune(at=1002.0)
    assert service.to_api({}, state.service_tasks(service))["status"] == "INACTIVE"
    assert state.services == {service.arn: service}  # DescribeServices still knows it
    state.prune(at=1002.0 + INACTIVE_RETENTION)
    assert state.services == {} and state.scheduled() == []
    assert len(state.tasks) == 1  # the stopped task stays listed for its own hour


def test_a_new_service_with_the_name_of_a_deleted_one_leaves_its_tasks_stopping():
    state, tick = _state_with_running_service()
    old = tick.service
    old.deleting, old.desired = True, 0
    new = _service(desired=1)
    state.add_service(new)
    assert state.services == {new.arn: new}
    assert state.scheduled() == [new, old]  # still reconciled: its task gets stopped
    assert _listed(state) == ["web"] and state.active() == [new]

    for task in state.service_tasks(old):
        task.last_status = "STOPPED"
    state.prune(at=1000.0)
    assert state.scheduled() == [new]


def test_the_revision_moves_with_every_change_a_caller_could_see():
    state, tick = _state_with_running_service()
    [task] = state.tasks.values()
    before = state.revision()
    assert state.revision() == before  # reading changes nothing
    task.touch("RUNNING")
    after_task = state.revision()
    assert after_task != before
    tick.service.event("has reached a steady state.", 1.0)
    assert state.revision() != after_task
