"""What the Lambda provider knows beyond moto's record: references, checks, states."""

from __future__ import annotations

from pathlib import Path

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.awslambda.models import (
    PYTHON_RUNTIMES,
    Function,
    check_environment,
    check_runtime,
    parse_reference,
    revision_from,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:mysfits"


@pytest.mark.parametrize(
    ("reference", "qualifier", "expected"),
    [
        ("mysfits", None, ("us-east-1", "mysfits", None)),
        ("mysfits:7", None, ("us-east-1", "mysfits", "7")),
        ("mysfits", "live", ("us-east-1", "mysfits", "live")),
        (ARN, None, ("us-east-1", "mysfits", None)),
        (f"{ARN}:$LATEST", "$LATEST", ("us-east-1", "mysfits", "$LATEST")),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:other",
            None,
            ("eu-west-1", "other", None),
        ),
        ("123456789012:function:mysfits:2", None, ("us-east-1", "mysfits", "2")),
    ],
)
def test_function_references(reference, qualifier, expected):
    ref = parse_reference(reference, "us-east-1", qualifier)
    assert (ref.region, ref.name, ref.qualifier) == expected


def test_a_qualifier_that_contradicts_the_name_is_refused():
    with pytest.raises(ServiceError) as raised:
        parse_reference("mysfits:1", "us-east-1", "2")
    assert raised.value.code == "InvalidParameterValueException"
    assert "does not match the specified qualifier" in raised.value.message


def test_another_account_is_refused():
    with pytest.raises(ServiceError) as raised:
        parse_reference("arn:aws:lambda:us-east-1:999999999999:function:x", "us-east-1")
    assert raised.value.code == "AccessDeniedException"


def test_python_runtimes_run_others_are_refused_naming_what_runs():
    for runtime in PYTHON_RUNTIMES:
        check_runtime(runtime)
    assert PYTHON_RUNTIMES[0] == "python3.9" and "python3.13" in PYTHON_RUNTIMES
    with pytest.raises(ServiceError) as raised:
        check_runtime("nodejs20.x")
    assert raised.value.code == "InvalidParameterValueException"
    assert raised.value.status == 400
    assert "nodejs20.x" in raised.value.message
    assert ", ".join(PYTHON_RUNTIMES) in raised.value.message
    with pytest.raises(ServiceError, match="container engine"):
        check_runtime(None, "Image")


def test_reserved_environment_variables_are_refused():
    check_environment({"TABLE": "mysfits", "AWS_ENDPOINT_URL_S3": "x"})
    with pytest.raises(ServiceError) as raised:
        check_environment({"AWS_REGION": "x", "_HANDLER": "y", "OK": "1"})
    assert raised.value.message.endswith("Reserved keys used in this request: AWS_REGION, _HANDLER")


def test_environment_variables_are_limited_to_4_kb():
    check_environment({"A": "x" * 4000})
    with pytest.raises(ServiceError, match="exceeded the 4KB limit"):
        check_environment({"A": "x" * 4100})


def _revision(name: str = "mysfits") -> object:
    config = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Timeout": 9,
        "MemorySize": 512,
        "Environment": {"Variables": {"A": "1"}},
        "_CodeSha256Hex": "ab" * 32,
    }
    return revision_from(config, "us-east-1", Path("/code"), (), None)


def test_a_revision_from_moto_s_configuration():
    revision = _revision()
    assert (revision.version, revision.timeout, revision.memory) == ("$LATEST", 9, 512)
    assert revision.log_group == "/aws/lambda/mysfits"
    assert dict(revision.environment) == {"A": "1"}
    published = revision.published("4")
    assert published.version == "4" and published.serial > revision.serial
    assert published.code_dir == revision.code_dir


def test_a_new_function_is_pending_until_its_code_is_unpacked():
    fn = Function("us-east-1", "mysfits")
    assert fn.amend({"Version": "$LATEST"}, creating=True) == {
        "Version": "$LATEST",
        "State": "Pending",
        "StateReason": "The function is being created.",
        "StateReasonCode": "Creating",
        "TracingConfig": {"Mode": "PassThrough"},
    }
    with pytest.raises(ServiceError) as raised:
        fn.check_mutable()
    assert raised.value.code == "ResourceConflictException"
    assert raised.value.status == 409
    assert raised.value.message.endswith("currently in the following state: Pending")

    fn.activated(_revision())
    assert fn.amend({"State": "Active", "Version": "$LATEST"}) == {
        "Version": "$LATEST",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "TracingConfig": {"Mode": "PassThrough"},
    }
    fn.check_mutable()


def test_an_update_is_in_progress_then_successful():
    fn = Function("us-east-1", "mysfits")
    fn.activated(_revision())
    fn.begin_update()
    assert fn.amend({}, updating=True) == {
        "State": "Active",
        "LastUpdateStatus": "InProgress",
        "LastUpdateStatusReason": "The function is being created.",
        "LastUpdateStatusReasonCode": "Creating",
        "TracingConfig": {"Mode": "PassThrough"},
    }
    with pytest.raises(ServiceError, match="An update is in progress for resource: arn:aws"):
        fn.check_mutable()
    fn.activated(_revision())
    assert fn.amend({})["LastUpdateStatus"] == "Successful"


def test_failures_of_a_new_and_of_an_updated_function():
    new = Function("us-east-1", "new")
    new.failed("The code could not be unpacked: bad", "InvalidZipFileException")
    assert new.amend({})["State"] == "Failed"
    assert new.amend({})["StateReasonCode"] == "InvalidZipFileException"

    updated = Function("us-east-1", "updated")
    updated.activated(_revision("updated"))
    updated.begin_update()
    updated.failed("The code could not be unpacked: bad", "InvalidZipFileException")
    amended = updated.amend({})
    assert (amended["State"], amended["LastUpdateStatus"]) == ("Active", "Failed")


def test_a_published_version_is_active():
    fn = Function("us-east-1", "mysfits")
    fn.activated(_revision())
    fn.versions["1"] = fn.latest.published("1")
    fn.begin_update()
    assert fn.amend({"Version": "1"}) == {
        "Version": "1",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "TracingConfig": {"Mode": "PassThrough"},
    }


def test_the_tracing_mode_is_the_engine_s_for_latest_and_the_revision_s_for_a_version():
    active = revision_from(
        {"FunctionName": "traced", "TracingConfig": {"Mode": "Active"}},
        "us-east-1",
        Path("/code"),
        (),
        None,
    )
    assert active.tracing == "Active" and active.published("1").tracing == "Active"
    assert _revision().tracing == "PassThrough"  # no TracingConfig in moto's record
    fn = Function("us-east-1", "mysfits")
    fn.activated(_revision())
    fn.versions["1"] = fn.latest.published("1")
    fn.tracing = "Active"  # UpdateFunctionConfiguration, which moto does not record
    passthrough = {"Mode": "PassThrough"}
    assert fn.amend({"TracingConfig": passthrough})["TracingConfig"] == {"Mode": "Active"}
    # A published version keeps what it was published with, whatever the answer said.
    amended = fn.amend({"Version": "1", "TracingConfig": {"Mode": "Active"}})
    assert amended["TracingConfig"] == passthrough
