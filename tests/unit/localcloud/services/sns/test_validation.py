"""Publish, PublishBatch and Subscribe checks, with SNS's error codes and messages."""

from __future__ import annotations

import json

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.sns.validation import (
    MAX_MESSAGE_BYTES,
    check_batch,
    check_filter_policy,
    check_publish,
    check_subscribe,
    check_topic_arn,
    pick_message,
    publish_size,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:questions"


def refusal(check, *args) -> tuple[str, str]:
    with pytest.raises(ServiceError) as raised:
        check(*args)
    assert raised.value.status == 400
    return raised.value.code, raised.value.message


def publish(**params) -> dict:
    return {"TopicArn": TOPIC, "Message": "hello", **params}


@pytest.mark.parametrize(
    "subject",
    [
        "x" * 101,  # SNS takes 100 characters, not one more
        "New question\nfrom a customer",
        "tab\there",
        "",
        " leading space",
        "Caf\u00e9 question",  # not ASCII
    ],
)
def test_a_subject_sns_refuses_is_an_invalid_parameter(subject):
    assert refusal(check_publish, publish(Subject=subject)) == (
        "InvalidParameter",
        "Invalid parameter: Subject",
    )


@pytest.mark.parametrize("subject", ["x" * 100, "New Customer Question: ada@example.com", "!?"])
def test_a_subject_of_up_to_100_printable_characters_is_accepted(subject):
    check_publish(publish(Subject=subject))


def test_a_message_over_256_kib_is_too_long_counting_bytes_and_attributes():
    check_publish(publish(Message="x" * MAX_MESSAGE_BYTES))
    assert refusal(check_publish, publish(Message="x" * (MAX_MESSAGE_BYTES + 1))) == (
        "InvalidParameter",
        "Invalid parameter: Message too long",
    )
    # 2-byte characters count twice
    assert refusal(check_publish, publish(Message="\u00e9" * (MAX_MESSAGE_BYTES // 2 + 1)))[1] == (
        "Invalid parameter: Message too long"
    )
    attributes = {"kind": {"DataType": "String", "StringValue": "question"}}
    assert publish_size("x", attributes) == 1 + len("kind") + len("String") + len("question")
    near = MAX_MESSAGE_BYTES - 10
    assert refusal(check_publish, publish(Message="x" * near, MessageAttributes=attributes))


def test_an_empty_message_and_a_missing_target_are_refused():
    assert refusal(check_publish, publish(Message=""))[1] == "Invalid parameter: Empty message"
    assert refusal(check_publish, {"Message": "hello"})[1] == (
        "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
    )


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "Message Structure - JSON message body failed to parse"),
        ('{"email": "hi"}', "Message Structure - No default entry in JSON message body"),
        ('{"default": 5}', "Message Structure - No default entry in JSON message body"),
        ('["default"]', "Message Structure - No default entry in JSON message body"),
    ],
)
def test_a_json_structure_needs_a_default_string(message, reason):
    params = publish(Message=message, MessageStructure="json")
    assert refusal(check_publish, params) == ("InvalidParameter", f"Invalid parameter: {reason}")


def test_each_protocol_gets_its_own_string_or_the_default():
    message = json.dumps({"default": "plain", "email": "for people", "lambda": {"not": "text"}})
    assert pick_message(message, "json", "email") == "for people"
    assert pick_message(message, "json", "lambda") == "plain"  # not a string: ignored
    assert pick_message(message, "json", "https") == "plain"
    assert pick_message(message, None, "email") == message


def test_a_batch_fails_whole_on_any_entry_sns_refuses():
    entries = [{"Id": "a", "Message": "one"}, {"Id": "b", "Message": "two", "Subject": "x" * 101}]
    assert refusal(check_batch, entries)[1] == "Invalid parameter: Subject"
    check_batch(entries[:1])


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "EmptyBatchRequest"),
        ([{"Id": str(n), "Message": "m"} for n in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}], "BatchEntryIdsNotDistinct"),
        ([{"Id": "no spaces", "Message": "m"}], "InvalidBatchEntryId"),
        (
            [{"Id": str(n), "Message": "x" * 40_000} for n in range(7)],
            "BatchRequestTooLong",
        ),
    ],
)
def test_batch_shape_errors(entries, code):
    assert refusal(check_batch, entries)[0] == code


@pytest.mark.parametrize(
    ("protocol", "endpoint", "reason"),
    [
        (
            "carrier-pigeon",
            "coop",
            "Amazon SNS does not support this protocol string: carrier-pigeon",
        ),
        ("https", "http://example.com/hook", "Endpoint must match the specified protocol"),
        ("http", "ftp://example.com", "Endpoint must match the specified protocol"),
        ("email", "not-an-address", "Email address"),
        ("email", None, "Endpoint"),
        ("lambda", "my-function", "Lambda endpoint ARN"),
        ("sqs", "queue", "SQS endpoint ARN"),
    ],
)
def test_subscribe_refuses_endpoints_that_do_not_fit_the_protocol(protocol, endpoint, reason):
    assert refusal(check_subscribe, protocol, endpoint) == (
        "InvalidParameter",
        f"Invalid parameter: {reason}",
    )


@pytest.mark.parametrize(
    ("protocol", "endpoint"),
    [
        ("email", "admin@example.com"),
        ("email-json", "bot@example.com"),
        ("https", "HTTPS://example.com/hook"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:f"),
        ("sqs", "arn:aws:sqs:us-east-1:123456789012:q"),
    ],
)
def test_subscribe_accepts_fitting_endpoints(protocol, endpoint):
    check_subscribe(protocol, endpoint)


@pytest.mark.parametrize(
    "arn",
    [
        "nope",
        "arn:aws:sns::123456789012:questions",  # no region
        "arn:aws:sns:us-east-1:123:questions",  # not an account
        "arn:aws:sqs:us-east-1:123456789012:questions",
        "arn:aws:sns:us-east-1:123456789012:has space",
    ],
)
def test_a_topic_arn_sns_cannot_read_is_an_invalid_parameter(arn):
    assert refusal(check_topic_arn, arn) == ("InvalidParameter", "Invalid parameter: TopicArn")
    assert refusal(check_publish, publish(TopicArn=arn))[1] == "Invalid parameter: TopicArn"


def test_topic_and_endpoint_arns_are_accepted():
    check_topic_arn(TOPIC)
    check_topic_arn("arn:aws:sns:eu-west-1:123456789012:orders.fifo")
    endpoint = "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/0a1b2c"
    check_publish({"TargetArn": endpoint, "Message": "m"})
    assert refusal(check_publish, {"TargetArn": "nope", "Message": "m"})[1] == (
        "Invalid parameter: TargetArn"
    )


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ("{not json", "FilterPolicy: failed to parse JSON."),
        ("[1, 2]", "FilterPolicy: Filter policy must be a JSON object"),
    ],
)
def test_a_filter_policy_must_be_a_json_object(policy, reason):
    assert refusal(check_filter_policy, policy)[1] == f"Invalid parameter: {reason}"
    attributes = {"FilterPolicy": policy}
    assert refusal(check_subscribe, "email", "a@example.com", attributes)[1] == (
        f"Invalid parameter: {reason}"
    )
    check_filter_policy('{"kind": ["question"]}')
    check_filter_policy("")
