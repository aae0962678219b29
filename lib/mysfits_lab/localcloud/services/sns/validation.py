"""What SNS refuses in Publish, PublishBatch and Subscribe before it records anything, in its
own words (``InvalidParameter`` and friends). No I/O here."""

from __future__ import annotations

import json
import re
from typing import Any

from ...edge import ServiceError

# Subjects of 100 characters are accepted; 101 are not (the API reference says "less than 100").
MAX_SUBJECT = 100
# 256 KiB for the message and its attributes together (bytes, not characters).
MAX_MESSAGE_BYTES = 262_144
MAX_BATCH_ENTRIES = 10
PROTOCOLS = frozenset(
    {"http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"}
)
# An address: something, one @, a domain with a dot; what a mail server would try at all.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Printable ASCII, first character not a space: no line breaks, no control characters.
_SUBJECT = re.compile(r"^[!-~][ -~]*$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# arn:<partition>:sns:<region>:<account>:<topic name> — and, for TargetArn, a platform
# endpoint's path after the account.
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z0-9]+)+-\d+:\d{12}:[\w.-]{1,256}$")
_TARGET_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z0-9]+)+-\d+:\d{12}:[\w./-]{1,1024}$")


def invalid(what: str) -> ServiceError:
    return ServiceError("InvalidParameter", f"Invalid parameter: {what}")


def check_topic_arn(arn: str | None, name: str = "TopicArn") -> None:
    """A topic ARN SNS can read (moto fails on ones it cannot split)."""
    if not arn or not _TOPIC_ARN.match(arn):
        raise invalid(name)


def subject_problem(subject: str | None) -> str | None:
    """Why SNS refuses ``subject`` (None: it does not, or there is none)."""
    if subject is None:
        return None
    if not subject or len(subject) > MAX_SUBJECT or not _SUBJECT.match(subject):
        return "Subject"
    return None


def attribute_bytes(attributes: dict[str, Any] | None) -> int:
    """What message attributes add to a message's size: names, data types and values."""
    total = 0
    for name, value in (attributes or {}).items():
        total += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            total += len(str(value["StringValue"]).encode())
        binary = value.get("BinaryValue")
        if isinstance(binary, bytes | bytearray):
            total += len(binary)
        elif binary is not None:
            total += len(str(binary).encode())
    return total


def publish_size(message: str, attributes: dict[str, Any] | None) -> int:
    return len(message.encode("utf-8", "surrogatepass")) + attribute_bytes(attributes)


def structure_problem(message: str, structure: str | None) -> str | None:
    """With ``MessageStructure`` json the message is an object of strings per protocol, one of
    them ``default`` (keys whose values are not strings are ignored, as SNS ignores them)."""
    if structure != "json":
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return "Message Structure - JSON message body failed to parse"
    if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
        return "Message Structure - No default entry in JSON message body"
    return None


def check_message(entry: dict[str, Any]) -> None:
    """Publish's checks of one message (or one PublishBatch entry): ServiceError when SNS
    would refuse it."""
    problem = subject_problem(entry.get("Subject"))
    if problem:
        raise invalid(problem)
    message = entry.get("Message")
    if not isinstance(message, str) or not message:
        raise invalid("Empty message")
    if publish_size(message, entry.get("MessageAttributes")) > MAX_MESSAGE_BYTES:
        raise invalid("Message too long")
    problem = structure_problem(message, entry.get("MessageStructure"))
    if problem:
        raise invalid(problem)


def check_publish(params: dict[str, Any]) -> None:
    topic, target = params.get("TopicArn"), params.get("TargetArn")
    if not (topic or target or params.get("PhoneNumber")):
        raise invalid("TopicArn or TargetArn Reason: no value for required parameter")
    if topic:
        check_topic_arn(topic)
    if target and not _TARGET_ARN.match(target):
        raise invalid("TargetArn")
    check_message(params)


def check_batch(entries: list[dict[str, Any]]) -> None:
    """PublishBatch's checks: any entry SNS refuses fails the whole batch, as on AWS."""
    if not entries:
        raise ServiceError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise ServiceError(
            "TooManyEntriesInBatchRequest",
            "The batch request contains more entries than permissible.",
        )
    ids = [str(entry.get("Id", "")) for entry in entries]
    if len(set(ids)) != len(ids):
        raise ServiceError(
            "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."
        )
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise ServiceError(
                "InvalidBatchEntryId",
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            )
    total = 0
    for entry in entries:
        check_message(entry)
        total += publish_size(entry["Message"], entry.get("MessageAttributes"))
    if total > MAX_MESSAGE_BYTES:
        raise ServiceError(
            "BatchRequestTooLong",
            "The length of all the messages put together is more than the limit.",
        )


def check_filter_policy(policy: str | None) -> None:
    """A filter policy must at least be a JSON object (moto checks the rest)."""
    if policy is None or policy == "":
        return
    try:
        parsed = json.loads(policy)
    except ValueError:
        raise invalid("FilterPolicy: failed to parse JSON.") from None
    if not isinstance(parsed, dict):
        raise invalid("FilterPolicy: Filter policy must be a JSON object")


def check_subscribe(
    protocol: str, endpoint: str | None, attributes: dict[str, str] | None = None
) -> None:
    check_filter_policy((attributes or {}).get("FilterPolicy"))
    if protocol not in PROTOCOLS:
        raise invalid(f"Amazon SNS does not support this protocol string: {protocol[:64]}")
    if not endpoint:
        raise invalid("Endpoint")
    if protocol in ("http", "https") and not endpoint.lower().startswith(f"{protocol}://"):
        raise invalid("Endpoint must match the specified protocol")
    if protocol in ("email", "email-json") and not _EMAIL.match(endpoint):
        raise invalid("Email address")
    if protocol in ("lambda", "sqs", "firehose") and not endpoint.startswith("arn:"):
        names = {"lambda": "Lambda", "sqs": "SQS", "firehose": "Firehose"}
        raise invalid(f"{names[protocol]} endpoint ARN")


def pick_message(message: str, structure: str | None, protocol: str) -> str:
    """The message a subscription of ``protocol`` gets: with structure json, its own protocol's
    string if there is one, else ``default`` (checked before publishing)."""
    if structure != "json":
        return message
    try:
        parsed = json.loads(message)
    except ValueError:
        return message
    chosen = parsed.get(protocol) if isinstance(parsed, dict) else None
    if isinstance(chosen, str):
        return chosen
    default = parsed.get("default") if isinstance(parsed, dict) else None
    return default if isinstance(default, str) else message
