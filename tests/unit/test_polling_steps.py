"""Steps that poll AWS until something settles: they follow it, and fail fast when it failed."""

import time
from types import SimpleNamespace

import pytest

from mysfits_lab.lab import LabError
from mysfits_lab.steps import image_build, network
from tests.unit.fakes import FakeLab, Script


def _cloudformation(*statuses, events=()):
    return SimpleNamespace(
        describe_stacks=Script(*({"Stacks": [{"StackStatus": s}]} for s in statuses)),
        describe_stack_resources=Script(
            {"StackResources": [{"ResourceStatus": "CREATE_IN_PROGRESS"}]},
            {"StackResources": [{"ResourceStatus": "CREATE_COMPLETE"}] * 3},
        ),
        describe_stack_events=Script({"StackEvents": list(events)}),
    )


def test_a_stack_is_followed_until_it_settles(capsys):
    cfn = _cloudformation("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
    stack = network._wait(FakeLab(cloudformation=cfn), "Creating")
    assert stack == {"StackStatus": "CREATE_COMPLETE"} and cfn.describe_stacks.calls == 3
    assert "Creating mysfit-MythicalMysfitsCoreStack: 3/" in capsys.readouterr().out


def test_a_failed_stack_fails_at_once_with_its_reasons():
    failure = {
        "LogicalResourceId": "NatGatewayOne",
        "ResourceStatus": "CREATE_FAILED",
        "ResourceStatusReason": "address limit",
    }
    cfn = _cloudformation("CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", events=[failure])
    started = time.monotonic()
    with pytest.raises(LabError, match="is ROLLBACK_COMPLETE: NatGatewayOne: address limit"):
        network._wait(FakeLab(cloudformation=cfn), "Creating")
    assert time.monotonic() - started < 1


def _build(status, phases, failed=None):
    names = image_build.BUILD_PHASES[:phases]
    return {
        "id": "build:1",
        "buildStatus": status,
        "logs": {"groupName": "/aws/codebuild/p", "streamName": "1"},
        "phases": [
            {"phaseType": name, "phaseStatus": "FAILED" if name == failed else "SUCCEEDED"}
            | ({"contexts": [{"message": "docker build exited 1"}]} if name == failed else {})
            for name in names
        ],
    }


class _BuildLogs:
    """A stream that gains one line per poll."""

    def __init__(self):
        self.polls = 0

    def get_log_events(self, nextToken="0", **kwargs):
        self.polls += 1
        start = int(nextToken)
        return {
            "events": [{"message": f"line {n}"} for n in range(start + 1, self.polls + 1)],
            "nextForwardToken": str(self.polls),
        }


def _codebuild(*builds):
    return SimpleNamespace(
        start_build=Script({"build": {"id": "build:1"}}),
        batch_get_builds=Script(*({"builds": [b]} for b in builds)),
    )


def test_a_build_is_followed_phase_by_phase_and_line_by_line(capsys):
    codebuild = _codebuild(_build("IN_PROGRESS", 3), _build("SUCCEEDED", 11))
    build = image_build.run_build(FakeLab(codebuild=codebuild, logs=_BuildLogs()), "p")
    assert build["buildStatus"] == "SUCCEEDED"
    printed = capsys.readouterr().out
    assert [line for line in printed.splitlines() if line.startswith("  |")] == [
        "  | line 1",
        "  | line 2",
        "  | line 3",
    ]
    assert "Build p: 11/11 phases" in printed


def test_a_failed_build_names_its_phase_and_reason():
    codebuild = _codebuild(_build("FAILED", 7, failed="BUILD"))
    with pytest.raises(LabError, match="build build:1 FAILED in BUILD: docker build exited 1"):
        image_build.run_build(FakeLab(codebuild=codebuild, logs=_BuildLogs()), "p")
