"""Where a task listens: its own loopback address and its containerPort, a clear reason when
another task binds that port on every address, a free port when a program of the machine is in
the way, and 127.0.0.1 with a port of its own where loopback has no other address."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from mysfits_lab.localcloud.core.loopback import MODE_VARIABLE, LoopbackAddresses
from mysfits_lab.localcloud.core.ports import PortAllocator, free_port
from mysfits_lab.localcloud.services.ecs.models import Task, new_task
from mysfits_lab.localcloud.services.ecs.runner import TaskRunner, TaskStartError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="all of 127/8 is local on Linux")

CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/tests"


def _task(port: int | None) -> Task:
    mappings = [{"containerPort": port}] if port else []
    definition = {
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1",
        "family": "web",
        "containerDefinitions": [{"name": "web", "image": "web:v1", "portMappings": mappings}],
    }
    return new_task(CLUSTER, definition, group="family:web", created_at=1.0)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TaskRunner:
    monkeypatch.delenv(MODE_VARIABLE, raising=False)
    ctx = SimpleNamespace(ports=PortAllocator())
    return TaskRunner(ctx, tmp_path, LoopbackAddresses())  # type: ignore[arg-type]


@pytest.fixture
def port() -> int:
    """A containerPort nothing on this machine listens on."""
    return free_port("0.0.0.0")


@pytest.fixture
def wildcard(port: int) -> Iterator[socket.socket]:
    """A process that binds 0.0.0.0:<port>, as a container that ignores $HOST does."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", port))
        sock.listen()
        yield sock


def test_two_tasks_get_their_own_addresses_and_both_listen_on_the_container_port(runner, port):
    first, second = _task(port), _task(port)
    runner._attach(first, [])
    runner._attach(second, [first])
    assert first.private_ip != second.private_ip
    for task in (first, second):
        assert task.private_ip.startswith("127.") and task.private_ip != "127.0.0.1"
        assert task.holds_address and task.containers[0].host_port == port
        assert task.to_api()["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == (
            task.private_ip
        )
        details = {d["name"]: d["value"] for d in task.to_api()["attachments"][0]["details"]}
        assert details["privateIPv4Address"] == task.private_ip
    # Each can really listen there, at once.
    with socket.socket() as a, socket.socket() as b:
        a.bind((first.private_ip, port))
        b.bind((second.private_ip, port))


def test_a_task_without_ports_still_has_an_address_of_its_own(runner):
    task = _task(None)
    runner._attach(task, [])
    assert task.holds_address and task.private_ip != "127.0.0.1"
    assert task.containers[0].host_port is None


