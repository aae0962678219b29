"""DynamoDB tables through the DynamoDB API (streams, TTL, point-in-time recovery), waited for
until ACTIVE."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..errors import NeedsReplacement, ResourceFailed
from ..models import StackResource
from .base import (
    Handler,
    ResourceRequest,
    Result,
    api_params,
    boolean,
    changed,
    ignore_missing,
    wait_until,
)


class Table(Handler):
    resource_type = "AWS::DynamoDB::Table"
    service = "DynamoDb"
    attributes = ("Arn", "StreamArn")
    name_property = "TableName"
    _REPLACING = ("TableName", "KeySchema", "LocalSecondaryIndexes", "GlobalSecondaryIndexes")
    _UNSUPPORTED = ("ImportSourceSpecification", "KinesisStreamSpecification")

    def ddb(self, req: ResourceRequest) -> Any:
        return req.client("dynamodb")

    def create(self, req: ResourceRequest) -> Result:
        req.require("KeySchema")
        p = req.properties
        refused = [k for k in self._UNSUPPORTED if k in p]
        if refused:
            raise ResourceFailed(
                f"the local cloud does not apply {', '.join(refused)} of AWS::DynamoDB::Table"
            )
        name = p.get("TableName") or req.physical_name(255)
        params: dict[str, Any] = {"TableName": name}
        for key in (
            "KeySchema",
            "AttributeDefinitions",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "SSESpecification",
            "TableClass",
            "DeletionProtectionEnabled",
            "OnDemandThroughput",
        ):
            if key in p:
                params[key] = p[key]
        if isinstance(params.get("SSESpecification"), dict):
            sse = dict(params["SSESpecification"])
            if "KMSMasterKeyId" in sse:
                sse["KMSMasterKeyId"] = str(sse["KMSMasterKeyId"])
            params["SSESpecification"] = sse
        if p.get("StreamSpecification"):
            params["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        tags = req.tag_list(p.get("Tags"))
        if tags:
            params["Tags"] = tags
        table = self.ddb(req).create_table(**api_params("dynamodb", "CreateTable", params))
        arn = table["TableDescription"]["TableArn"]
        try:
            wait_until(lambda: self._active(req, name), f"table {name} to be ACTIVE")
            self._extras(req, name, {}, p)
        except Exception:
            ignore_missing(lambda: self.ddb(req).delete_table(TableName=name))
            raise
        return Result(name, self._attributes(req, name, arn))

    def _active(self, req: ResourceRequest, name: str) -> bool:
        return self.ddb(req).describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"

    def _attributes(self, req: ResourceRequest, name: str, arn: str) -> dict[str, Any]:
        table = self.ddb(req).describe_table(TableName=name)["Table"]
        return {"Arn": arn, "StreamArn": table.get("LatestStreamArn", "")}

    def _extras(self, req: ResourceRequest, name: str, old: dict, new: dict) -> None:
        ttl = new.get("TimeToLiveSpecification")
        if ttl and ttl != old.get("TimeToLiveSpecification"):
            self.ddb(req).update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "Enabled": boolean(ttl.get("Enabled")),
                    "AttributeName": ttl.get("AttributeName", ""),
                },
            )
        recovery = new.get("PointInTimeRecoverySpecification")
        if recovery and recovery != old.get("PointInTimeRecoverySpecification"):
            self.ddb(req).update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": boolean(
                        recovery.get("PointInTimeRecoveryEnabled")
                    )
                },
            )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if changed(old, new, self._REPLACING):
            raise NeedsReplacement()
        name, ddb = current.physical_id or "", self.ddb(req)
        params: dict[str, Any] = {}
        if changed(old, new, ("BillingMode", "ProvisionedThroughput")):
            params["BillingMode"] = new.get("BillingMode", "PROVISIONED")
            if new.get("ProvisionedThroughput"):
                params["ProvisionedThroughput"] = new["ProvisionedThroughput"]
        if changed(old, new, ("StreamSpecification",)):
            stream = new.get("StreamSpecification")
            params["StreamSpecification"] = (
                {"StreamEnabled": True, **stream} if stream else {"StreamEnabled": False}
            )
        if params:
            ddb.update_table(**api_params("dynamodb", "UpdateTable", {"TableName": name, **params}))
            wait_until(lambda: self._active(req, name), f"table {name} to be ACTIVE")
        self._extras(req, name, old, new)
        if old.get("Tags") != new.get("Tags"):
            arn = current.attributes.get("Arn", "")
            gone = {t["Key"] for t in old.get("Tags") or []} - {
                t["Key"] for t in new.get("Tags") or []
            }
            if gone:
                ddb.untag_resource(ResourceArn=arn, TagKeys=sorted(gone))
            tags = req.tag_list(new.get("Tags"))
            if tags:
                ddb.tag_resource(ResourceArn=arn, Tags=tags)
        return Result(name, self._attributes(req, name, current.attributes.get("Arn", "")))

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(lambda: self.ddb(req).delete_table(TableName=name))

        def gone() -> bool:
            try:
                self.ddb(req).describe_table(TableName=name)
            except ClientError:
                return True
            return False

        wait_until(gone, f"table {name} to be deleted")


HANDLERS: list[Handler] = [Table()]
