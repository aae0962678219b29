"""Health checks as the local load balancer runs them: settings on the loopback clock, state
transitions, one scheduler thread for every target, draining."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.elb.health import HealthChecker, matcher_accepts
from mysfits_lab.localcloud.services.elb.models import HealthCheck, Target
from tests.helpers import wait_for

WORKSHOP_GROUP = {  # the module-2 target group, as DescribeTargetGroups returns it
    "Protocol": "TCP",
    "Port": 8080,
    "HealthCheckProtocol": "HTTP",
    "HealthCheckPort": "traffic-port",
    "HealthCheckEnabled": True,
    "HealthCheckIntervalSeconds": 10,
    "HealthCheckTimeoutSeconds": 10,
    "HealthyThresholdCount": 3,
    "UnhealthyThresholdCount": 3,
    "HealthCheckPath": "/",
    "Matcher": {"HttpCode": "200"},
}


@pytest.mark.parametrize(
    ("matcher", "status", "accepted"),
    [
        ("200", 200, True),
        ("200", 204, False),
        ("200,202", 202, True),
        ("200-299", 299, True),
        ("200-299", 302, False),
        ("200-399, 404", 404, True),
    ],
)
def test_matcher(matcher, status, accepted):
    assert matcher_accepts(matcher, status) is accepted


def test_the_workshop_settings_run_ten_times_faster():
    check = HealthCheck.from_api(
        WORKSHOP_GROUP, {"deregistration_delay.timeout_seconds": "300"}, Clock()
    )
    assert (check.protocol, check.path, check.matcher) == ("HTTP", "/", "200")
    assert (check.interval, check.timeout) == (1.0, 1.0)
    assert (check.healthy_threshold, check.unhealthy_threshold) == (3, 3)
    assert check.drain_seconds == 30.0


def test_short_settings_are_clamped_and_defaults_follow_aws():
    check = HealthCheck.from_api(
        {
            "Protocol": "TCP",
            "Port": 80,
            "HealthCheckIntervalSeconds": 1,
            "HealthCheckTimeoutSeconds": 2,
        },
        {},
        Clock(),
    )
    assert (check.interval, check.timeout) == (0.2, 0.5)
    assert (check.protocol, check.matcher) == ("TCP", "200-399")
    assert (check.healthy_threshold, check.unhealthy_threshold) == (5, 2)


def test_the_groups_port_means_the_targets_own_port():
    check = HealthCheck.from_api(WORKSHOP_GROUP, {}, Clock())
    assert check.probe_port(43123) == 43123
    # The group's port: local targets listen elsewhere.
    assert dataclasses.replace(check, port="8080").probe_port(43123) == 43123
    # A dedicated health port is used as given.
    assert dataclasses.replace(check, port="9000").probe_port(43123) == 9000


def _states(target: Target, settings: HealthCheck, results: list[bool]) -> list[str]:
    seen = []
    for passed in results:
        target.record(settings, passed, "500" if not passed else "200")
        seen.append(f"{target.state}/{target.reason}")
    return seen


def test_thresholds_move_a_target_between_states():
    settings = HealthCheck.from_api(WORKSHOP_GROUP, {}, Clock())
    target = Target("127.0.0.1", 9000, due=0.0)
    assert target.to_api(settings, in_use=True)["TargetHealth"]["Reason"] == (
        "Elb.RegistrationInProgress"
    )
    assert _states(target, settings, [True, True, True, False, False, False, True]) == [
        "initial/Elb.InitialHealthChecking",
        "initial/Elb.InitialHealthChecking",
        "healthy/None",
        "healthy/None",  # one failure is not enough
        "healthy/None",
        "unhealthy/Target.FailedHealthChecks",
        "unhealthy/Target.FailedHealthChecks",  # one success is not enough either
    ]
    unused = target.to_api(settings, in_use=False)["TargetHealth"]
    assert (unused["State"], unused["Reason"]) == ("unused", "Target.NotInUse")


def test_application_groups_fail_with_alb_reasons():
    settings = HealthCheck.from_api(WORKSHOP_GROUP | {"Protocol": "HTTP"}, {}, Clock())
    target = Target("127.0.0.1", 9000, due=0.0)
    for _ in range(3):
        target.record(settings, False, "503")
    assert (target.reason, target.description) == (
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [503]",
    )
    target.record(settings, False, "timeout")
    assert target.reason == "Target.Timeout"


# -- the checker, against servers on loopback -----------------------------------------------
class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ok_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections (the kernel's backlog) and never answers: every check times out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


FAST = WORKSHOP_GROUP | {
    "HealthCheckIntervalSeconds": 2,  # 0.2 s
    "HealthCheckTimeoutSeconds": 20,  # 2 s: a silent target holds a probe that long
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 2,
}


@pytest.fixture
def connections() -> dict[tuple[str, int], int]:
    return {}


@pytest.fixture
def checker(connections) -> Iterator[HealthChecker]:
    checker = HealthChecker(Clock(), lambda address: connections.get(address, 0))
    checker.start()
    yield checker
    checker.stop()


def _state(checker: HealthChecker, arn: str, port: int) -> str:
    group = checker.group(arn)
    assert group is not None
    [described] = checker.describe(group, [("127.0.0.1", port)], in_use=True)
    return described["TargetHealth"]["State"]


def test_slow_targets_do_not_delay_the_others_and_one_thread_schedules_all(
    checker, ok_server, silent_port
):
    before = {t.name for t in threading.enumerate()}
    settings = HealthCheck.from_api(FAST, {"deregistration_delay.timeout_seconds": "5"}, Clock())
    silent = checker.add_group("silent", settings)
    checker.register(silent, [("127.0.0.1", silent_port)])
    checker.register(checker.add_group("ok", settings), [("127.0.0.1", ok_server)])
    # Two passing checks 0.2 s apart, while each silent probe holds a worker for 2 s.
    wait_for(lambda: _state(checker, "ok", ok_server) == "healthy", "the answering target", 1.5)
    assert _state(checker, "silent", silent_port) == "initial"
    assert checker.routable(["ok", "silent"]) == [("127.0.0.1", ok_server)]

    for index in range(20):  # many targets, still one scheduler and a bounded pool
        checker.register(silent, [("127.0.0.1", 40000 + index)])
    names = [t.name for t in threading.enumerate()]
    assert names.count("elb-health") == 1
    started = [name for name in names if name not in before]
    assert all(name.startswith("elb-probe") for name in started) and len(started) <= 4, started
    wait_for(lambda: _state(checker, "silent", silent_port) == "unhealthy", "the silent target", 8)


def test_a_deregistered_target_drains_until_its_connections_are_closed(
    checker, connections, ok_server
):
    settings = HealthCheck.from_api(FAST, {"deregistration_delay.timeout_seconds": "300"}, Clock())
    address = ("127.0.0.1", ok_server)
    group = checker.add_group("tg", settings)
    checker.register(group, [address])
    wait_for(lambda: _state(checker, "tg", ok_server) == "healthy", "a healthy target")
    connections[address] = 1
    assert checker.known(group, [address])
    checker.deregister(group, [address])
    [described] = checker.describe(group, [], in_use=True)
    assert described["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"
    assert checker.routable(["tg"]) == []
    checker.register(group, [address])  # registered again while draining: starts over
    assert _state(checker, "tg", ok_server) == "initial"
    checker.deregister(group, [address])
    connections[address] = 0
    wait_for(lambda: checker.describe(group, [], in_use=True) == [], "the drain to end", 2)
    [gone] = checker.describe(group, [address], in_use=True)
    assert gone["TargetHealth"]["Reason"] == "Target.NotRegistered"
