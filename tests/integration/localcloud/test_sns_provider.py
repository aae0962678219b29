"""SNS on an in-process local cloud, through boto3 as the workshop uses it: an email
subscription that waits for its confirmation (opened from the outbox like a link), delivery to
the outbox, to a tiny HTTP endpoint and to a Lambda function, SNS's checks and errors, and
moto's SQS fan-out left as it is.

The cloud's clock runs SNS's 20-second retry delay 100 times faster.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.registry import PROVIDERS, provider_class
from tests.helpers import edge_client, wait_for

NOTEBOOK = "http://127.0.0.1:8888"
# What Chromium sends when a link on the notebook's page is opened in a new tab.
LINK_FROM_A_PAGE = {
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-User": "?1",
    "Referer": f"{NOTEBOOK}/",
    "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
}
LAMBDA_SKIP: list[str] = []


def _providers() -> list[str]:
    """sns, and lambda when the registry has a Lambda provider that loads."""
    if "lambda" not in PROVIDERS:
        LAMBDA_SKIP.append("registry.py has no lambda provider")
        return ["sns"]
    try:
        provider_class("lambda")
    except Exception as exc:  # being written: the SNS tests still run
        LAMBDA_SKIP.append(f"the lambda provider does not load: {exc!r}")
        return ["sns"]
    return ["sns", "lambda"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("sns"), providers=_providers(), clock=Clock(scale=0.01)
    )
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    yield cloud
    cloud.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def edge_url(cloud: LocalCloud) -> str:
    return cloud.edge_url


@pytest.fixture(scope="module")
def sns(edge_url: str) -> Any:
    return edge_client(edge_url, "sns")


@pytest.fixture
def topic(sns: Any) -> str:
    return sns.create_topic(Name=f"questions-{uuid.uuid4().hex[:8]}")["TopicArn"]


def address() -> str:
    return f"admin-{uuid.uuid4().hex[:8]}@example.com"


def inbox(edge_url: str, to: str) -> list[dict]:
    response = requests.get(f"{edge_url}/_localcloud/outbox", params={"to": to}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def mail(edge_url: str, to: str, count: int = 1) -> list[dict]:
    """The first ``count`` emails to ``to``, once they have arrived."""
    return wait_for(
        lambda: (found := inbox(edge_url, to)) and len(found) >= count and found[:count],
        f"{count} email(s) to {to}",
        timeout=10,
    )


def link_in(body: str, path: str) -> str:
    found = re.search(rf"http://\S+/_localcloud/sns/{path}\?\S+", body)
    assert found, body
    return found.group()


def error_of(call: Any, **params: Any) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)
    error = raised.value.response["Error"]
    return {"Code": error["Code"], "Message": error["Message"]}


def listed(sns: Any, topic_arn: str) -> dict[str, str]:
    """Endpoint → SubscriptionArn as ListSubscriptionsByTopic shows them."""
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return {s["Endpoint"]: s["SubscriptionArn"] for s in subscriptions}


def overview(edge_url: str) -> dict:
    response = requests.get(f"{edge_url}/_localcloud/sns", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["topics"]


def confirmed_email(edge_url: str, sns: Any, topic_arn: str, protocol: str = "email") -> str:
    """A confirmed subscription of a new address (confirmed with the emailed token)."""
    to = address()
    sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=to)
    (confirmation,) = mail(edge_url, to)
    token = parse_qs(urlsplit(link_in(confirmation["body"], "confirm")).query)["Token"][0]
    sns.confirm_subscription(TopicArn=topic_arn, Token=token)
    return to


def verify_signature(document: dict, names: list[str]) -> None:
    """Check a document's signature the way SNS's SDK helpers do, with the served certificate."""
    pem = requests.get(document["SigningCertURL"], timeout=5)
    assert pem.status_code == 200
    certificate = x509.load_pem_x509_certificate(pem.content)
    text = "".join(f"{n}\n{document[n]}\n" for n in names if n in document)
    certificate.public_key().verify(
        base64.b64decode(document["Signature"]), text.encode(), padding.PKCS1v15(), hashes.SHA1()
    )


# -- email ------------------------------------------------------------------------------------
def test_an_email_subscription_waits_for_its_confirmation_link(sns, topic, edge_url):
    to = address()
    answer = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=to)
    assert answer["SubscriptionArn"] == "pending confirmation"
    assert listed(sns, topic) == {to: "PendingConfirmation"}

    (confirmation,) = mail(edge_url, to)
    assert confirmation["subject"] == "AWS Notification - Subscription Confirmation"
    assert confirmation["from"] == "AWS Notifications <no-reply@sns.amazonaws.com>"
    assert confirmation["source"] == "sns"
    assert f"You have chosen to subscribe to the topic: \n{topic}\n" in confirmation["body"]

    sns.publish(TopicArn=topic, Message="before anyone confirmed")
    time.sleep(0.3)
    assert len(inbox(edge_url, to)) == 1  # nothing for a pending subscription
    assert overview(edge_url)[topic]["delivered"] == 0

    opened = requests.get(link_in(confirmation["body"], "confirm"), timeout=5)  # no Origin
    assert opened.status_code == 200 and "xml" in opened.headers["Content-Type"]
    subscription_arn = listed(sns, topic)[to]
    assert subscription_arn.startswith(f"{topic}:") and subscription_arn in opened.text
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["ConfirmationWasAuthenticated"] == "false"

    published = sns.publish(
        TopicArn=topic,
        Subject="New Customer Question: ada@example.com",
        Message="USER EMAIL: ada@example.com. QUESTION TEXT: Is Blue happy?",
    )
    _, notification = mail(edge_url, to, 2)
    assert notification["subject"] == "New Customer Question: ada@example.com"
    message, footer = notification["body"].split("\n\n--\n")
    assert message == "USER EMAIL: ada@example.com. QUESTION TEXT: Is Blue happy?"
    assert footer.startswith("If you wish to stop receiving notifications from this topic")
    stats = overview(edge_url)[topic]
    assert (stats["published"], stats["delivered"], stats["failed"]) == (2, 1, 0)
    assert stats["subscriptions"] == [
        {"protocol": "email", "endpoint": to, "status": "Confirmed", "arn": subscription_arn}
    ]
    assert published["MessageId"]


def test_the_confirmation_link_opens_in_a_browser_tab(sns, topic, edge_url):
    to = address()
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=to)
    link = link_in(mail(edge_url, to)[0]["body"], "confirm")
    for refused in (
        {"Origin": NOTEBOOK},  # a page's fetch()
        {**LINK_FROM_A_PAGE, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},  # <img>
        {**LINK_FROM_A_PAGE, "Sec-Fetch-Dest": "iframe"},
    ):
        answer = requests.get(link, headers=refused, timeout=5)
        assert answer.status_code == 403, refused
    assert listed(sns, topic) == {to: "PendingConfirmation"}
    # the other control routes stay closed to tabs a page opens
    status = requests.get(f"{edge_url}/_localcloud/sns", headers=LINK_FROM_A_PAGE, timeout=5)
    assert status.status_code == 403

    opened = requests.get(link, headers=LINK_FROM_A_PAGE, timeout=5)
    assert opened.status_code == 200 and opened.headers["Content-Type"].startswith("text/html")
    assert "Subscription confirmed!" in opened.text
    assert "Access-Control-Allow-Origin" not in opened.headers
    assert listed(sns, topic)[to].startswith(f"{topic}:")


def test_return_subscription_arn_shows_the_pending_subscription(sns, topic, edge_url):
    to = address()
    arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=to, ReturnSubscriptionArn=True)[
        "SubscriptionArn"
    ]
    assert arn.startswith(f"{topic}:")
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"
    assert attributes["Protocol"] == "email" and attributes["Endpoint"] == to
    counts = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (counts["SubscriptionsPending"], counts["SubscriptionsConfirmed"]) == ("1", "0")
    # subscribing again while pending sends the confirmation again, with the same token
    again = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=to)
    assert again["SubscriptionArn"] == "pending confirmation"
    first, second = mail(edge_url, to, 2)
    assert link_in(first["body"], "confirm") == link_in(second["body"], "confirm")


def test_confirm_subscription_takes_the_token_and_refuses_a_wrong_one(sns, topic, edge_url):
    to = address()
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=to)
    (confirmation,) = mail(edge_url, to)
    document = json.loads(confirmation["body"])
    assert document["Type"] == "SubscriptionConfirmation" and document["TopicArn"] == topic
    assert re.fullmatch(r"[0-9a-f]{288}", document["Token"])
    verify_signature(
        document,
        ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
    )

    wrong = "0" * 288 if document["Token"] != "0" * 288 else "1" * 288
    assert error_of(sns.confirm_subscription, TopicArn=topic, Token=wrong) == {
        "Code": "InvalidParameter",
        "Message": "Invalid parameter: Token",
    }
    wrong_link = document["SubscribeURL"].replace(document["Token"], wrong)
    page = requests.get(wrong_link, timeout=5)
    assert page.status_code == 400 and "<Code>InvalidParameter</Code>" in page.text
    missing = f"{topic}-gone"
    assert (
        error_of(sns.confirm_subscription, TopicArn=missing, Token=document["Token"])["Code"]
        == "NotFound"
    )
    assert listed(sns, topic) == {to: "PendingConfirmation"}

    arn = sns.confirm_subscription(TopicArn=topic, Token=document["Token"])["SubscriptionArn"]
    assert listed(sns, topic) == {to: arn}
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["ConfirmationWasAuthenticated"] == "true"
    again = sns.confirm_subscription(TopicArn=topic, Token=document["Token"])
    assert again["SubscriptionArn"] == arn

    sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="Greetings",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "question"}},
    )
    _, notification = mail(edge_url, to, 2)
    assert notification["subject"] == "Greetings"
    body = json.loads(notification["body"])
    assert (body["Type"], body["Message"], body["Subject"]) == (
        "Notification",
        "hello",
        "Greetings",
    )
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "question"}}
    assert parse_qs(urlsplit(body["UnsubscribeURL"]).query)["SubscriptionArn"] == [arn]
    verify_signature(body, ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"])


def test_the_unsubscribe_link_in_an_email_stops_delivery(sns, topic, edge_url):
    to = confirmed_email(edge_url, sns, topic)
    sns.publish(TopicArn=topic, Message="first")
    _, first = mail(edge_url, to, 2)
    assert first["subject"] == "AWS Notification Message"
    link = link_in(first["body"], "unsubscribe")
    assert parse_qs(urlsplit(link).query)["Endpoint"] == [to]

    page = requests.get(link, headers=LINK_FROM_A_PAGE, timeout=5)
    assert page.status_code == 200 and "Subscription removed!" in page.text
    assert listed(sns, topic) == {}
    sns.publish(TopicArn=topic, Message="second")
    time.sleep(0.3)
    assert len(inbox(edge_url, to)) == 2
    assert requests.get(link, timeout=5).status_code == 404  # already gone


def test_a_filter_policy_picks_the_messages_delivered(sns, topic, edge_url):
    to = address()
    sns.subscribe(
        TopicArn=topic,
        Protocol="email",
        Endpoint=to,
        Attributes={"FilterPolicy": json.dumps({"kind": ["question"]})},
    )
    link = link_in(mail(edge_url, to)[0]["body"], "confirm")
    assert requests.get(link, timeout=5).status_code == 200
    for kind in ("complaint", "question"):
        sns.publish(
            TopicArn=topic,
            Message=f"a {kind}",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
    _, delivered = mail(edge_url, to, 2)
    assert delivered["body"].startswith("a question\n")
    time.sleep(0.2)
    assert len(inbox(edge_url, to)) == 2


def test_a_json_structure_sends_each_protocol_its_message(sns, topic, edge_url):
    to = confirmed_email(edge_url, sns, topic)
    structure = json.dumps({"default": "for everyone", "email": "for people who read email"})
    sns.publish(TopicArn=topic, Message=structure, MessageStructure="json")
    _, notification = mail(edge_url, to, 2)
    assert notification["body"].startswith("for people who read email\n")


def test_a_stack_subscription_gets_its_confirmation_email(edge_url, sns):
    """The workshop's questions stack subscribes the administrator in its template."""
    to = address()
    template = {
        "Resources": {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": f"stack-questions-{uuid.uuid4().hex[:6]}",
                    "Subscription": [{"Endpoint": to, "Protocol": "email"}],
                },
            }
        }
    }
    cloudformation = edge_client(edge_url, "cloudformation")
    cloudformation.create_stack(
        StackName=f"q-{uuid.uuid4().hex[:6]}", TemplateBody=json.dumps(template)
    )
    (confirmation,) = mail(edge_url, to)
    assert confirmation["subject"] == "AWS Notification - Subscription Confirmation"


