"""SNS topics (with their ``Subscription`` list) and subscriptions through the SNS API: the SNS
provider sends the confirmation email of an email subscription, as for Subscribe."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import NeedsReplacement
from ..models import StackResource
from .base import (
    Handler,
    ResourceRequest,
    Result,
    boolean,
    changed,
    ignore_missing,
)


class Topic(Handler):
    resource_type = "AWS::SNS::Topic"
    service = "Sns"
    attributes = ("TopicArn", "TopicName")
    name_property = "TopicName"
    _ATTRIBUTES = (
        "DisplayName",
        "KmsMasterKeyId",
        "ContentBasedDeduplication",
        "SignatureVersion",
        "TracingConfig",
        "ArchivePolicy",
        "DataProtectionPolicy",
        "FifoThroughputScope",
    )

    def sns(self, req: ResourceRequest) -> Any:
        return req.client("sns")

    def create(self, req: ResourceRequest) -> Result:
        p = req.properties
        fifo = boolean(p.get("FifoTopic", False))
        name = p.get("TopicName") or req.physical_name(256 - (5 if fifo else 0))
        if fifo and not name.endswith(".fifo"):
            name = f"{name}.fifo"
        attributes = {k: self._text(p[k]) for k in self._ATTRIBUTES if k in p}
        if fifo:
            attributes["FifoTopic"] = "true"
        params: dict[str, Any] = {"Name": name}
        if attributes:
            params["Attributes"] = attributes
        tags = req.tag_list(p.get("Tags"))
        if tags:
            params["Tags"] = tags
        arn = self.sns(req).create_topic(**params)["TopicArn"]
        try:
            for entry in p.get("Subscription") or []:
                self._subscribe(req, arn, entry)
        except Exception:
            ignore_missing(lambda: self.sns(req).delete_topic(TopicArn=arn))
            raise
        return Result(arn, {"TopicArn": arn, "TopicName": name})

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        return value if isinstance(value, str) else json.dumps(value)

    def _subscribe(self, req: ResourceRequest, arn: str, entry: dict[str, Any]) -> None:
        self.sns(req).subscribe(
            TopicArn=arn,
            Protocol=str(entry.get("Protocol", "")),
            Endpoint=str(entry.get("Endpoint", "")),
            ReturnSubscriptionArn=True,
        )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if changed(old, new, ("TopicName", "FifoTopic")):
            raise NeedsReplacement()
        arn, sns = current.physical_id or "", self.sns(req)
        for key in self._ATTRIBUTES:
            if old.get(key) != new.get(key):
                sns.set_topic_attributes(
                    TopicArn=arn, AttributeName=key, AttributeValue=self._text(new.get(key, ""))
                )
        before = [s for s in old.get("Subscription") or [] if isinstance(s, dict)]
        after = [s for s in new.get("Subscription") or [] if isinstance(s, dict)]
        for entry in after:
            if entry not in before:
                self._subscribe(req, arn, entry)
        for entry in before:
            if entry not in after:
                self._unsubscribe(req, arn, entry)
        return Result(arn, current.attributes)

    def _unsubscribe(self, req: ResourceRequest, arn: str, entry: dict[str, Any]) -> None:
        listed = self.sns(req).list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        for found in listed:
            if (
                found.get("Protocol") == entry.get("Protocol")
                and found.get("Endpoint") == entry.get("Endpoint")
                and found["SubscriptionArn"].startswith("arn:")
            ):
                ignore_missing(
                    lambda f=found: self.sns(req).unsubscribe(SubscriptionArn=f["SubscriptionArn"])
                )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id or ""
        for entry in current.properties.get("Subscription") or []:
            if isinstance(entry, dict):
                try:
                    self._unsubscribe(req, arn, entry)
                except ClientError:
                    break  # the topic is gone already
        ignore_missing(lambda: self.sns(req).delete_topic(TopicArn=arn))


class Subscription(Handler):
    resource_type = "AWS::SNS::Subscription"
    service = "Sns"
    attributes = ("Arn",)
    _ATTRIBUTES = (
        "FilterPolicy",
        "FilterPolicyScope",
        "RawMessageDelivery",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
        "ReplayPolicy",
    )

    def create(self, req: ResourceRequest) -> Result:
        req.require("TopicArn", "Protocol")
        p = req.properties
        params: dict[str, Any] = {
            "TopicArn": p["TopicArn"],
            "Protocol": p["Protocol"],
            "ReturnSubscriptionArn": True,
        }
        if p.get("Endpoint") is not None:
            params["Endpoint"] = str(p["Endpoint"])
        attributes = {k: Topic._text(p[k]) for k in self._ATTRIBUTES if k in p}
        if attributes:
            params["Attributes"] = attributes
        arn = req.client("sns").subscribe(**params)["SubscriptionArn"]
        return Result(arn, {"Arn": arn})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if changed(old, new, ("TopicArn", "Protocol", "Endpoint", "Region")):
            raise NeedsReplacement()
        arn = current.physical_id or ""
        for key in self._ATTRIBUTES:
            if old.get(key) != new.get(key) and key in new:
                req.client("sns").set_subscription_attributes(
                    SubscriptionArn=arn, AttributeName=key, AttributeValue=Topic._text(new[key])
                )
        return Result(arn, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id
        if arn and arn.startswith("arn:"):
            ignore_missing(lambda: req.client("sns").unsubscribe(SubscriptionArn=arn))


HANDLERS: list[Handler] = [Topic(), Subscription()]
