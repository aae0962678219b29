"""SNS in front of moto's (which records topics and subscriptions, and fans out to SQS).

What this provider adds, as SNS does it:
- email, email-json, http and https subscriptions start ``PendingConfirmation`` (Subscribe
  answers "pending confirmation" unless ReturnSubscriptionArn; ListSubscriptions shows
  "PendingConfirmation"; GetSubscriptionAttributes says PendingConfirmation "true"), and a
  confirmation goes out: an email to the outbox with a link, or a SubscriptionConfirmation
  POSTed to the endpoint with its SubscribeURL. Opening the link, or ConfirmSubscription with
  the token, confirms it; unconfirmed ones are deleted after 48 hours. lambda and sqs
  subscriptions are confirmed at once;
- Publish and PublishBatch are checked with SNS's messages (subject, size, JSON structure),
  recorded by moto, then delivered to every confirmed subscription (filter policies honoured)
  from a bounded queue: an email with SNS's unsubscribe footer, the JSON notification to
  email-json addresses and HTTP endpoints (with the ``x-amz-sns-*`` headers, retried), an
  asynchronous Invoke of a Lambda function with the SNS event. SQS stays moto's fan-out.

Control routes: ``GET /_localcloud/sns`` → ``{"topics": {arn: {"subscriptions": [{protocol,
endpoint, status, arn}], "published", "delivered", "failed"}}}``; ``/confirm`` and
``/unsubscribe`` are the links in SNS's messages (pages a browser tab may open);
``/SimpleNotificationService-<id>.pem`` is the certificate messages are signed with.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from ..outbox.provider import OutboxProvider
from . import moto_hooks, pages
from .documents import (
    NOTIFICATION,
    SUBSCRIPTION_CONFIRMATION,
    Envelope,
    confirm_url,
    confirmation_text,
    timestamp,
    unsubscribe_url,
)
from .engine import Courier, Delivery
from .models import (
    InvalidToken,
    StatsBoard,
    SubscriptionBook,
    SubscriptionInfo,
    SubscriptionRecord,
    region_of,
)
from .moto_hooks import Publication
from .signing import Signer
from .transports import Transports
from .validation import (
    check_batch,
    check_filter_policy,
    check_publish,
    check_subscribe,
    check_topic_arn,
    invalid,
    pick_message,
)

SNS = "sns"
PENDING_ANSWER = "pending confirmation"  # Subscribe's SubscriptionArn until confirmed


class SnsProvider(Provider):
    name = "sns"
    requires = ("outbox",)

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.book = SubscriptionBook()
        self.stats = StatsBoard()
        self.signer = Signer()
        self.transports = Transports(ctx, self.signer, lambda: ctx.provider(OutboxProvider))
        self.courier = Courier(self.transports.send, self._finished, ctx.clock)

    def routes(self) -> list[Route]:
        handlers = {
            "Subscribe": self._subscribe,
            "ConfirmSubscription": self._confirm_subscription,
            "Publish": self._publish,
            "PublishBatch": self._publish_batch,
            "ListSubscriptions": self._list_subscriptions,
            "ListSubscriptionsByTopic": self._list_subscriptions,
            "GetSubscriptionAttributes": self._subscription_attributes,
            "GetTopicAttributes": self._topic_attributes,
            "SetSubscriptionAttributes": self._set_subscription_attribute,
        }
        return [Route(SNS, operation, handler) for operation, handler in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [
            ControlRule("", self._overview),
            ControlRule("/confirm", self._confirm_link, link=True),
            ControlRule("/unsubscribe", self._unsubscribe_link, link=True),
            ControlRule("/<name>", self._certificate),
        ]

    def start(self) -> None:
        moto_hooks.install(self)
        self.courier.start()

    def stop(self) -> None:
        moto_hooks.uninstall(self)
        self.courier.stop()

    def status(self) -> dict[str, Any]:
        return {"sns": {"subscriptions": len(self.book), "queued": len(self.courier.queue)}}

    # -- what moto tells (moto_hooks.Listener) ----------------------------------------------
    def subscribed(self, info: SubscriptionInfo) -> None:
        # A pending subscription subscribed again gets its confirmation again (what the
        # console's "Request confirmation" does).
        record, _ = self.book.record(info, self.ctx.clock.now())
        if not record.confirmed:
            self._send_confirmation(record)

    def unsubscribed(self, arn: str) -> None:
        self.book.forget(arn)

    def topic_deleted(self, topic_arn: str) -> None:
        self.book.forget_topic(topic_arn)
        self.stats.forget(topic_arn)

    def published(self, info: SubscriptionInfo, publication: Publication) -> None:
        record = self._known(info)
        if not record.confirmed:
            return  # SNS delivers nothing to a pending subscription
        envelope = Envelope(
            type=NOTIFICATION,
            message_id=publication.message_id,
            topic_arn=info.topic_arn,
            message=pick_message(publication.message, publication.structure, info.protocol),
            timestamp=timestamp(self.ctx.clock.now()),
            subject=publication.subject,
            unsubscribe_url=unsubscribe_url(self.ctx.edge_url, info.arn),
            attributes=publication.attributes,
        )
        self.courier.submit(Delivery(info, envelope, raw=publication.raw))

    def fanned_out(self, info: SubscriptionInfo, delivered: bool) -> None:
        self.stats.count(info.topic_arn, "delivered" if delivered else "failed")

    def _finished(self, job: Delivery, delivered: bool) -> None:
        if job.counted:
            self.stats.count(job.subscription.topic_arn, "delivered" if delivered else "failed")

    def _known(self, info: SubscriptionInfo) -> SubscriptionRecord:
        """The record of a subscription moto has; one made before the provider started is
        taken in as if it were new."""
        record, new = self.book.record(info, self.ctx.clock.now())
        if new and not record.confirmed:
            self._send_confirmation(record)
        return record

    def _send_confirmation(self, record: SubscriptionRecord) -> None:
        info = record.info
        envelope = Envelope(
            type=SUBSCRIPTION_CONFIRMATION,
            message_id=str(uuid.uuid4()),
            topic_arn=info.topic_arn,
            message=confirmation_text(info.topic_arn),
            timestamp=timestamp(self.ctx.clock.now()),
            token=record.token,
            subscribe_url=confirm_url(self.ctx.edge_url, info.topic_arn, record.token),
        )
        self.courier.submit(Delivery(info, envelope, counted=False))

    # -- subscriptions ----------------------------------------------------------------------
    def _subscribe(self, call: Call) -> dict[str, Any]:
        params = call.params
        check_topic_arn(params["TopicArn"])
        check_subscribe(params["Protocol"], params.get("Endpoint"), params.get("Attributes"))
        answer = call.moto()  # the hook records it and sends the confirmation
        record = self.book.get(answer.get("SubscriptionArn", ""))
        if record is not None and not record.confirmed and not params.get("ReturnSubscriptionArn"):
            answer["SubscriptionArn"] = PENDING_ANSWER
        return answer

    def _confirm_subscription(self, call: Call) -> dict[str, Any]:
        params = call.params
        check_topic_arn(params["TopicArn"], "Topic")
        self._topic(params["TopicArn"], call.region)
        record = self._confirm(
            params["TopicArn"],
            params["Token"],
            authenticated=call.request.signing_name is not None,
            authenticate_on_unsubscribe=str(params.get("AuthenticateOnUnsubscribe", "")).lower()
            == "true",
        )
        return {"SubscriptionArn": record.arn}

    def _confirm(self, topic_arn: str, token: str, **how: bool) -> SubscriptionRecord:
        try:
            return self.book.confirm(topic_arn, token, self.ctx.clock.now(), **how)
        except InvalidToken:
            raise invalid("Token") from None

    def _list_subscriptions(self, call: Call) -> dict[str, Any]:
        if call.operation == "ListSubscriptionsByTopic":
            check_topic_arn(call.params["TopicArn"])
        self._sweep()
        answer = call.moto()
        for entry in answer.get("Subscriptions") or []:
            record = self._known(_info_of(entry))
            entry["SubscriptionArn"] = record.listed_arn
        return answer

    def _subscription_attributes(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        attributes = answer.setdefault("Attributes", {})
        if attributes.get("SubscriptionArn"):
            record = self._known(_info_of(attributes))
            attributes["PendingConfirmation"] = "false" if record.confirmed else "true"
            attributes["ConfirmationWasAuthenticated"] = str(record.authenticated).lower()
        return answer

    def _set_subscription_attribute(self, call: Call) -> dict[str, Any]:
        if call.params.get("AttributeName") == "FilterPolicy":
            check_filter_policy(call.params.get("AttributeValue"))
        return call.moto()

    def _topic_attributes(self, call: Call) -> dict[str, Any]:
        check_topic_arn(call.params["TopicArn"])
        answer = call.moto()
        attributes = answer.setdefault("Attributes", {})
        records = self.book.of_topic(call.params["TopicArn"])
        attributes["SubscriptionsConfirmed"] = str(sum(r.confirmed for r in records))
        attributes["SubscriptionsPending"] = str(sum(not r.confirmed for r in records))
        return answer

    def _sweep(self) -> None:
        """Delete subscriptions left unconfirmed for 48 hours, as SNS does."""
        for record in self.book.expired(self.ctx.clock.now()):
            with contextlib.suppress(ServiceError):
                self.ctx.moto(SNS, "Unsubscribe", record.info.region, SubscriptionArn=record.arn)
            self.book.forget(record.arn)

    # -- publishing -------------------------------------------------------------------------
    def _publish(self, call: Call) -> dict[str, Any]:
        params = call.params
        check_publish(params)
        self._sweep()
        answer = call.moto()  # moto's fan-out hands the deliveries to ``published``
        topic_arn = params.get("TopicArn") or params.get("TargetArn")
        if topic_arn and ":endpoint/" not in topic_arn:
            self.stats.count(topic_arn, "published")
        return answer

    def _publish_batch(self, call: Call) -> dict[str, Any]:
        params = call.params
        check_topic_arn(params["TopicArn"])
        check_batch(params.get("PublishBatchRequestEntries") or [])
        self._sweep()
        answer = call.moto()
        self.stats.count(params["TopicArn"], "published", len(answer.get("Successful") or []))
        return answer

    # -- control routes ---------------------------------------------------------------------
    def _overview(self, _request: Request) -> dict[str, Any]:
        self._sweep()
        topics: dict[str, Any] = {}
        for region in sorted(self.book.regions() | {self.ctx.region}):
            for topic_arn in self._pages(region, "ListTopics", "Topics", "TopicArn"):
                subscriptions = [
                    self._known(_info_of(entry)).to_api()
                    for entry in self._pages(
                        region, "ListSubscriptionsByTopic", "Subscriptions", None, topic_arn
                    )
                ]
                stats = self.stats.of(topic_arn)
                topics[topic_arn] = {
                    "subscriptions": subscriptions,
                    "published": stats.published,
                    "delivered": stats.delivered,
                    "failed": stats.failed,
                }
        return {"topics": topics}

    def _pages(
        self, region: str, operation: str, key: str, field: str | None, topic_arn: str = ""
    ) -> list[Any]:
        found: list[Any] = []
        params: dict[str, Any] = {"TopicArn": topic_arn} if topic_arn else {}
        while True:
            answer = self.ctx.moto(SNS, operation, region, **params)
            found += [entry[field] if field else entry for entry in answer.get(key) or []]
            if not answer.get("NextToken"):
                return found
            params["NextToken"] = answer["NextToken"]

    def _confirm_link(self, request: Request) -> Response:
        topic_arn = request.args.get("TopicArn", "")
        token = request.args.get("Token", "")
        try:
            check_topic_arn(topic_arn, "Topic")
            if not token:
                raise invalid("Token")
            self._topic(topic_arn, region_of(topic_arn))
            record = self._confirm(topic_arn, token, authenticated=False)
        except ServiceError as exc:
            return pages.error(request, exc.code, exc.message, exc.status)
        return pages.confirmed(request, record.arn, record.info.endpoint, topic_arn)

    def _unsubscribe_link(self, request: Request) -> Response:
        arn = request.args.get("SubscriptionArn", "")
        endpoint = request.args.get("Endpoint")
        record = self.book.get(arn)
        if record is None or (endpoint is not None and endpoint != record.info.endpoint):
            return pages.error(request, "NotFound", "Subscription does not exist", 404)
        if record.authenticate_on_unsubscribe:
            return pages.error(
                request,
                "AuthorizationError",
                "This subscription can only be removed by an authenticated Unsubscribe call.",
                403,
            )
        with contextlib.suppress(ServiceError):  # already gone: the page says the same
            self.ctx.moto(SNS, "Unsubscribe", record.info.region, SubscriptionArn=arn)
        self.book.forget(arn)
        return pages.unsubscribed(arn, record.info.topic_arn)

    def _certificate(self, _request: Request, name: str) -> Response:
        if name != self.signer.cert_name:
            raise LookupError(f"no SNS certificate {name[:80]!r}")
        return Response(self.signer.pem(), 200, mimetype="application/x-pem-file")

    def _topic(self, topic_arn: str, region: str) -> dict[str, Any]:
        """The topic's attributes; NotFound as SNS says it when there is no such topic."""
        return self.ctx.moto(SNS, "GetTopicAttributes", region, TopicArn=topic_arn)


def _info_of(entry: dict[str, Any]) -> SubscriptionInfo:
    return SubscriptionInfo(
        arn=entry.get("SubscriptionArn", ""),
        topic_arn=entry.get("TopicArn", ""),
        protocol=entry.get("Protocol", ""),
        endpoint=entry.get("Endpoint", ""),
    )
