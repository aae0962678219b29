"""Destinations of asynchronous invocations (PutFunctionEventInvokeConfig's DestinationConfig):
the invocation record Lambda sends to an SQS queue, an SNS topic, a function or an event bus
once an event succeeded or was given up — through the AWS API, like any other client."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import formats
from .events import AsyncEvent, Attempt
from .models import function_arn

log = logging.getLogger("mysfits_lab.localcloud.lambda")


def record(event: AsyncEvent, attempt: Attempt, condition: str, now: float) -> dict[str, Any]:
    """The invocation record, in the shape the Lambda documentation gives."""

    def parsed(payload: bytes) -> Any:
        try:
            return json.loads(payload) if payload else None
        except ValueError:
            return payload.decode("utf-8", "replace")

    response: dict[str, Any] = {"statusCode": 200, "executedVersion": attempt.executed_version}
    if attempt.function_error:
        response["functionError"] = attempt.function_error
    return {
        "version": "1.0",
        "timestamp": formats.timestamp(now),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": function_arn(event.region, event.name, event.qualifier or "$LATEST"),
            "condition": condition,
            "approximateInvokeCount": max(1, event.attempts),
        },
        "requestPayload": parsed(event.payload),
        "responseContext": response,
        "responsePayload": parsed(attempt.payload),
    }


def deliver(
    client: Callable[[str, str], Any],
    event: AsyncEvent,
    attempt: Attempt,
    condition: str,
    now: float,
) -> None:
    """Send the record to the destination configured for ``condition``, if any."""
    config = (event.settings or {}).get("DestinationConfig") or {}
    which = "OnSuccess" if condition == "Success" else "OnFailure"
    arn = (config.get(which) or {}).get("Destination")
    if not arn:
        return
    body = json.dumps(record(event, attempt, condition, now))
    parts = arn.split(":")
    service, region = parts[2] if len(parts) > 2 else "", parts[3] if len(parts) > 3 else ""
    region = region or event.region
    try:
        if service == "sqs":
            sqs = client("sqs", region)
            url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])
            sqs.send_message(QueueUrl=url["QueueUrl"], MessageBody=body)
        elif service == "sns":
            client("sns", region).publish(TopicArn=arn, Message=body)
        elif service == "lambda":
            client("lambda", region).invoke(
                FunctionName=arn, InvocationType="Event", Payload=body.encode()
            )
        elif service == "events":
            kind = "Success" if condition == "Success" else "Failure"
            client("events", region).put_events(
                Entries=[
                    {
                        "Source": "lambda",
                        "DetailType": f"Lambda Function Invocation Result - {kind}",
                        "Detail": body,
                        "EventBusName": arn,
                        "Resources": [function_arn(event.region, event.name)],
                    }
                ]
            )
        else:
            log.warning(
                "destination %s of %s is not a queue, topic, function or bus", arn, event.name
            )
    except (ClientError, BotoCoreError, IndexError) as exc:
        log.warning("could not send the record of %s to %s: %s", event.request_id, arn, exc)
