"""What CreateEventSourceMapping and UpdateEventSourceMapping refuse, in Lambda's words."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.event_sources import validation as checks
from mysfits_lab.localcloud.services.event_sources.models import Settings

from .helpers import FUNCTION, STREAM


def _refused(check, *args) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        check(*args)
    return error.value


def test_an_event_source_is_required():
    error = _refused(checks.stream_source, {"FunctionName": "f"})
    assert (error.code, error.message, error.status) == (
        "InvalidParameterValueException",
        "Unrecognized event source.",
        400,
    )
    assert error.fields == {"Type": "User"}


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("arn:aws:sqs:us-east-1:123456789012:queue", "SQS queues"),
        ("arn:aws:kinesis:us-east-1:123456789012:stream/clicks", "Kinesis streams"),
        ("arn:aws:s3:::bucket", "s3 event sources"),
        ("not-an-arn", "these event sources"),
    ],
)
def test_other_kinds_of_source_are_refused_clearly(source, named):
    error = _refused(checks.stream_source, {"EventSourceArn": source})
    assert error.code == "InvalidParameterValueException"
    assert "polls DynamoDB streams only" in error.message
    assert named in error.message


def test_a_self_managed_kafka_source_is_refused():
    params = {"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k:9092"]}}}
    assert "Kafka" in _refused(checks.stream_source, params).message


def test_a_dynamodb_stream_is_accepted():
    assert checks.stream_source({"EventSourceArn": STREAM}) == STREAM


def test_a_stream_needs_a_starting_position():
    error = _refused(checks.starting_position, {}, STREAM)
    assert error.message == (
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
        "constraint: Member must not be null."
    )


def test_at_timestamp_is_a_kinesis_position():
    error = _refused(checks.starting_position, {"StartingPosition": "AT_TIMESTAMP"}, STREAM)
    assert error.message == f"Unsupported starting position for arn type: {STREAM}"


def test_a_timestamp_needs_at_timestamp():
    params = {"StartingPosition": "LATEST", "StartingPositionTimestamp": 1700000000}
    error = _refused(checks.starting_position, params, STREAM)
    assert error.message == "Timestamp only valid with StartingPosition AT_TIMESTAMP"


@pytest.mark.parametrize("position", ["TRIM_HORIZON", "LATEST"])
def test_trim_horizon_and_latest_are_accepted(position):
    assert checks.starting_position({"StartingPosition": position}, STREAM) == position


def test_an_on_success_destination_is_refused():
    params = {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:1:q"}}}
    error = _refused(checks.check_destination, params)
    assert error.message == (
        "Unsupported DestinationConfig parameter for given event source mapping type."
    )


def test_defaults_are_lambdas_for_dynamodb_streams():
    settings = checks.settings({}, FUNCTION)
    assert settings == Settings(function_arn=FUNCTION)
    assert (settings.batch_size, settings.window, settings.max_retries, settings.max_age) == (
        100,
        0,
        -1,
        -1,
    )
    assert (settings.bisect, settings.parallelization, settings.on_failure) == (False, 1, None)


def test_settings_are_read_and_an_update_keeps_what_it_does_not_name():
    queue = "arn:aws:sqs:us-east-1:123456789012:failed"
    created = checks.settings(
        {
            "BatchSize": 1,
            "MaximumBatchingWindowInSeconds": 2,
            "MaximumRetryAttempts": 3,
            "MaximumRecordAgeInSeconds": 60,
            "BisectBatchOnFunctionError": True,
            "ParallelizationFactor": 4,
            "DestinationConfig": {"OnFailure": {"Destination": queue}},
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MetricsConfig": {"Metrics": ["EventCount"]},
        },
        FUNCTION,
    )
    assert (created.batch_size, created.window, created.max_retries, created.max_age) == (
        1,
        2,
        3,
        60,
    )
    assert created.on_failure == queue
    assert created.patterns == ({"eventName": ["INSERT"]},)
    assert created.reports_item_failures
    assert created.extras == {"MetricsConfig": {"Metrics": ["EventCount"]}}

    updated = checks.settings({"BatchSize": 10, "FilterCriteria": {}}, FUNCTION, created)
    assert (updated.batch_size, updated.max_retries, updated.on_failure) == (10, 3, queue)
    assert updated.patterns == () and updated.filter_criteria is None
    cleared = checks.settings({"DestinationConfig": {"OnFailure": {}}}, FUNCTION, created)
    assert cleared.on_failure is None


@pytest.mark.parametrize("age", [0, 59, 604801])
def test_the_maximum_record_age_is_minus_one_or_a_minute_to_a_week(age):
    error = _refused(checks.settings, {"MaximumRecordAgeInSeconds": age}, FUNCTION)
    assert error.message == (
        "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"
    )


@pytest.mark.parametrize(
    "pattern",
    ['{"eventName": ["INSERT"=123}', '"INSERT"', "{}", '{"eventName": "INSERT"}', ""],
)
def test_a_filter_pattern_lambda_cannot_read_is_refused(pattern):
    params = {"FilterCriteria": {"Filters": [{"Pattern": pattern}]}}
    assert _refused(checks.settings, params, FUNCTION).message == (
        "Invalid filter pattern definition."
    )


def test_a_destination_must_be_a_queue_or_a_topic():
    params = {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::bucket"}}}
    assert "SQS queue or an SNS topic" in _refused(checks.settings, params, FUNCTION).message


@pytest.mark.parametrize(
    "params",
    [{"TumblingWindowInSeconds": 30}, {"Queues": ["q"]}, {"Topics": ["t"]}],
)
def test_what_this_cloud_does_not_run_is_refused_not_ignored(params):
    assert _refused(checks.settings, params, FUNCTION).code == "InvalidParameterValueException"


@pytest.mark.parametrize(
    ("reference", "arn"),
    [
        ("process", FUNCTION),
        ("process:$LATEST", FUNCTION + ":$LATEST"),
        ("process:live", FUNCTION + ":live"),
        ("123456789012:function:process:7", FUNCTION + ":7"),
        (FUNCTION, FUNCTION),
        ("arn:aws:lambda:eu-west-1:123456789012:function:other", None),
    ],
)
def test_function_references(reference, arn):
    parsed = checks.parse_function(reference, "us-east-1")
    if arn is None:
        assert (parsed.region, parsed.name) == ("eu-west-1", "other")
    else:
        assert parsed.arn == arn


def test_a_malformed_function_name_fails_its_pattern():
    error = _refused(checks.parse_function, "no spaces allowed", "us-east-1")
    assert error.code == "ValidationException"
    assert "at 'functionName' failed to satisfy constraint" in error.message


def test_a_function_of_another_account_does_not_exist_here():
    error = _refused(checks.parse_function, "210987654321:function:f", "us-east-1")
    assert error.message == "Function does not exist"


def test_a_duplicate_is_refused_with_the_existing_uuid():
    error = checks.conflict(STREAM, "process", "1234")
    assert (error.code, error.status) == ("ResourceConflictException", 409)
    assert error.message == (
        f'The event source arn (" {STREAM} ") and function (" process ") provided mapping '
        "already exists. Please update or delete the existing mapping with UUID 1234"
    )
