"""The documents SNS delivers, the text it signs, the Lambda event and the emails."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mysfits_lab.localcloud.services.sns import emails
from mysfits_lab.localcloud.services.sns.documents import (
    NOTIFICATION,
    SUBSCRIPTION_CONFIRMATION,
    Envelope,
    Signature,
    confirm_url,
    confirmation_text,
    timestamp,
    unsubscribe_url,
)
from mysfits_lab.localcloud.services.sns.signing import Signer

EDGE = "http://127.0.0.1:4566"
TOPIC = "arn:aws:sns:us-east-1:123456789012:MythicalMysfitsQuestionsTopic"
SUB = f"{TOPIC}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
SIG = Signature("1", "c2lnbmVk", f"{EDGE}/_localcloud/sns/SimpleNotificationService-x.pem")


def notification(**fields) -> Envelope:
    base = {
        "type": NOTIFICATION,
        "message_id": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "topic_arn": TOPIC,
        "message": "USER EMAIL: ada@example.com. QUESTION TEXT: hi",
        "timestamp": "2026-01-31T12:00:00.000Z",
        "subject": "New Customer Question: ada@example.com",
        "unsubscribe_url": unsubscribe_url(EDGE, SUB),
    }
    return Envelope(**(base | fields))


def confirmation() -> Envelope:
    return Envelope(
        type=SUBSCRIPTION_CONFIRMATION,
        message_id="m-1",
        topic_arn=TOPIC,
        message=confirmation_text(TOPIC),
        timestamp="2026-01-31T12:00:00.000Z",
        token="ab" * 144,
        subscribe_url=confirm_url(EDGE, TOPIC, "ab" * 144),
    )


def test_a_notification_document_has_snss_fields_in_snss_order():
    attributes = {"kind": {"Type": "String", "Value": "question"}}
    doc = notification(attributes=attributes).document(SIG)
    assert list(doc) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert doc["Type"] == "Notification" and doc["MessageAttributes"] == attributes
    assert doc["SignatureVersion"] == "1" and doc["SigningCertURL"] == SIG.cert_url


def test_subject_and_attributes_are_left_out_when_there_are_none():
    doc = notification(subject=None).document(SIG)
    assert "Subject" not in doc and "MessageAttributes" not in doc


def test_a_confirmation_document_carries_the_token_and_the_subscribe_url():
    doc = confirmation().document(SIG)
    assert list(doc) == [
        "Type",
        "MessageId",
        "Token",
        "TopicArn",
        "Message",
        "SubscribeURL",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ]
    assert doc["Message"] == (
        f"You have chosen to subscribe to the topic {TOPIC}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )
    url = urlsplit(doc["SubscribeURL"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{EDGE}/_localcloud/sns/confirm"
    assert parse_qs(url.query) == {"TopicArn": [TOPIC], "Token": ["ab" * 144]}


def test_the_text_signed_is_snss_name_value_lines():
    assert notification().string_to_sign() == (
        "Message\nUSER EMAIL: ada@example.com. QUESTION TEXT: hi\n"
        "MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n"
        "Subject\nNew Customer Question: ada@example.com\n"
        "Timestamp\n2026-01-31T12:00:00.000Z\n"
        f"TopicArn\n{TOPIC}\n"
        "Type\nNotification\n"
    )
    assert "Subject" not in notification(subject=None).string_to_sign()
    envelope = confirmation()
    assert envelope.string_to_sign() == (
        f"Message\n{envelope.message}\n"
        "MessageId\nm-1\n"
        f"SubscribeURL\n{envelope.subscribe_url}\n"
        "Timestamp\n2026-01-31T12:00:00.000Z\n"
        f"Token\n{'ab' * 144}\n"
        f"TopicArn\n{TOPIC}\n"
        "Type\nSubscriptionConfirmation\n"
    )


def test_signatures_verify_against_the_served_certificate():
    signer = Signer()
    envelope = notification()
    for version, algorithm in (("1", hashes.SHA1()), ("2", hashes.SHA256())):
        signature = signer.sign(envelope.string_to_sign(), SIG.cert_url, version)
        certificate = x509.load_pem_x509_certificate(signer.pem())
        certificate.public_key().verify(
            base64.b64decode(signature.value),
            envelope.string_to_sign().encode(),
            padding.PKCS1v15(),
            algorithm,
        )
    assert signer.cert_name.startswith("SimpleNotificationService-")
    assert signer.cert_name.endswith(".pem")


def test_the_lambda_event_is_snss_record_shape():
    event = notification(subject=None).lambda_event(SUB, SIG)
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == SUB
    sns = record["Sns"]
    assert sns["Type"] == "Notification" and sns["TopicArn"] == TOPIC
    assert sns["Subject"] is None and sns["MessageAttributes"] == {}
    assert set(sns) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    }
    json.dumps(event)  # what Invoke's Payload carries


def test_timestamps_are_utc_with_milliseconds():
    assert timestamp(1_769_860_800.5) == "2026-01-31T12:00:00.500Z"


def test_the_confirmation_email_in_snss_words():
    link = confirm_url(EDGE, TOPIC, "ab" * 144)
    subject, body = emails.confirmation_email(TOPIC, link)
    assert subject == "AWS Notification - Subscription Confirmation"
    assert body.startswith(f"You have chosen to subscribe to the topic: \n{TOPIC}\n")
    assert (
        "To confirm this subscription, click or visit the link below "
        "(If this was in error no action is necessary): " in body
    )
    assert link in body
    assert "If you wish to remove yourself from receiving all future SNS subscription" in body


def test_a_notification_email_ends_with_the_unsubscribe_footer():
    link = unsubscribe_url(EDGE, SUB, "admin@example.com")
    subject, body = emails.notification_email("Hello from SNS!", "Greetings", link)
    assert subject == "Greetings"
    message, footer = body.split("\n\n--\n")
    assert message == "Hello from SNS!"
    assert footer.splitlines() == [
        "If you wish to stop receiving notifications from this topic, please click or visit "
        "the link below to unsubscribe:",
        link,
        "",
        "Please do not reply directly to this email. If you have any questions or comments "
        "regarding this email, please contact us at https://aws.amazon.com/support",
    ]
    assert parse_qs(urlsplit(link).query) == {
        "SubscriptionArn": [SUB],
        "Endpoint": ["admin@example.com"],
    }


def test_without_a_subject_the_email_has_snss_default_one():
    assert emails.notification_email("m", None, "link")[0] == "AWS Notification Message"


def test_the_sender_is_the_topics_display_name_at_snss_address():
    assert emails.sender(None) == "AWS Notifications <no-reply@sns.amazonaws.com>"
    assert emails.sender("Mysfits") == "Mysfits <no-reply@sns.amazonaws.com>"
