"""How each protocol's delivery leaves the cloud: email and email-json into the outbox, http
and https as a POST with SNS's headers, lambda through the Lambda API (an asynchronous Invoke,
as SNS invokes functions). SQS is moto's own fan-out (see ``moto_hooks.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from ...core.provider import Context
from ...edge import ServiceError
from ..outbox.provider import OutboxProvider
from . import emails
from .documents import NOTIFICATION, Envelope, Signature, cert_url, unsubscribe_url
from .engine import Delivery, Retry
from .signing import Signer

HTTP_TIMEOUT = 15.0  # SNS waits 15 seconds for an HTTP endpoint
USER_AGENT = "Amazon Simple Notification Service Agent"
# Lambda errors that a later attempt may not meet again.
LAMBDA_TRANSIENT = frozenset(
    {"TooManyRequestsException", "ServiceException", "ResourceConflictException"}
)


class Transports:
    def __init__(self, ctx: Context, signer: Signer, outbox: Callable[[], OutboxProvider]):
        self.ctx, self.signer, self._outbox = ctx, signer, outbox
        self._senders: dict[str, Callable[[Delivery], None]] = {
            "email": self._email,
            "email-json": self._email_json,
            "http": self._http,
            "https": self._http,
            "lambda": self._lambda,
        }

    def send(self, job: Delivery) -> None:
        sender = self._senders.get(job.subscription.protocol)
        if sender is None:
            raise ValueError(f"no delivery for protocol {job.subscription.protocol}")
        sender(job)

    def signature(self, envelope: Envelope) -> Signature:
        url = cert_url(self.ctx.edge_url, self.signer.cert_name)
        return self.signer.sign(envelope.string_to_sign(), url)

    def document(self, job: Delivery) -> dict[str, Any]:
        return job.envelope.document(self.signature(job.envelope))

    # -- email ----------------------------------------------------------------------------
    def _email(self, job: Delivery) -> None:
        info, envelope = job.subscription, job.envelope
        if envelope.type == NOTIFICATION:
            link = unsubscribe_url(self.ctx.edge_url, info.arn, info.endpoint)
            subject, body = emails.notification_email(envelope.message, envelope.subject, link)
        else:
            subject, body = emails.confirmation_email(info.topic_arn, envelope.subscribe_url or "")
        self._mail(job, subject, body)

    def _email_json(self, job: Delivery) -> None:
        envelope = job.envelope
        if envelope.type == NOTIFICATION:
            subject = envelope.subject or emails.DEFAULT_SUBJECT
        else:
            subject = emails.CONFIRMATION_SUBJECT
        self._mail(job, subject, json.dumps(self.document(job), indent=2))

    def _mail(self, job: Delivery, subject: str, body: str) -> None:
        info = job.subscription
        sender = emails.sender(self._display_name(info.topic_arn, info.region))
        self._outbox().deliver(info.endpoint, subject, body, "sns", info.region, sender=sender)

    def _display_name(self, topic_arn: str, region: str) -> str | None:
        try:
            answer = self.ctx.moto("sns", "GetTopicAttributes", region, TopicArn=topic_arn)
        except ServiceError:  # the topic went away since: SNS's own name then
            return None
        return (answer.get("Attributes") or {}).get("DisplayName")

    # -- http and https ---------------------------------------------------------------------
    def _http(self, job: Delivery) -> None:
        info, envelope = job.subscription, job.envelope
        raw = job.raw and envelope.type == NOTIFICATION
        body = envelope.message if raw else json.dumps(self.document(job), indent=2)
        headers = {
            "x-amz-sns-message-type": envelope.type,
            "x-amz-sns-message-id": envelope.message_id,
            "x-amz-sns-topic-arn": info.topic_arn,
            "x-amz-sns-subscription-arn": info.arn,
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": USER_AGENT,
        }
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        try:
            response = requests.post(
                info.endpoint, data=body.encode(), headers=headers, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            raise Retry(f"{type(exc).__name__}: {exc}") from None
        response.close()
        if response.status_code >= 500:
            raise Retry(f"HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise ValueError(f"HTTP {response.status_code}")

    # -- lambda -----------------------------------------------------------------------------
    def _lambda(self, job: Delivery) -> None:
        info = job.subscription
        event = job.envelope.lambda_event(info.arn, self.signature(job.envelope))
        client = self.ctx.client("lambda", info.region)
        try:
            client.invoke(
                FunctionName=info.endpoint, InvocationType="Event", Payload=json.dumps(event)
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in LAMBDA_TRANSIENT:
                raise Retry(code) from None
            raise ValueError(f"{code}: {exc}") from None
        except BotoCoreError as exc:  # the edge did not answer
            raise Retry(str(exc)) from None
