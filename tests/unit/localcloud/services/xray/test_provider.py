"""The provider without an edge: the daemon's address in every child's environment while it
runs, documents refused from the daemon, sampling answers and timestamps as clients send them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysfits_lab.localcloud.core.provider import Context
from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.edge.cors import CorsPolicy
from mysfits_lab.localcloud.services.xray.provider import XRayProvider, epoch
from mysfits_lab.localcloud.services.xray.sampling import DEFAULT_RULE, Sampling

from .samples import T0, post_question


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = Context("http://127.0.0.1:9", "eu-west-1", tmp_path, CorsPolicy())
    yield context
    context.close()


def test_children_find_the_daemon_while_the_provider_runs(ctx):
    provider = XRayProvider(ctx)
    assert "AWS_XRAY_DAEMON_ADDRESS" not in ctx.child_environment("eu-west-1")
    provider.start()
    try:
        address = provider.daemon.address
        assert address is not None
        assert ctx.child_environment("eu-west-1")["AWS_XRAY_DAEMON_ADDRESS"] == address
        # A task definition's own value (a sidecar daemon on AWS) cannot reach a daemon here.
        env = ctx.child_environment("eu-west-1", base={"AWS_XRAY_DAEMON_ADDRESS": "xray:2000"})
        assert env["AWS_XRAY_DAEMON_ADDRESS"] == address
        # What the caller passes as ``extra`` still wins, and other options still work.
        env = ctx.child_environment(
            "eu-west-1", extra={"AWS_XRAY_DAEMON_ADDRESS": "x:1"}, path_first=["/shims"]
        )
        assert env["AWS_XRAY_DAEMON_ADDRESS"] == "x:1" and env["PATH"].startswith("/shims:")
        assert provider.status()["xray"]["daemon_address"] == address
    finally:
        provider.stop()
    assert "AWS_XRAY_DAEMON_ADDRESS" not in ctx.child_environment("eu-west-1")


def test_daemon_documents_go_to_the_store_or_are_counted_refused(ctx):
    provider = XRayProvider(ctx)
    for body in post_question(1):
        assert provider.accept(json.dumps(body))
    assert not provider.accept("[]")
    assert not provider.accept('{"id": "nothex"}')
    assert provider.status()["xray"] | {"daemon_address": None} == {
        "daemon_address": None,
        "segments": 3,
        "traces": 1,
    }


def test_the_default_rule_samples_everything_and_every_client_gets_its_quota():
    sampling = Sampling("eu-west-1", created_at=T0)
    (record,) = sampling.rules()["SamplingRuleRecords"]
    rule = record["SamplingRule"]
    assert rule["RuleName"] == DEFAULT_RULE and rule["FixedRate"] == 1.0
    assert rule["ReservoirSize"] == 1 and rule["Version"] == 1 and rule["ResourceARN"] == "*"
    assert rule["RuleARN"] == "arn:aws:xray:eu-west-1:123456789012:sampling-rule/Default"
    assert not rule["Attributes"]  # the SDK ignores rules with attributes
    statistics = [
        {"RuleName": "Default", "ClientID": "a" * 24, "RequestCount": 3},
        {"RuleName": "Other", "ClientID": "a" * 24, "RequestCount": 1},
    ]
    answer = sampling.targets(statistics, now=T0 + 5)
    (target,) = answer["SamplingTargetDocuments"]
    assert target == {
        "RuleName": "Default",
        "FixedRate": 1.0,
        "ReservoirQuota": 1,
        "ReservoirQuotaTTL": T0 + 15,
        "Interval": 10,
    }
    assert [u["RuleName"] for u in answer["UnprocessedStatistics"]] == ["Other"]
    assert answer["LastRuleModification"] == T0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (T0, T0),
        (int(T0), T0),
        (str(T0), T0),
        ("2026-01-01T00:00:00Z", T0),
        ("2026-01-01T01:00:00+01:00", T0),
        ("2026-01-01T00:00:00", T0),  # no zone: UTC
    ],
)
def test_timestamps_are_read_as_clients_send_them(value, seconds):
    assert epoch(value, "StartTime") == seconds


@pytest.mark.parametrize("value", ["yesterday", True, None, [1]])
def test_what_is_not_a_time_is_an_invalid_request(value):
    with pytest.raises(ServiceError) as error:
        epoch(value, "StartTime")
    assert error.value.code == "InvalidRequestException"
