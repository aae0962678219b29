"""What the links in SNS's messages answer: a small HTML page for a browser tab (the learner
clicking "Confirm subscription" in the outbox), SNS's XML for a program (an HTTP endpoint
that GETs its SubscribeURL, as AWS's SDKs do)."""

from __future__ import annotations

import html
import uuid

from werkzeug.wrappers import Request, Response

XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def page(title: str, lines: list[str], status: int = 200) -> Response:
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    body = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{paragraphs}\n</body></html>\n"
    )
    return Response(body, status, mimetype="text/html")


def confirmed(request: Request, subscription_arn: str, endpoint: str, topic_arn: str) -> Response:
    if wants_html(request):
        topic = topic_arn.rsplit(":", 1)[-1]
        return page(
            "Subscription confirmed!",
            [
                f"You have subscribed {endpoint} to the topic: {topic}.",
                f"Your subscription's id is: {subscription_arn}",
            ],
        )
    body = (
        f'<ConfirmSubscriptionResponse xmlns="{XMLNS}">'
        "<ConfirmSubscriptionResult>"
        f"<SubscriptionArn>{html.escape(subscription_arn)}</SubscriptionArn>"
        "</ConfirmSubscriptionResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</ConfirmSubscriptionResponse>"
    )
    return Response(body, 200, mimetype="text/xml")


def unsubscribed(subscription_arn: str, topic_arn: str) -> Response:
    return page(
        "Subscription removed!",
        [
            f"Your subscription to the topic {topic_arn} has been deactivated.",
            f"Subscription: {subscription_arn}",
            "You will no longer receive notifications from this topic.",
        ],
    )


def error(request: Request, code: str, message: str, status: int = 400) -> Response:
    if wants_html(request):
        return page("Something went wrong", [message], status)
    body = (
        f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type>'
        f"<Code>{html.escape(code)}</Code><Message>{html.escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(body, status, mimetype="text/xml")
