"""Where the provider meets moto's SNS inside the process.

moto records subscriptions however they are made — Subscribe, or a CloudFormation stack's
``AWS::SNS::Topic`` with ``Subscription`` — and on Publish calls ``Subscription.publish`` for
every subscription of the topic, confirmed or not: it POSTs to HTTP endpoints itself, in the
publisher's request, and would run Lambda functions in Docker. ``install()`` wraps four of its
methods while a cloud runs:

- ``SNSBackend.subscribe``, ``unsubscribe`` and ``delete_topic`` tell the listener, so a
  subscription made by a stack gets its confirmation email too;
- ``Subscription.publish`` leaves SQS to moto (its fan-out is what SNS does) and hands every
  email, email-json, http, https and lambda delivery to the listener instead, after moto's own
  filter policy check. Other protocols (sms, application, firehose) stay moto's.

``uninstall()`` puts moto's methods back when the last listener leaves. The wrappers are
process-wide because moto's backends are.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .models import SubscriptionInfo

log = logging.getLogger("mysfits_lab.localcloud.sns")

DELIVERED_HERE = frozenset({"email", "email-json", "http", "https", "lambda"})


@dataclass(frozen=True)
class Publication:
    """One published message as one subscription receives it (before its structure is
    resolved for the subscription's protocol)."""

    message_id: str
    message: str
    subject: str | None
    structure: str | None
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    raw: bool = False


class Listener(Protocol):
    def subscribed(self, info: SubscriptionInfo) -> None: ...
    def unsubscribed(self, arn: str) -> None: ...
    def topic_deleted(self, topic_arn: str) -> None: ...
    def published(self, info: SubscriptionInfo, publication: Publication) -> None: ...
    def fanned_out(self, info: SubscriptionInfo, delivered: bool) -> None: ...


_lock = threading.Lock()
_listeners: list[Listener] = []
_originals: dict[str, Callable[..., Any]] = {}


def _listener() -> Listener | None:
    return _listeners[-1] if _listeners else None


def _info(subscription: Any) -> SubscriptionInfo:
    return SubscriptionInfo(
        arn=subscription.arn,
        topic_arn=subscription.topic.arn,
        protocol=subscription.protocol,
        endpoint=subscription.endpoint or "",
    )


def _tell(what: str, *args: Any) -> None:
    """Tell the listener; its failure must not fail moto's call."""
    listener = _listener()
    if listener is None:
        return
    try:
        getattr(listener, what)(*args)
    except Exception:
        log.exception("SNS provider failed on %s", what)


def _subscribe(backend: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
    subscription = _originals["subscribe"](backend, topic_arn, endpoint, protocol)
    _tell("subscribed", _info(subscription))
    return subscription


def _unsubscribe(backend: Any, subscription_arn: str) -> None:
    _originals["unsubscribe"](backend, subscription_arn)
    _tell("unsubscribed", subscription_arn)


def _delete_topic(backend: Any, arn: str) -> None:
    _originals["delete_topic"](backend, arn)
    _tell("topic_deleted", arn)


def _wanted(subscription: Any, attributes: dict[str, Any] | None, message: str) -> bool:
    """The subscription's filter policy, checked by moto's matcher as for SQS."""
    from moto.sns.utils import FilterPolicyMatcher

    policy = (subscription.attributes or {}).get("FilterPolicy")
    if not policy:
        return True
    try:
        parsed = json.loads(policy) if isinstance(policy, str) else policy
        scope = subscription.attributes.get("FilterPolicyScope")
        return FilterPolicyMatcher(parsed, scope).matches(attributes, message)
    except (ValueError, FilterPolicyMatcher.CheckException):
        return False


def _publish(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    def moto_publish() -> None:
        _originals["publish"](
            subscription,
            message,
            message_id,
            subject=subject,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            message_structure=message_structure,
        )

    protocol = subscription.protocol
    if _listener() is None or (protocol != "sqs" and protocol not in DELIVERED_HERE):
        moto_publish()
        return
    if not _wanted(subscription, message_attributes, message):
        return
    info = _info(subscription)
    if protocol == "sqs":
        try:
            moto_publish()
        except Exception as exc:  # a queue gone: SNS's publish still succeeds
            log.warning("SNS could not deliver to queue %s: %s", subscription.endpoint, exc)
            _tell("fanned_out", info, False)
        else:
            _tell("fanned_out", info, True)
        return
    raw = str((subscription.attributes or {}).get("RawMessageDelivery", "")).lower() == "true"
    publication = Publication(
        message_id=message_id,
        message=message,
        subject=subject,
        structure=message_structure,
        attributes=dict(message_attributes or {}),
        raw=raw,
    )
    _tell("published", info, publication)


def install(listener: Listener) -> None:
    """Wrap moto's SNS methods (once per process) and make ``listener`` the one told."""
    from moto.sns.models import SNSBackend, Subscription

    with _lock:
        if not _originals:
            _originals.update(
                subscribe=SNSBackend.subscribe,
                unsubscribe=SNSBackend.unsubscribe,
                delete_topic=SNSBackend.delete_topic,
                publish=Subscription.publish,
            )
            SNSBackend.subscribe = _subscribe  # type: ignore[method-assign]
            SNSBackend.unsubscribe = _unsubscribe  # type: ignore[method-assign]
            SNSBackend.delete_topic = _delete_topic  # type: ignore[method-assign]
            Subscription.publish = _publish  # type: ignore[method-assign]
        _listeners.append(listener)


def uninstall(listener: Listener) -> None:
    """``listener`` is told no more; the last one gives moto its methods back."""
    from moto.sns.models import SNSBackend, Subscription

    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)
        if _listeners or not _originals:
            return
        SNSBackend.subscribe = _originals["subscribe"]  # type: ignore[method-assign]
        SNSBackend.unsubscribe = _originals["unsubscribe"]  # type: ignore[method-assign]
        SNSBackend.delete_topic = _originals["delete_topic"]  # type: ignore[method-assign]
        Subscription.publish = _originals["publish"]  # type: ignore[method-assign]
        _originals.clear()


def installed() -> bool:
    from moto.sns.models import Subscription

    return Subscription.publish is _publish
