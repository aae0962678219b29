"""Health checks as the local load balancer runs them: settings on the loopback clock, state
transitions, one scheduler thread for every target, draining."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mysfits_lab.localcloud.core.changes import Changes
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


@pytest.mark.parametrize("matcher", ["200-", "2xx", "abc", "", "299-200", "200,,202"])
def test_a_matcher_the_api_refuses_is_an_error_not_a_verdict(matcher):
    with pytest.raises(ValueError):
        matcher_accepts(matcher, 200)


def test_intervals_run_fifty_times_faster_but_timeouts_and_failing_time_have_floors():
    check = HealthCheck.from_api(
        WORKSHOP_GROUP, {"deregistration_delay.timeout_seconds": "300"}, Clock()
    )
    assert (check.protocol, check.path, check.matcher) == ("HTTP", "/", "200")
    assert (check.healthy_threshold, check.unhealthy_threshold) == (3, 3)
    assert check.interval == 0.2  # healthy 0.4 s after the first passed check
    # A loaded laptop gets as long as a real target: 10 s of AWS timeout is 5 s, not 1 s, and
    # 3 failed checks 0.2 s apart are not enough to be unhealthy before 10 s of failing.
    assert (check.timeout, check.unhealthy_after) == (5.0, 10.0)
    assert check.drain_seconds == 30.0


def test_long_settings_scale_past_the_floors_and_defaults_follow_aws():
    check = HealthCheck.from_api(
        {
            "Protocol": "TCP",
            "Port": 80,
            "HealthCheckIntervalSeconds": 300,
            "HealthCheckTimeoutSeconds": 120,
            "UnhealthyThresholdCount": 10,
        },
        {"deregistration_delay.timeout_seconds": "30"},
        Clock(),
    )
    assert (check.interval, check.timeout, check.unhealthy_after) == (6.0, 12.0, 60.0)
    assert check.drain_seconds == 5.0  # 3 s scaled: an in-flight request gets 5 s
    assert (check.protocol, check.matcher, check.healthy_threshold) == ("TCP", "200-399", 5)
    defaults = HealthCheck.from_api({"Protocol": "TCP", "Port": 80}, {}, Clock())
    assert (defaults.healthy_threshold, defaults.unhealthy_threshold) == (5, 2)
    no_delay = {"deregistration_delay.timeout_seconds": "0"}
    assert HealthCheck.from_api(WORKSHOP_GROUP, no_delay, Clock()).drain_seconds == 0.0


def test_the_groups_port_means_the_targets_own_port():
    check = HealthCheck.from_api(WORKSHOP_GROUP, {}, Clock())
    assert check.probe_port(43123) == 43123
    # The group's port: local targets listen elsewhere.
    assert dataclasses.replace(check, port="8080").probe_port(43123) == 43123
    # A dedicated health port is used as given.
    assert dataclasses.replace(check, port="9000").probe_port(43123) == 9000


def _states(target: Target, settings: HealthCheck, results: list[tuple[float, bool]]) -> list:
    """Record (time, passed) checks; the state and reason after each."""
    seen = []
    for now, passed in results:
        target.record(settings, passed, "500" if not passed else "200", now)
        seen.append(f"{target.state}/{target.reason}")
    return seen


def test_thresholds_move_a_target_between_states():
    settings = HealthCheck.from_api(WORKSHOP_GROUP, {}, Clock())
    target = Target("127.0.0.1", 9000, due=0.0)
    assert target.to_api(settings, in_use=True)["TargetHealth"]["Reason"] == (
        "Elb.RegistrationInProgress"
    )
    checks = [(0, True), (1, True), (2, True), (3, False), (4, False), (12, False), (13, True)]
    assert _states(target, settings, checks) == [
        "initial/Elb.InitialHealthChecking",
        "initial/Elb.InitialHealthChecking",
        "healthy/None",
        "healthy/None",  # one failure is not enough
        "healthy/None",
        "unhealthy/Target.FailedHealthChecks",  # 3 in a row, 10 s after the last pass
        "unhealthy/Target.FailedHealthChecks",  # one success is not enough either
    ]
    unused = target.to_api(settings, in_use=False)["TargetHealth"]
    assert (unused["State"], unused["Reason"]) == ("unused", "Target.NotInUse")


def test_a_target_that_stalls_for_less_than_the_floor_stays_healthy():
    settings = HealthCheck.from_api(WORKSHOP_GROUP, {}, Clock())
    target = Target("127.0.0.1", 9000, due=0.0)
    _states(target, settings, [(0, True), (1, True), (2, True)])
    # Frozen from 2 s to 11.9 s: every check times out (5 s each), far more than 3 in a row.
    stalled = [(2 + t, False) for t in (5, 6, 7, 8, 9, 9.9)]
    assert set(_states(target, settings, stalled)) == {"healthy/None"}
    assert _states(target, settings, [(12.5, True)]) == ["healthy/None"]
    # Failing for 10 s makes it unhealthy, however few checks fit in that time.
    assert _states(target, settings, [(18, False), (21, False), (22.4, False)])[-1] == (
        "healthy/None"
    )
    assert _states(target, settings, [(22.5, False)]) == ["unhealthy/Target.FailedHealthChecks"]


def test_a_target_that_never_answers_is_unhealthy_10_s_after_registration():
    settings = HealthCheck.from_api(WORKSHOP_GROUP, {}, Clock())
    target = Target("127.0.0.1", 9000, due=100.0)  # registered at 100 s
    refused = [(100 + t, False) for t in range(10)]
    assert set(_states(target, settings, refused)) == {"initial/Elb.InitialHealthChecking"}
    assert _states(target, settings, [(110, False)]) == ["unhealthy/Target.FailedHealthChecks"]


def test_application_groups_fail_with_alb_reasons():
    settings = HealthCheck.from_api(WORKSHOP_GROUP | {"Protocol": "HTTP"}, {}, Clock())
    target = Target("127.0.0.1", 9000, due=0.0)
    for now in (1, 5, 10):
        target.record(settings, False, "503", now)
    assert (target.reason, target.description) == (
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [503]",
    )
    target.record(settings, False, "timeout", 11)
    assert target.reason == "Target.Timeout"


# -- the checker, against servers on loopback -----------------------------------------------
class _Ok(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        _Ok.hits += 1
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
    "HealthCheckIntervalSeconds": 5,  # 0.2 s (the floor)
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 2,
}


def _fast(attributes: dict[str, str] | None = None) -> HealthCheck:
    """FAST settings with the floors lowered: a silent target holds a probe for 2 s and is
    unhealthy after 2 s of failing (the floors themselves are tested above)."""
    settings = HealthCheck.from_api(FAST, attributes or {}, Clock())
    return dataclasses.replace(settings, timeout=2.0, unhealthy_after=2.0)


@pytest.fixture
def connections() -> dict[tuple[str, int], int]:
    return {}


@pytest.fixture
def checker(connections) -> Iterator[HealthChecker]:
    checker = HealthChecker(Clock(), lambda address: connections.get(address, 0), Changes().notify)
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
    settings = _fast({"deregistration_delay.timeout_seconds": "5"})
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
    settings = _fast({"deregistration_delay.timeout_seconds": "300"})
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


def test_a_broken_matcher_is_logged_once_and_the_target_is_still_checked(
    checker, ok_server, caplog
):
    # The API refuses such a matcher; should one reach the checker anyway, no probe worker or
    # scheduler may die of it, and the target keeps being checked.
    broken = dataclasses.replace(_fast(), matcher="2xx")
    group = checker.add_group("tg", broken)
    _Ok.hits = 0
    checker.register(group, [("127.0.0.1", ok_server)])
    wait_for(lambda: _Ok.hits >= 4, "checks to go on")
    assert _state(checker, "tg", ok_server) == "initial"  # no verdict from a broken check
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "health-checking target 127.0.0.1" in errors[0].getMessage()

    checker.update_settings("tg", _fast())
    wait_for(lambda: _state(checker, "tg", ok_server) == "healthy", "the fixed target", 2)


def test_a_failure_while_scheduling_one_target_does_not_stop_the_others(ok_server, caplog):
    stuck = ("127.0.0.1", 9)

    def connections(address: tuple[str, int]) -> int:
        if address == stuck:  # the drain check of ``stuck`` fails on every pass
            raise RuntimeError("connection count unavailable")
        return 0

    checker = HealthChecker(Clock(), connections, Changes().notify)
    checker.start()
    try:
        group = checker.add_group("tg", _fast())
        checker.register(group, [stuck, ("127.0.0.1", ok_server)])
        checker.deregister(group, [stuck])
        wait_for(lambda: _state(checker, "tg", ok_server) == "healthy", "the other target", 3)
        assert _state(checker, "tg", 9) == "draining"  # looked at again, not lost
        assert sum("scheduling" in r.getMessage() for r in caplog.records) == 1
    finally:
        checker.stop()


def test_each_change_of_a_targets_state_is_announced(ok_server):
    changes = Changes()
    checker = HealthChecker(Clock(), lambda address: 0, changes.notify)
    checker.start()
    try:
        group = checker.add_group("tg", _fast())
        address = ("127.0.0.1", ok_server)
        checker.register(group, [address])
        wait_for(lambda: changes.count() == 1, "healthy to be announced", 3)
        assert _state(checker, "tg", ok_server) == "healthy"
        checker.deregister(group, [address])  # no open connection: drained at once
        wait_for(lambda: changes.count() == 2, "the drained target to be announced", 3)
        assert checker.describe(group, [], in_use=True) == []
    finally:
        checker.stop()
