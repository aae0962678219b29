"""Target group health-check settings as the local load balancer applies them."""

import pytest

from mysfits_lab.localcloud.providers.elb import HealthCheck, matcher_accepts

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
    check = HealthCheck.from_api(WORKSHOP_GROUP, {"deregistration_delay.timeout_seconds": "300"})
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
    )
    assert (check.interval, check.timeout) == (0.2, 0.5)
    assert (check.protocol, check.matcher) == ("TCP", "200-399")
    assert (check.healthy_threshold, check.unhealthy_threshold) == (5, 2)


def test_the_groups_port_means_the_targets_own_port():
    check = HealthCheck.from_api(WORKSHOP_GROUP, {})
    assert check.probe_port(43123) == 43123
    check.port = "8080"  # the group's port: local targets listen elsewhere
    assert check.probe_port(43123) == 43123
    check.port = "9000"  # a dedicated health port is used as given
    assert check.probe_port(43123) == 9000
