"""Health check settings as CreateTargetGroup/ModifyTargetGroup check them beyond the API
model (the matcher's codes, the path): what passes, and the message of what does not."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.elb.validation import (
    InvalidHealthCheck,
    check_health_check,
    code_ranges,
)


def test_code_lists_and_ranges():
    assert code_ranges("200") == [(200, 200)]
    assert code_ranges("200,202") == [(200, 200), (202, 202)]
    assert code_ranges("200-299, 404") == [(200, 299), (404, 404)]


@pytest.mark.parametrize(
    ("protocol", "matcher"),
    [
        ("TCP", "200"),
        ("TCP", "200,202"),
        ("TCP", "200-299"),
        ("TCP", "200-599"),  # an NLB's range
        ("HTTP", "200-499"),  # an ALB's
        ("HTTPS", "404"),
        ("GENEVE", "200-399"),
        (None, "200"),  # a lambda group
    ],
)
def test_matchers_aws_accepts(protocol, matcher):
    check_health_check({"Matcher": {"HttpCode": matcher}}, protocol)


@pytest.mark.parametrize(
    ("protocol", "matcher", "message"),
    [
        ("TCP", "200-", "must be a code, a list of codes ('200,202') or a range ('200-299')"),
        ("TCP", "2xx", "must be a code"),
        ("TCP", "abc", "must be a code"),
        ("TCP", "299-200", "must be a code"),
        ("TCP", "", "Health check matcher HTTP code cannot be empty"),
        ("TCP", "600", "Health check matcher HTTP code '600' must be within '200-599'"),
        ("TCP", "100-200", "must be within '200-599'"),
        ("HTTP", "500", "Health check matcher HTTP code '500' must be within '200-499'"),
        ("GENEVE", "200-499", "must be within '200-399'"),
    ],
)
def test_matchers_aws_refuses(protocol, matcher, message):
    with pytest.raises(InvalidHealthCheck, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_health_check({"Matcher": {"HttpCode": matcher}}, protocol)


def test_grpc_codes_range_from_0_to_99():
    check_health_check({"Matcher": {"GrpcCode": "0-99"}}, "HTTP")
    check_health_check({"Matcher": {"GrpcCode": "12"}}, "HTTP")
    with pytest.raises(InvalidHealthCheck, match="gRPC code '100' must be within '0-99'"):
        check_health_check({"Matcher": {"GrpcCode": "100"}}, "HTTP")


def test_the_path_starts_with_a_slash():
    check_health_check({"HealthCheckPath": "/health?full=1"}, "HTTP")
    with pytest.raises(InvalidHealthCheck, match="Health check path 'health' must begin with '/'"):
        check_health_check({"HealthCheckPath": "health"}, "HTTP")


def test_settings_left_out_are_not_checked():
    check_health_check({"TargetGroupArn": "arn", "Matcher": {}}, "TCP")
