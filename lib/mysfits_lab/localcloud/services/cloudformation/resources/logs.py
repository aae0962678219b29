"""CloudWatch Logs log groups through the Logs API."""

from __future__ import annotations

from typing import Any

from ....constants import ACCOUNT_ID
from ..errors import NeedsReplacement
from ..models import StackResource
from .base import (
    Handler,
    ResourceRequest,
    Result,
    changed,
    ignore_missing,
)


class LogGroup(Handler):
    resource_type = "AWS::Logs::LogGroup"
    service = "CloudWatchLogs"
    attributes = ("Arn",)
    name_property = "LogGroupName"

    def create(self, req: ResourceRequest) -> Result:
        p = req.properties
        name = p.get("LogGroupName") or req.physical_name(512)
        logs = req.client("logs")
        params: dict[str, Any] = {"logGroupName": name}
        if p.get("KmsKeyId"):
            params["kmsKeyId"] = p["KmsKeyId"]
        tags = req.tag_map(p.get("Tags"))
        if tags:
            params["tags"] = tags
        logs.create_log_group(**params)
        if p.get("RetentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
        arn = f"arn:aws:logs:{req.region}:{ACCOUNT_ID}:log-group:{name}:*"
        return Result(name, {"Arn": arn})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if changed(old, new, ("LogGroupName", "KmsKeyId")):
            raise NeedsReplacement()
        name, logs = current.physical_id or "", req.client("logs")
        if new.get("RetentionInDays"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(new["RetentionInDays"])
            )
        elif old.get("RetentionInDays"):
            logs.delete_retention_policy(logGroupName=name)
        return Result(name, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(lambda: req.client("logs").delete_log_group(logGroupName=name))


HANDLERS: list[Handler] = [LogGroup()]
