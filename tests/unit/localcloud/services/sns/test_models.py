"""Subscriptions' confirmation state and tokens, and each topic's counters."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.sns.models import (
    PENDING,
    PENDING_LIFETIME,
    InvalidToken,
    StatsBoard,
    SubscriptionBook,
    SubscriptionInfo,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:questions"
OTHER = "arn:aws:sns:us-east-1:123456789012:other"
T0 = 1_800_000_000.0


def info(protocol: str = "email", n: int = 1, topic: str = TOPIC) -> SubscriptionInfo:
    return SubscriptionInfo(f"{topic}:sub-{n}", topic, protocol, f"user{n}@example.com")


@pytest.mark.parametrize("protocol", ["email", "email-json", "http", "https"])
def test_endpoints_that_must_confirm_start_pending_with_a_288_digit_token(protocol):
    book = SubscriptionBook()
    record, new = book.record(info(protocol), T0)
    assert new and not record.confirmed and record.status == PENDING
    assert record.listed_arn == "PendingConfirmation"
    assert len(record.token) == 288 and int(record.token, 16) >= 0


@pytest.mark.parametrize("protocol", ["sqs", "lambda", "application", "firehose", "sms"])
def test_aws_endpoints_are_confirmed_at_once(protocol):
    record, _ = SubscriptionBook().record(info(protocol), T0)
    assert record.confirmed and record.listed_arn == record.arn and record.authenticated


def test_recording_again_keeps_the_record_and_its_token():
    book = SubscriptionBook()
    first, _ = book.record(info(), T0)
    again, new = book.record(info(), T0 + 5)
    assert again is first and not new
    assert book.record(info(n=2), T0)[0].token != first.token


def test_the_token_confirms_its_own_subscription_only():
    book = SubscriptionBook()
    mine, _ = book.record(info(n=1), T0)
    theirs, _ = book.record(info(n=2), T0)
    confirmed = book.confirm(TOPIC, mine.token, T0 + 60)
    assert confirmed is mine and mine.confirmed and not theirs.confirmed
    assert mine.listed_arn == mine.arn
    assert not mine.authenticated  # opened from the link, not a signed call


@pytest.mark.parametrize(
    "why",
    ["wrong token", "other topic", "expired", "forgotten"],
)
def test_a_token_that_confirms_nothing_is_refused(why):
    book = SubscriptionBook()
    record, _ = book.record(info(), T0)
    topic, token, now = TOPIC, record.token, T0 + 60
    if why == "wrong token":
        token = "0" * 288
    elif why == "other topic":
        topic = OTHER
    elif why == "expired":
        now = T0 + PENDING_LIFETIME + 1
    else:
        book.forget(record.arn)
    with pytest.raises(InvalidToken):
        book.confirm(topic, token, now)
    assert not record.confirmed


def test_confirming_twice_answers_the_same_even_later():
    book = SubscriptionBook()
    record, _ = book.record(info(), T0)
    book.confirm(TOPIC, record.token, T0, authenticated=True, authenticate_on_unsubscribe=True)
    again = book.confirm(TOPIC, record.token, T0 + PENDING_LIFETIME * 2)
    assert again is record and record.authenticated and record.authenticate_on_unsubscribe


def test_pending_subscriptions_expire_after_48_hours():
    book = SubscriptionBook()
    pending, _ = book.record(info(n=1), T0)
    confirmed, _ = book.record(info(n=2), T0)
    book.confirm(TOPIC, confirmed.token, T0)
    book.record(info("sqs", n=3), T0)
    assert book.expired(T0 + PENDING_LIFETIME) == []
    assert book.expired(T0 + PENDING_LIFETIME + 1) == [pending]


def test_a_deleted_topic_takes_its_subscriptions_along():
    book = SubscriptionBook()
    book.record(info(n=1), T0)
    book.record(info(n=2, topic=OTHER), T0)
    book.forget_topic(TOPIC)
    assert [r.info.topic_arn for r in book.of_topic(OTHER)] == [OTHER]
    assert book.of_topic(TOPIC) == [] and len(book) == 1
    assert book.regions() == {"us-east-1"}


def test_the_control_route_view_of_a_subscription():
    record, _ = SubscriptionBook().record(info(), T0)
    assert record.to_api() == {
        "protocol": "email",
        "endpoint": "user1@example.com",
        "status": "PendingConfirmation",
        "arn": f"{TOPIC}:sub-1",
    }


def test_stats_count_per_topic_and_forget_with_it():
    stats = StatsBoard()
    stats.count(TOPIC, "published", 2)
    stats.count(TOPIC, "delivered")
    stats.count(TOPIC, "failed")
    counted = stats.of(TOPIC)
    assert (counted.published, counted.delivered, counted.failed) == (2, 1, 1)
    counted.published = 99  # a copy
    assert stats.of(TOPIC).published == 2
    stats.forget(TOPIC)
    assert stats.of(TOPIC).published == 0
