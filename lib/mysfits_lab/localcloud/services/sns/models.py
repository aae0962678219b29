"""What SNS keeps that moto does not: whether each subscription is confirmed, its confirmation
token, and what each topic published and delivered. No I/O here.

moto records every subscription as confirmed at once; SNS confirms only SQS, Lambda (and the
other AWS endpoints of the same account) at once, while email, email-json, http and https
subscriptions stay ``PendingConfirmation`` until the endpoint's owner confirms them with the
token sent to it — and are deleted after 48 hours if nobody does.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

PENDING = "PendingConfirmation"
CONFIRMED = "Confirmed"
# Protocols whose owner must confirm, as SNS sends them a confirmation (same account).
NEEDS_CONFIRMATION = frozenset({"email", "email-json", "http", "https"})
# Unconfirmed subscriptions are deleted, and their tokens refused, after 48 hours.
PENDING_LIFETIME = 48 * 60 * 60
# SNS tokens are 288 hex digits.
TOKEN_BYTES = 144


@dataclass(frozen=True)
class SubscriptionInfo:
    """A subscription as moto recorded it."""

    arn: str
    topic_arn: str
    protocol: str
    endpoint: str

    @property
    def region(self) -> str:
        return region_of(self.topic_arn)


def region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


@dataclass
class SubscriptionRecord:
    info: SubscriptionInfo
    token: str
    created: float
    confirmed: bool
    authenticated: bool = False  # confirmed by a signed ConfirmSubscription
    authenticate_on_unsubscribe: bool = False

    @property
    def arn(self) -> str:
        return self.info.arn

    @property
    def status(self) -> str:
        return CONFIRMED if self.confirmed else PENDING

    @property
    def listed_arn(self) -> str:
        """What ListSubscriptions shows as its ARN: none until it is confirmed."""
        return self.info.arn if self.confirmed else PENDING

    def to_api(self) -> dict[str, Any]:
        return {
            "protocol": self.info.protocol,
            "endpoint": self.info.endpoint,
            "status": self.status,
            "arn": self.info.arn,
        }


class InvalidToken(Exception):
    """A token that confirms nothing: unknown, for another topic, or expired."""


class SubscriptionBook:
    """Every subscription the provider has seen, by ARN, with its confirmation state."""

    def __init__(self) -> None:
        self._records: dict[str, SubscriptionRecord] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def record(self, info: SubscriptionInfo, now: float) -> tuple[SubscriptionRecord, bool]:
        """The record of ``info``, and whether it is new. A new one starts pending when SNS
        asks its endpoint for a confirmation, with a token of its own."""
        with self._lock:
            found = self._records.get(info.arn)
            if found is not None:
                return found, False
            confirmed = info.protocol not in NEEDS_CONFIRMATION
            record = SubscriptionRecord(
                info, secrets.token_hex(TOKEN_BYTES), now, confirmed, authenticated=confirmed
            )
            self._records[info.arn] = record
            return record, True

    def get(self, arn: str) -> SubscriptionRecord | None:
        with self._lock:
            return self._records.get(arn)

    def confirm(
        self,
        topic_arn: str,
        token: str,
        now: float,
        authenticated: bool = False,
        authenticate_on_unsubscribe: bool = False,
    ) -> SubscriptionRecord:
        """Confirm the subscription ``token`` was sent for; confirming again answers the same.
        InvalidToken when the token confirms nothing on ``topic_arn``."""
        with self._lock:
            for record in self._records.values():
                if record.info.topic_arn != topic_arn or not secrets.compare_digest(
                    record.token, token
                ):
                    continue
                if record.confirmed:
                    return record
                if now - record.created > PENDING_LIFETIME:
                    raise InvalidToken(token)
                record.confirmed = True
                record.authenticated = authenticated
                record.authenticate_on_unsubscribe = authenticate_on_unsubscribe
                return record
        raise InvalidToken(token)

    def forget(self, arn: str) -> None:
        with self._lock:
            self._records.pop(arn, None)

    def forget_topic(self, topic_arn: str) -> None:
        with self._lock:
            for arn in [a for a, r in self._records.items() if r.info.topic_arn == topic_arn]:
                del self._records[arn]

    def of_topic(self, topic_arn: str) -> list[SubscriptionRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.info.topic_arn == topic_arn]

    def expired(self, now: float) -> list[SubscriptionRecord]:
        """Pending subscriptions older than 48 hours: SNS deletes them."""
        with self._lock:
            return [
                r
                for r in self._records.values()
                if not r.confirmed and now - r.created > PENDING_LIFETIME
            ]

    def regions(self) -> set[str]:
        with self._lock:
            return {r.info.region for r in self._records.values()}


@dataclass
class TopicStats:
    published: int = 0
    delivered: int = 0
    failed: int = 0


@dataclass
class StatsBoard:
    """Messages published to each topic, and deliveries that succeeded or finally failed."""

    _topics: dict[str, TopicStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, topic_arn: str, what: str, n: int = 1) -> None:
        with self._lock:
            stats = self._topics.setdefault(topic_arn, TopicStats())
            setattr(stats, what, getattr(stats, what) + n)

    def of(self, topic_arn: str) -> TopicStats:
        with self._lock:
            found = self._topics.get(topic_arn)
            return TopicStats(**vars(found)) if found else TopicStats()

    def forget(self, topic_arn: str) -> None:
        with self._lock:
            self._topics.pop(topic_arn, None)
