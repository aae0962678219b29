"""The questions table's stream → the staff's SNS topic: one email per new question.

Triggered by the table's stream (``NEW_IMAGE``). Each ``INSERT`` becomes one message on
``SNS_TOPIC_ARN``; ``MODIFY`` and ``REMOVE`` records are skipped (the original read
``NewImage`` from every record and crashed on a removal). X-Ray: ``patch_all()`` records the
SNS call as a subsegment.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_xray_sdk.core import patch_all

patch_all()

TOPIC = os.environ.get("SNS_TOPIC_ARN", "")
SUBJECT_LIMIT = 100  # SNS refuses longer subjects
_sns = boto3.client("sns")


def message_for(image: dict[str, Any]) -> tuple[str, str]:
    email = image["UserEmailAddress"]["S"]
    text = image["QuestionText"]["S"]
    subject = f"New Customer Question: {email}"
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 3] + "..."
    subject = subject.encode("ascii", "replace").decode()  # SNS subjects are ASCII
    return subject, f"USER EMAIL: {email}\nQUESTION TEXT: {text}"


def process_stream(event: dict[str, Any], context: Any) -> str:
    sent = 0
    for record in event["Records"]:
        if record.get("eventName") != "INSERT":
            continue
        subject, message = message_for(record["dynamodb"]["NewImage"])
        _sns.publish(TopicArn=TOPIC, Subject=subject, Message=message)
        sent += 1
    return f"Sent {sent} of {len(event['Records'])} records to the staff."
