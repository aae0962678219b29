"""The clock's scales, free ports, and a child's AWS environment."""

from __future__ import annotations

import socket

import pytest

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.core.environment import child_environment
from mysfits_lab.localcloud.core.ports import PortAllocator


def test_loopback_timers_are_scaled_but_user_timeouts_are_not_by_default():
    clock = Clock(scale=0.1)
    assert clock.scaled(10) == pytest.approx(1.0)
    assert clock.scaled(1, minimum=0.5) == 0.5
    start = clock.monotonic()
    assert clock.timeout_deadline(300) - start == pytest.approx(300, abs=0.5)
    fast = Clock(timeout_scale=0.01)
    assert fast.timeout_deadline(300) - fast.monotonic() == pytest.approx(3, abs=0.5)
    with pytest.raises(ValueError):
        Clock(scale=0)


def test_ports_are_free_and_not_handed_out_twice_in_a_row():
    ports = PortAllocator()
    taken = [ports.take() for _ in range(20)]
    assert len(set(taken)) == 20
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", taken[-1]))  # still free


def test_a_child_finds_the_local_cloud_as_an_sdk_finds_aws():
    env = child_environment(
        "http://127.0.0.1:4577",
        "eu-west-1",
        base={"APP": "1", "PATH": "/image/bin", "AWS_REGION": "us-west-2"},
        path_first=["/shims"],
        xray_daemon="127.0.0.1:2000",
        extra={"HOME": "/build"},
    )
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4577"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000"
    assert env["APP"] == "1" and env["HOME"] == "/build"
    assert env["PATH"].split(":")[0] == "/shims" and "/image/bin" not in env["PATH"]
