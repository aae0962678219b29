"""Firehose delivery streams through the Firehose API: the Firehose provider buffers, transforms
and delivers them; the stream is waited for until ACTIVE."""

from __future__ import annotations

from typing import Any

from ..models import StackResource
from .base import (
    Handler,
    ResourceRequest,
    Result,
    api_params,
    ignore_missing,
    wait_until,
)


class DeliveryStream(Handler):
    resource_type = "AWS::KinesisFirehose::DeliveryStream"
    service = "Firehose"
    attributes = ("Arn",)
    name_property = "DeliveryStreamName"

    def firehose(self, req: ResourceRequest) -> Any:
        return req.client("firehose")

    def create(self, req: ResourceRequest) -> Result:
        p = dict(req.properties)
        name = p.pop("DeliveryStreamName", None) or req.physical_name(64)
        own_tags = p.pop("Tags", None)
        params: dict[str, Any] = {"DeliveryStreamName": name, **p}
        tags = req.tag_list(own_tags)
        if tags:
            params["Tags"] = tags
        firehose = self.firehose(req)
        answer = firehose.create_delivery_stream(
            **api_params("firehose", "CreateDeliveryStream", params)
        )
        try:
            wait_until(lambda: self._status(req, name), f"delivery stream {name} to be ACTIVE")
        except Exception:
            ignore_missing(lambda: firehose.delete_delivery_stream(DeliveryStreamName=name))
            raise
        return Result(name, {"Arn": answer["DeliveryStreamARN"]})

    def _status(self, req: ResourceRequest, name: str) -> bool | str:
        described = self.firehose(req).describe_delivery_stream(DeliveryStreamName=name)
        status = described["DeliveryStreamDescription"]["DeliveryStreamStatus"]
        if status.endswith("FAILED"):
            return f"delivery stream {name} is {status}"
        return status == "ACTIVE"

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(lambda: self.firehose(req).delete_delivery_stream(DeliveryStreamName=name))


HANDLERS: list[Handler] = [DeliveryStream()]
