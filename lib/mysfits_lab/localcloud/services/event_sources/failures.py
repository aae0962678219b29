"""What happens to a discarded batch besides being skipped: a line in the function's log group
(``/aws/lambda/<name>``) saying so, and — when the mapping has an on-failure destination — the
record Lambda sends an SQS queue or SNS topic about it."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ...core.provider import Context
from .delivery import AGE_EXCEEDED, Outcome
from .records import failure_record
from .store import View

log = logging.getLogger("mysfits_lab.localcloud.eventsources")


def skip_message(view: View, shard_id: str, outcome: Outcome) -> str:
    records = outcome.records
    settings = view.settings
    if outcome.condition == AGE_EXCEEDED:
        limit = settings.max_age if settings.max_age >= 0 else settings.record_age_limit()
        why = f"its records were older than {limit} seconds (MaximumRecordAgeInSeconds)"
    else:
        last = outcome.last.describe() if outcome.last else "unknown error"
        why = (
            f"the function failed on {outcome.invoke_count} attempt(s), the retries allowed by "
            f"MaximumRetryAttempts ({settings.max_retries}) included; last error: {last}"
        )
    where = (
        f"sequence number {records[0].sequence}"
        if len(records) == 1
        else f"sequence numbers {records[0].sequence} to {records[-1].sequence}"
    )
    destination = (
        f" A failure record went to {settings.on_failure}."
        if settings.on_failure
        else " No on-failure destination is configured: the batch is dropped."
    )
    return (
        f"EVENT SOURCE MAPPING {view.uuid}: skipped a batch of {len(records)} record(s) from "
        f"{view.source_arn} (shard {shard_id}, {where}) because {why}. Processing continues "
        f"with the next records of the shard.{destination}"
    )


class FailureReporter:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def discarded(self, view: View, shard_id: str, outcome: Outcome) -> None:
        self._log(view, skip_message(view, shard_id, outcome))
        destination = view.settings.on_failure
        if destination:
            response = outcome.last.response_context() if outcome.last else {}
            record = failure_record(
                request_id=str(uuid.uuid4()),
                function_arn=view.settings.function_arn,
                condition=outcome.condition or "",
                invoke_count=outcome.invoke_count,
                response=response,
                now=self.ctx.clock.now(),
                shard_id=shard_id,
                records=outcome.records,
                stream_arn=view.source_arn,
            )
            self._send(destination, record)

    def _log(self, view: View, message: str) -> None:
        name = view.settings.function_name
        day = time.strftime("%Y/%m/%d", time.gmtime(self.ctx.clock.now()))
        try:
            stream = self.ctx.logs.open(
                view.region, f"/aws/lambda/{name}", f"{day}/event-source-mapping/{view.uuid}", True
            )
            stream.write(message)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not log a skipped batch for %s: %s", name, exc)
        log.warning("%s", message)

    def _send(self, destination: str, record: dict[str, Any]) -> None:
        parts = destination.split(":")
        region, account, name = parts[3], parts[4], parts[5]
        body = json.dumps(record)
        try:
            if parts[2] == "sqs":
                sqs = self.ctx.client("sqs", region)
                url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=body)
            else:
                self.ctx.client("sns", region).publish(TopicArn=destination, Message=body)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not send a failure record to %s: %s", destination, exc)