def test_a_stopped_task_gives_its_address_back_once(runner, port):
    task = _task(port)
    runner._attach(task, [])
    assert runner.addresses.held() == {task.private_ip}
    runner.release(task)
    runner.release(task)
    assert runner.addresses.held() == set() and not task.holds_address
    task.last_status = "STOPPED"
    [attachment] = task.to_api()["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    assert (attachment["status"], details["privateIPv4Address"]) == ("DELETED", task.private_ip)


def test_a_task_has_no_private_ip_until_its_network_interface_exists(runner, port):
    task = _task(port)
    [attachment] = task.to_api()["attachments"]
    assert attachment["status"] == "PRECREATED"
    assert [d["name"] for d in attachment["details"]] == ["subnetId"]
    assert task.to_api()["containers"][0]["networkInterfaces"] == []
    runner._attach(task, [])
    assert task.to_api()["attachments"][0]["status"] == "ATTACHED"


def test_a_port_another_task_binds_on_every_address_fails_the_start_clearly(runner, port, wildcard):
    holder = _task(port)
    holder.holds_address, holder.containers[0].host_port = True, port
    task = _task(port)
    with pytest.raises(TaskStartError) as failed:
        runner._attach(task, [holder])
    message = str(failed.value)
    assert message.startswith("CannotStartContainerError: address already in use: ")
    assert f"another task binds 0.0.0.0:{port}" in message
    assert f"bind your task's own address $HOST ({task.private_ip}:{port})" in message


def test_a_port_a_program_of_the_machine_binds_everywhere_is_remapped(runner, port, wildcard):
    task = _task(port)
    runner._attach(task, [])  # no task holds it: not the task's fault
    host_port = task.containers[0].host_port
    assert task.holds_address and host_port not in (None, port)
    with socket.socket() as sock:
        sock.bind((task.private_ip, host_port))


def test_without_loopback_addresses_tasks_share_127_0_0_1_with_ports_of_their_own(
    runner, port, monkeypatch
):
    monkeypatch.setenv(MODE_VARIABLE, "shared")
    runner.addresses = LoopbackAddresses()
    first, second = _task(port), _task(port)
    runner._attach(first, [])
    runner._attach(second, [first])
    assert first.private_ip == second.private_ip == "127.0.0.1"
    ports = {first.containers[0].host_port, second.containers[0].host_port}
    assert len(ports) == 2 and port not in ports
    assert not first.holds_address and runner.addresses.held() == set()


class _Exited:
    def join_output(self, timeout: float) -> None:
        pass


def _exited(task: Task, *lines: str) -> None:
    container = task.containers[0]
    container.process = _Exited()  # type: ignore[assignment]
    container.tail.extend(lines)


BIND_ERROR = "OSError: [Errno 98] Address already in use"


def test_a_container_that_could_not_bind_a_port_another_task_holds_is_told_why(runner, port):
    # Both started together; the other task's container won the race for 0.0.0.0:<port>.
    holder, task = _task(port), _task(port)
    runner._attach(holder, [])
    runner._attach(task, [holder])
    with socket.socket() as wildcard:
        wildcard.bind(("0.0.0.0", port))
        wildcard.listen()
        _exited(task, "Traceback (most recent call last):", BIND_ERROR)
        reason = runner.exit_reason(task, task.containers[0], [holder])
    assert reason is not None and reason.startswith("address already in use: ")
    assert f"another task binds 0.0.0.0:{port}" in reason


def test_a_0_0_0_0_bind_beside_a_task_on_its_own_address_is_told_why(runner, port):
    holder, task = _task(port), _task(port)
    runner._attach(holder, [])
    runner._attach(task, [holder])
    with socket.socket() as listening:
        listening.bind((holder.private_ip, port))
        listening.listen()
        _exited(task, BIND_ERROR)
        reason = runner.exit_reason(task, task.containers[0], [holder])
    assert reason is not None
    assert f"other tasks listen on port {port} at their own address" in reason
    assert f"0.0.0.0:{port} cannot be bound" in reason


def test_a_0_0_0_0_bind_beside_a_program_on_127_0_0_1_is_told_why(runner, port):
    task = _task(port)
    runner._attach(task, [])
    with socket.socket() as program:  # say, the same service run by hand on 127.0.0.1
        program.bind(("127.0.0.1", port))
        program.listen()
        _exited(task, BIND_ERROR)
        reason = runner.exit_reason(task, task.containers[0], [])
    assert reason == (
        f"address already in use: another program on this machine listens on port {port}, so "
        f"0.0.0.0:{port} cannot be bound; on the local cloud tasks share the machine's network: "
        f"bind your task's own address $HOST ({task.private_ip}:{port}), not 0.0.0.0"
    )


def test_other_exits_keep_the_plain_reason(runner, port):
    holder, task = _task(port), _task(port)
    runner._attach(holder, [])
    runner._attach(task, [holder])
    with socket.socket() as wildcard:
        wildcard.bind(("0.0.0.0", port))
        wildcard.listen()
        _exited(task, "ModuleNotFoundError: No module named 'flask'")
        assert runner.exit_reason(task, task.containers[0], [holder]) is None


def test_an_in_use_message_with_the_port_now_free_keeps_the_plain_reason(runner, port):
    task = _task(port)
    runner._attach(task, [])
    _exited(task, BIND_ERROR)
    assert runner.exit_reason(task, task.containers[0], []) is None


def test_the_address_in_use_errno_is_what_a_second_wildcard_bind_gets(wildcard, port):
    with socket.socket() as second, pytest.raises(OSError) as refused:
        second.bind(("0.0.0.0", port))
    assert refused.value.errno == errno.EADDRINUSE
