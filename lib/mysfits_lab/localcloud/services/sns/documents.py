"""The JSON documents SNS delivers — ``Notification`` and ``SubscriptionConfirmation``, as
HTTP endpoints, email-json addresses and SQS queues get them, and the record a Lambda function
gets — with the text SNS signs, and the links they carry. No I/O here.

Field order and names follow what SNS sends: the HTTP document says ``SigningCertURL`` and
``UnsubscribeURL``, the Lambda record ``SigningCertUrl`` and ``UnsubscribeUrl``, and a Lambda
record carries ``Subject`` null and ``MessageAttributes`` {} when there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ...constants import CONTROL_PREFIX

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
LINKS = f"{CONTROL_PREFIX}sns"


def confirm_url(edge_url: str, topic_arn: str, token: str) -> str:
    """Where a confirmation is accepted by opening it (SNS: ``?Action=ConfirmSubscription``)."""
    return f"{edge_url}{LINKS}/confirm?{urlencode({'TopicArn': topic_arn, 'Token': token})}"


def unsubscribe_url(edge_url: str, subscription_arn: str, endpoint: str | None = None) -> str:
    query = {"SubscriptionArn": subscription_arn}
    if endpoint is not None:  # email footers name the address, as SNS's do
        query["Endpoint"] = endpoint
    return f"{edge_url}{LINKS}/unsubscribe?{urlencode(query)}"


def cert_url(edge_url: str, name: str) -> str:
    return f"{edge_url}{LINKS}/{name}"


def timestamp(epoch_seconds: float) -> str:
    """ISO-8601 UTC with milliseconds, as SNS stamps its messages."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def confirmation_text(topic_arn: str) -> str:
    return (
        f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )


@dataclass(frozen=True)
class Signature:
    version: str
    value: str
    cert_url: str


@dataclass(frozen=True)
class Envelope:
    """One message SNS sends an endpoint, before it is signed."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: str
    subject: str | None = None
    token: str | None = None  # confirmations
    subscribe_url: str | None = None  # confirmations
    unsubscribe_url: str | None = None  # notifications
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def string_to_sign(self) -> str:
        """The name/value lines SNS signs, in its order (Subject only when there is one)."""
        if self.type == NOTIFICATION:
            names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        else:
            names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn"]
            names.append("Type")
        values = {
            "Message": self.message,
            "MessageId": self.message_id,
            "Subject": self.subject,
            "SubscribeURL": self.subscribe_url,
            "Timestamp": self.timestamp,
            "Token": self.token,
            "TopicArn": self.topic_arn,
            "Type": self.type,
        }
        return "".join(f"{n}\n{values[n]}\n" for n in names if values[n] is not None)

    def document(self, signature: Signature) -> dict[str, Any]:
        """The JSON document an HTTP endpoint (or an email-json address) receives."""
        doc: dict[str, Any] = {"Type": self.type, "MessageId": self.message_id}
        if self.type == NOTIFICATION:
            doc["TopicArn"] = self.topic_arn
            if self.subject is not None:
                doc["Subject"] = self.subject
            doc["Message"] = self.message
        else:
            doc |= {
                "Token": self.token,
                "TopicArn": self.topic_arn,
                "Message": self.message,
                "SubscribeURL": self.subscribe_url,
            }
        doc |= {
            "Timestamp": self.timestamp,
            "SignatureVersion": signature.version,
            "Signature": signature.value,
            "SigningCertURL": signature.cert_url,
        }
        if self.type == NOTIFICATION:
            doc["UnsubscribeURL"] = self.unsubscribe_url
            if self.attributes:
                doc["MessageAttributes"] = self.attributes
        return doc

    def lambda_event(self, subscription_arn: str, signature: Signature) -> dict[str, Any]:
        """The event a Lambda function subscribed to the topic is invoked with."""
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription_arn,
                    "Sns": {
                        "Type": self.type,
                        "MessageId": self.message_id,
                        "TopicArn": self.topic_arn,
                        "Subject": self.subject,
                        "Message": self.message,
                        "Timestamp": self.timestamp,
                        "SignatureVersion": signature.version,
                        "Signature": signature.value,
                        "SigningCertUrl": signature.cert_url,
                        "UnsubscribeUrl": self.unsubscribe_url,
                        "MessageAttributes": self.attributes,
                    },
                }
            ]
        }
