"""The one CloudWatch Logs writer: ordered, batched, never failing its writer; the same through
an SDK client and straight into moto's logs backend (as inside the cloud)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from mysfits_lab.localcloud.constants import ACCOUNT_ID
from mysfits_lab.localcloud.core.logs import LogWriter, moto_sender


@pytest.fixture
def logs(clean_aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("logs", region_name="eu-west-1")


@pytest.fixture(params=["client", "moto"])
def writer(request, logs):
    writer = LogWriter(
        lambda region: logs, send=moto_sender(ACCOUNT_ID) if request.param == "moto" else None
    )
    yield writer
    writer.close()


def events(client, group: str, stream: str) -> list[dict]:
    return client.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)[
        "events"
    ]


def test_lines_arrive_in_order_with_non_decreasing_stamps(logs, writer):
    stream = writer.open("eu-west-1", "/lab/test", "one", create_group=True)
    for i in range(1200):  # more than one PutLogEvents batch
        stream.write(f"line {i}")
    stream.write("   ")  # CloudWatch rejects empty messages: skipped
    stream.flush()
    got = events(logs, "/lab/test", "one")
    assert [e["message"] for e in got][:3] == ["line 0", "line 1", "line 2"]
    assert len(got) == 1200
    stamps = [e["timestamp"] for e in got]
    assert stamps == sorted(stamps)


def test_a_missing_group_is_an_error_unless_it_may_be_created(logs, writer):
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        writer.open("eu-west-1", "/lab/missing", "s")
    assert writer.open("eu-west-1", "/lab/created", "s", create_group=True).group == "/lab/created"


def test_a_deleted_group_drops_lines_without_failing_the_writer(logs, writer):
    stream = writer.open("eu-west-1", "/lab/gone", "s", create_group=True)
    logs.delete_log_group(logGroupName="/lab/gone")
    stream.write("lost")
    stream.flush()  # no exception
    again = writer.open("eu-west-1", "/lab/other", "s", create_group=True)
    again.write("kept")
    again.flush()
    assert [e["message"] for e in events(logs, "/lab/other", "s")] == ["kept"]