# -- SNS's checks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "subject",
    ["x" * 101, "New Customer Question:\nada@example.com", ""],
    ids=["101", "newline", "empty"],
)
def test_a_subject_sns_refuses(sns, topic, subject):
    assert error_of(sns.publish, TopicArn=topic, Message="m", Subject=subject) == {
        "Code": "InvalidParameter",
        "Message": "Invalid parameter: Subject",
    }


def test_a_subject_of_100_characters_is_accepted(sns, topic):
    assert sns.publish(TopicArn=topic, Message="m", Subject="x" * 100)["MessageId"]


def test_a_message_over_256_kib_is_refused(sns, topic):
    error = error_of(sns.publish, TopicArn=topic, Message="x" * (256 * 1024 + 1))
    assert error["Code"] == "InvalidParameter"
    assert error["Message"] == "Invalid parameter: Message too long"
    assert sns.publish(TopicArn=topic, Message="x" * (256 * 1024))["MessageId"]


def test_a_json_structure_without_default_is_refused(sns, topic):
    error = error_of(sns.publish, TopicArn=topic, Message='{"email": "x"}', MessageStructure="json")
    assert (
        error["Message"]
        == "Invalid parameter: Message Structure - No default entry in JSON message body"
    )


def test_publish_batch_checks_and_delivers(sns, topic, edge_url):
    to = confirmed_email(edge_url, sns, topic)
    answer = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "first", "Subject": "One"},
            {"Id": "two", "Message": "second"},
        ],
    )
    assert sorted(e["Id"] for e in answer["Successful"]) == ["one", "two"]
    delivered = mail(edge_url, to, 3)[1:]
    assert sorted(m["subject"] for m in delivered) == ["AWS Notification Message", "One"]
    error = error_of(
        sns.publish_batch,
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": "bad", "Message": "m", "Subject": "x" * 101}],
    )
    assert error["Code"] == "InvalidParameter"
    assert error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[])["Code"] == (
        "EmptyBatchRequest"
    )


