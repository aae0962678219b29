"""What the wrapped moto SNS tells the provider, straight on moto's backend (no edge)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.sns.models import SNSBackend, Subscription, sns_backends

from mysfits_lab.localcloud.constants import ACCOUNT_ID
from mysfits_lab.localcloud.services.sns import moto_hooks


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def subscribed(self, info):
        self.calls.append(("subscribed", info))

    def unsubscribed(self, arn):
        self.calls.append(("unsubscribed", arn))

    def topic_deleted(self, topic_arn):
        self.calls.append(("topic_deleted", topic_arn))

    def published(self, info, publication):
        self.calls.append(("published", (info, publication)))

    def fanned_out(self, info, delivered):
        self.calls.append(("fanned_out", (info, delivered)))

    def of(self, kind: str) -> list[Any]:
        return [what for name, what in self.calls if name == kind]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    listener = Recorder()
    moto_hooks.install(listener)
    yield listener
    moto_hooks.uninstall(listener)


@pytest.fixture
def backend() -> SNSBackend:
    return sns_backends[ACCOUNT_ID]["us-east-1"]


def test_uninstalling_the_last_listener_gives_moto_its_methods_back():
    original = (Subscription.publish, SNSBackend.subscribe, SNSBackend.delete_topic)
    first, second = Recorder(), Recorder()
    moto_hooks.install(first)
    moto_hooks.install(second)
    assert moto_hooks.installed()
    moto_hooks.uninstall(second)
    assert moto_hooks.installed()
    moto_hooks.uninstall(first)
    assert not moto_hooks.installed()
    assert (Subscription.publish, SNSBackend.subscribe, SNSBackend.delete_topic) == original


def test_subscriptions_publications_and_deletions_are_told(recorder, backend):
    topic = backend.create_topic(f"hooks-{uuid.uuid4().hex[:8]}")
    email = backend.subscribe(topic.arn, "admin@example.com", "email")
    picky = backend.subscribe(topic.arn, "https://example.com/hook", "https")
    backend.set_subscription_attributes(
        picky.arn, "FilterPolicy", json.dumps({"kind": ["question"]})
    )
    (info, _) = recorder.of("subscribed")
    assert (info.arn, info.protocol, info.endpoint, info.region) == (
        email.arn,
        "email",
        "admin@example.com",
        "us-east-1",
    )

    message_id = topic.publish(
        "hello",
        subject="Hi",
        message_attributes={"kind": {"Type": "String", "Value": "complaint"}},
    )
    ((told, publication),) = recorder.of("published")  # the https one is filtered out
    assert told.arn == email.arn
    assert (publication.message_id, publication.message, publication.subject) == (
        message_id,
        "hello",
        "Hi",
    )
    assert publication.attributes == {"kind": {"Type": "String", "Value": "complaint"}}

    backend.unsubscribe(email.arn)
    backend.delete_topic(topic.arn)
    assert recorder.of("unsubscribed") == [email.arn]
    assert recorder.of("topic_deleted") == [topic.arn]


def test_sqs_stays_moto_fan_out_and_a_missing_queue_does_not_fail_publish(recorder, backend):
    topic = backend.create_topic(f"hooks-{uuid.uuid4().hex[:8]}")
    backend.subscribe(topic.arn, f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:no-such-queue", "sqs")
    topic.publish("to nowhere")
    ((info, delivered),) = recorder.of("fanned_out")
    assert info.protocol == "sqs" and delivered is False
    assert recorder.of("published") == []
    backend.delete_topic(topic.arn)
