"""The emails SNS sends: the subscription confirmation and the notification with its
unsubscribe footer, in SNS's words (as plain text: the outbox keeps text). No I/O here."""

from __future__ import annotations

SENDER_ADDRESS = "no-reply@sns.amazonaws.com"
# The sender's name when the topic has no DisplayName.
DEFAULT_DISPLAY_NAME = "AWS Notifications"
CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"
# The subject of a notification published without one.
DEFAULT_SUBJECT = "AWS Notification Message"
SUPPORT_URL = "https://aws.amazon.com/support"


def sender(display_name: str | None) -> str:
    """``From``: the topic's display name (or SNS's default) at SNS's no-reply address."""
    name = (display_name or "").strip() or DEFAULT_DISPLAY_NAME
    return f"{name} <{SENDER_ADDRESS}>"


def confirmation_email(topic_arn: str, confirm_link: str) -> tuple[str, str]:
    """(subject, body) of the email that asks an address to confirm its subscription."""
    body = "\n".join(
        [
            "You have chosen to subscribe to the topic: ",
            topic_arn,
            "",
            "To confirm this subscription, click or visit the link below "
            "(If this was in error no action is necessary): ",
            f"Confirm subscription: {confirm_link}",
            "",
            "Please do not reply directly to this email. If you wish to remove yourself from "
            "receiving all future SNS subscription confirmation requests please send an email "
            "to sns-opt-out",
        ]
    )
    return CONFIRMATION_SUBJECT, body


def notification_email(message: str, subject: str | None, unsubscribe_link: str) -> tuple[str, str]:
    """(subject, body) of a notification to an ``email`` subscription: the message, then the
    footer SNS appends with the link that unsubscribes the address."""
    footer = "\n".join(
        [
            "",
            "--",
            "If you wish to stop receiving notifications from this topic, please click or visit "
            "the link below to unsubscribe:",
            unsubscribe_link,
            "",
            "Please do not reply directly to this email. If you have any questions or comments "
            f"regarding this email, please contact us at {SUPPORT_URL}",
        ]
    )
    return subject or DEFAULT_SUBJECT, f"{message}\n{footer}"