def test_malformed_requests_are_sns_errors_never_500s(sns, topic, edge_url):
    assert error_of(sns.publish, Message="nowhere")["Code"] == "InvalidParameter"
    assert error_of(sns.publish, TopicArn=f"{topic}-gone", Message="m")["Code"] == "NotFound"
    for call, params in (
        (sns.get_topic_attributes, {}),
        (sns.list_subscriptions_by_topic, {}),
        (sns.publish, {"Message": "m"}),
        (sns.subscribe, {"Protocol": "email", "Endpoint": "a@example.com"}),
    ):
        assert error_of(call, TopicArn="not-an-arn", **params) == {
            "Code": "InvalidParameter",
            "Message": "Invalid parameter: TopicArn",
        }
    policy = {"FilterPolicy": "{not json"}
    error = error_of(
        sns.subscribe, TopicArn=topic, Protocol="email", Endpoint=address(), Attributes=policy
    )
    assert error["Message"] == "Invalid parameter: FilterPolicy: failed to parse JSON."
    for protocol, endpoint in (("pigeon", "coop"), ("https", "http://x"), ("email", "nobody")):
        error = error_of(sns.subscribe, TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
        assert error["Code"] == "InvalidParameter", (protocol, error)
    for form in (  # raw forms, signed as the CLI signs them
        {"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic, "Message": ""},
        {"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic},
        {"Action": "ConfirmSubscription", "Version": "2010-03-31", "TopicArn": topic},
        {"Action": "PublishBatch", "Version": "2010-03-31", "TopicArn": topic},
    ):
        response = requests.post(
            f"{edge_url}/",
            data=form,
            headers={
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/sns/"
                "aws4_request, SignedHeaders=host, Signature=00"
            },
            timeout=5,
        )
        assert 400 <= response.status_code < 500, (form, response.text)
        assert "<ErrorResponse" in response.text and "<Code>" in response.text, response.text
    for path in (
        "confirm",
        "confirm?TopicArn=x&Token=y",
        "confirm?TopicArn=arn:aws:sns::1:x&Token=y",
        "unsubscribe?SubscriptionArn=nope",
        "SimpleNotificationService-forged.pem",
    ):
        page = requests.get(f"{edge_url}/_localcloud/sns/{path}", timeout=5)
        assert 400 <= page.status_code < 500, (path, page.text)


# -- http -------------------------------------------------------------------------------------
class Endpoint:
    """A tiny HTTP server that keeps what SNS POSTs; the first ``failures`` POSTs of a
    Notification get a 500."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], dict[str, Any]]] = queue.Queue()
        self.failures = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                endpoint.received.put((headers, json.loads(body)))
                failing = headers["x-amz-sns-message-type"] == "Notification" and endpoint.failures
                if failing:
                    endpoint.failures -= 1
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/sns-hook"

    def next(self) -> tuple[dict[str, str], dict[str, Any]]:
        return self.received.get(timeout=10)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


def test_an_http_endpoint_confirms_then_gets_notifications(sns, topic, endpoint, edge_url):
    answer = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    assert answer["SubscriptionArn"] == "pending confirmation"
    headers, confirmation = endpoint.next()
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert confirmation["Message"].startswith(f"You have chosen to subscribe to the topic {topic}.")

    visited = requests.get(confirmation["SubscribeURL"], timeout=5)
    assert visited.status_code == 200
    arn = re.search(r"<SubscriptionArn>(.+)</SubscriptionArn>", visited.text).group(1)
    assert listed(sns, topic) == {endpoint.url: arn}
    assert headers["x-amz-sns-subscription-arn"] == arn

    endpoint.failures = 1  # the first attempt fails: SNS tries again
    published = sns.publish(
        TopicArn=topic,
        Message="USER EMAIL: ada@example.com",
        Subject="New Customer Question: ada@example.com",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}},
    )
    first_headers, first = endpoint.next()
    headers, notification = endpoint.next()
    assert first == notification  # the same message, retried
    expected = {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": published["MessageId"],
        "x-amz-sns-topic-arn": topic,
        "x-amz-sns-subscription-arn": arn,
        "content-type": "text/plain; charset=UTF-8",
    }
    assert {name: headers.get(name) for name in expected} == expected
    assert first_headers["x-amz-sns-message-id"] == published["MessageId"]
    assert notification["MessageId"] == published["MessageId"]
    assert notification["Message"] == "USER EMAIL: ada@example.com"
    assert notification["Subject"] == "New Customer Question: ada@example.com"
    assert notification["MessageAttributes"] == {"n": {"Type": "Number", "Value": "7"}}
    verify_signature(
        notification, ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    )
    stats = wait_for(
        lambda: (found := overview(edge_url)[topic])["delivered"] == 1 and found,
        "the delivery to be counted",
    )
    assert stats["failed"] == 0

    sns.unsubscribe(SubscriptionArn=arn)
    assert listed(sns, topic) == {}
    sns.publish(TopicArn=topic, Message="after unsubscribing")
    with pytest.raises(queue.Empty):
        endpoint.received.get(timeout=0.3)


def test_an_endpoint_that_keeps_failing_is_given_up(sns, topic, endpoint, edge_url):
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    _, confirmation = endpoint.next()
    sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    endpoint.failures = 10
    sns.publish(TopicArn=topic, Message="never lands")
    attempts = [endpoint.next()[1]["MessageId"] for _ in range(4)]  # once, then 3 retries
    assert len(set(attempts)) == 1
    wait_for(lambda: overview(edge_url)[topic]["failed"] == 1, "the delivery to be given up")
    with pytest.raises(queue.Empty):
        endpoint.received.get(timeout=0.3)


# -- sqs and lambda ---------------------------------------------------------------------------
def test_sqs_is_confirmed_at_once_and_gets_each_message_once(sns, topic, edge_url):
    sqs = edge_client(edge_url, "sqs")
    queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert arn.startswith(f"{topic}:") and listed(sns, topic) == {queue_arn: arn}
    sns.publish(TopicArn=topic, Message="to the queue", Subject="Queued")
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    (message,) = received["Messages"]
    body = json.loads(message["Body"])
    assert (body["Type"], body["Message"], body["Subject"]) == (
        "Notification",
        "to the queue",
        "Queued",
    )
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    time.sleep(0.3)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    assert overview(edge_url)[topic]["delivered"] == 1


def test_deleting_a_topic_removes_its_subscriptions(sns, edge_url):
    arn = sns.create_topic(Name=f"doomed-{uuid.uuid4().hex[:6]}")["TopicArn"]
    to = address()
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=to)
    mail(edge_url, to)
    sns.delete_topic(TopicArn=arn)
    remaining = sns.list_subscriptions()["Subscriptions"]
    assert all(s["TopicArn"] != arn for s in remaining)
    assert arn not in overview(edge_url)
    assert error_of(sns.list_subscriptions_by_topic, TopicArn=arn)["Code"] == "NotFound"


FUNCTION = """
import json
import os

import boto3


def handler(event, context):
    boto3.client("s3").put_object(
        Bucket=os.environ["BUCKET"], Key="event.json", Body=json.dumps(event).encode()
    )
"""


def test_a_lambda_subscription_invokes_the_function_with_the_sns_event(sns, topic, edge_url):
    if LAMBDA_SKIP:
        pytest.skip(f"no Lambda provider to run the function: {LAMBDA_SKIP[0]}")
    s3, iam, lam = (edge_client(edge_url, s) for s in ("s3", "iam", "lambda"))
    bucket = f"sns-events-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    role = iam.create_role(
        RoleName=f"sns-lambda-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", FUNCTION)
    name = f"process-questions-{uuid.uuid4().hex[:6]}"
    function_arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"BUCKET": bucket}},
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    arn = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    assert arn.startswith(f"{topic}:")  # confirmed at once

    published = sns.publish(
        TopicArn=topic,
        Message="USER EMAIL: ada@example.com",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "question"}},
    )

    def stored() -> dict | None:
        try:
            return json.loads(s3.get_object(Bucket=bucket, Key="event.json")["Body"].read())
        except ClientError:
            return None

    event = wait_for(stored, "the function to store its event", timeout=20)
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == arn
    message = record["Sns"]
    assert message["Type"] == "Notification"
    assert message["MessageId"] == published["MessageId"]
    assert message["TopicArn"] == topic
    assert message["Subject"] is None
    assert message["Message"] == "USER EMAIL: ada@example.com"
    assert message["MessageAttributes"] == {"kind": {"Type": "String", "Value": "question"}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["Timestamp"])
    assert {"SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl"} <= set(message)
