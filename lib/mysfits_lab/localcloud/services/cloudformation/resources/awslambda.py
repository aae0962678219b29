"""Lambda functions, permissions, versions, aliases and event source mappings through the
Lambda API: the Lambda provider runs the function (and refuses what it cannot run, which then
fails the resource with its reason), the event source provider polls the mapping."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from botocore.exceptions import ClientError

from ..errors import NeedsReplacement
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing, wait_until

_CONFIGURATION = (
    "Runtime",
    "Role",
    "Handler",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "TracingConfig",
    "Layers",
    "DeadLetterConfig",
    "VpcConfig",
    "KMSKeyArn",
    "FileSystemConfigs",
    "ImageConfig",
    "EphemeralStorage",
    "SnapStart",
    "LoggingConfig",
)
_CREATE_ONLY = ("PackageType", "Architectures", "CodeSigningConfigArn")


def _zip_inline(source: str, runtime: str) -> bytes:
    """``Code.ZipFile``: CloudFormation writes the text as ``index.py`` (``index.js`` for
    Node.js) in a .zip file of its own."""
    name = "index.js" if str(runtime).startswith("nodejs") else "index.py"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o644 << 16
        archive.writestr(info, source)
    return buffer.getvalue()


def _code(properties: dict[str, Any]) -> dict[str, Any]:
    code = dict(properties.get("Code") or {})
    if "ZipFile" in code:
        return {"ZipFile": _zip_inline(str(code["ZipFile"]), str(properties.get("Runtime", "")))}
    keys = ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")
    return {k: code[k] for k in keys if k in code}


def _tags(req: ResourceRequest, own: Any) -> dict[str, str]:
    return req.tag_map(own)


class Function(Handler):
    resource_type = "AWS::Lambda::Function"
    service = "Lambda"
    attributes = ("Arn", "SnapStartResponse")
    name_property = "FunctionName"

    def aws(self, req: ResourceRequest) -> Any:
        return req.client("lambda")

    def create(self, req: ResourceRequest) -> Result:
        req.require("Code", "Role")
        p = req.properties
        name = p.get("FunctionName") or req.physical_name(64)
        params: dict[str, Any] = {"FunctionName": name, "Code": _code(p)}
        for key in (*_CONFIGURATION, *_CREATE_ONLY):
            if key in p:
                params[key] = p[key]
        if "ImageUri" in params["Code"]:
            params.setdefault("PackageType", "Image")
        tags = _tags(req, p.get("Tags"))
        if tags:
            params["Tags"] = tags
        answer = self.aws(req).create_function(**api_params("lambda", "CreateFunction", params))
        try:
            wait_until(lambda: self._ready(req, name, "State"), f"function {name} to be Active")
            if p.get("ReservedConcurrentExecutions") is not None:
                self.aws(req).put_function_concurrency(
                    FunctionName=name,
                    ReservedConcurrentExecutions=int(p["ReservedConcurrentExecutions"]),
                )
        except Exception:
            ignore_missing(lambda: self.aws(req).delete_function(FunctionName=name))
            raise
        return Result(name, {"Arn": answer["FunctionArn"], "SnapStartResponse": {}})

    def _ready(self, req: ResourceRequest, name: str, field: str) -> bool | str:
        config = self.aws(req).get_function_configuration(FunctionName=name)
        if field == "State":
            state = config.get("State", "Active")
            if state == "Failed":
                return config.get("StateReason") or f"function {name} failed to become Active"
            return state == "Active"
        status = config.get("LastUpdateStatus", "Successful")
        if status == "Failed":
            return config.get("LastUpdateStatusReason") or f"function {name} failed to update"
        return status == "Successful"

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if any(old.get(k) != new.get(k) for k in ("FunctionName", *_CREATE_ONLY)):
            raise NeedsReplacement()
        name, aws = current.physical_id or "", self.aws(req)
        if old.get("Code") != new.get("Code") or old.get("Runtime") != new.get("Runtime"):
            code = _code(new)
            aws.update_function_code(
                **api_params("lambda", "UpdateFunctionCode", {"FunctionName": name, **code})
            )
            wait_until(lambda: self._ready(req, name, "LastUpdateStatus"), f"{name} to update")
        changed = {k: new[k] for k in _CONFIGURATION if k in new and old.get(k) != new.get(k)}
        removed = [k for k in ("Environment", "Description") if k in old and k not in new]
        for key in removed:
            changed[key] = {"Variables": {}} if key == "Environment" else ""
        if changed:
            aws.update_function_configuration(
                **api_params(
                    "lambda", "UpdateFunctionConfiguration", {"FunctionName": name, **changed}
                )
            )
            wait_until(lambda: self._ready(req, name, "LastUpdateStatus"), f"{name} to update")
        if old.get("ReservedConcurrentExecutions") != new.get("ReservedConcurrentExecutions"):
            if new.get("ReservedConcurrentExecutions") is None:
                aws.delete_function_concurrency(FunctionName=name)
            else:
                aws.put_function_concurrency(
                    FunctionName=name,
                    ReservedConcurrentExecutions=int(new["ReservedConcurrentExecutions"]),
                )
        if old.get("Tags") != new.get("Tags"):
            arn = current.attributes.get("Arn", "")
            gone = set(_tags(req, old.get("Tags"))) - set(_tags(req, new.get("Tags")))
            if gone:
                aws.untag_resource(Resource=arn, TagKeys=sorted(gone))
            tags = _tags(req, new.get("Tags"))
            if tags:
                aws.tag_resource(Resource=arn, Tags=tags)
        return Result(name, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(lambda: self.aws(req).delete_function(FunctionName=name))


class Permission(Handler):
    resource_type = "AWS::Lambda::Permission"
    service = "Lambda"
    _KEYS = (
        "FunctionName",
        "Action",
        "Principal",
        "SourceArn",
        "SourceAccount",
        "EventSourceToken",
        "PrincipalOrgID",
        "FunctionUrlAuthType",
    )

    def create(self, req: ResourceRequest) -> Result:
        req.require("FunctionName", "Action", "Principal")
        p = req.properties
        statement = req.physical_name(100)
        params = {k: p[k] for k in self._KEYS if k in p}
        req.client("lambda").add_permission(
            **api_params("lambda", "AddPermission", {**params, "StatementId": statement})
        )
        return Result(statement)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        function, statement = current.properties.get("FunctionName"), current.physical_id
        ignore_missing(
            lambda: req.client("lambda").remove_permission(
                FunctionName=function, StatementId=statement
            )
        )


class Version(Handler):
    resource_type = "AWS::Lambda::Version"
    service = "Lambda"
    attributes = ("FunctionArn", "Version")

    def create(self, req: ResourceRequest) -> Result:
        req.require("FunctionName")
        p = req.properties
        params = {k: p[k] for k in ("FunctionName", "Description", "CodeSha256") if k in p}
        answer = req.client("lambda").publish_version(**params)
        arn = answer["FunctionArn"]
        return Result(arn, {"Version": answer["Version"], "FunctionArn": arn})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id or ""
        function, _, version = arn.rpartition(":")
        ignore_missing(
            lambda: req.client("lambda").delete_function(FunctionName=function, Qualifier=version),
            "ResourceConflictException",
        )


class Alias(Handler):
    resource_type = "AWS::Lambda::Alias"
    service = "Lambda"
    attributes = ("AliasArn",)
    _KEYS = ("FunctionName", "Name", "FunctionVersion", "Description", "RoutingConfig")

    def create(self, req: ResourceRequest) -> Result:
        req.require("FunctionName", "Name", "FunctionVersion")
        params = {k: req.properties[k] for k in self._KEYS if k in req.properties}
        answer = req.client("lambda").create_alias(**api_params("lambda", "CreateAlias", params))
        return Result(answer["AliasArn"], {"AliasArn": answer["AliasArn"]})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if any(old.get(k) != new.get(k) for k in ("FunctionName", "Name")):
            raise NeedsReplacement()
        params = {k: new[k] for k in self._KEYS if k in new}
        req.client("lambda").update_alias(**api_params("lambda", "UpdateAlias", params))
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        p = current.properties
        ignore_missing(
            lambda: req.client("lambda").delete_alias(
                FunctionName=p["FunctionName"], Name=p["Name"]
            )
        )


class EventSourceMapping(Handler):
    resource_type = "AWS::Lambda::EventSourceMapping"
    service = "Lambda"
    attributes = ("Id", "EventSourceMappingArn")
    _FIXED = (
        "EventSourceArn",
        "StartingPosition",
        "StartingPositionTimestamp",
        "SelfManagedEventSource",
    )

    def create(self, req: ResourceRequest) -> Result:
        req.require("FunctionName")
        params = dict(req.properties)
        if isinstance(params.get("Tags"), list):
            params["Tags"] = _tags(req, params["Tags"])
        answer = req.client("lambda").create_event_source_mapping(
            **api_params("lambda", "CreateEventSourceMapping", params)
        )
        uuid = answer["UUID"]
        return Result(
            uuid, {"Id": uuid, "EventSourceMappingArn": answer.get("EventSourceMappingArn", "")}
        )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if any(old.get(k) != new.get(k) for k in self._FIXED):
            raise NeedsReplacement()
        params = {k: v for k, v in new.items() if k not in (*self._FIXED, "Tags")}
        params["UUID"] = current.physical_id
        req.client("lambda").update_event_source_mapping(
            **api_params("lambda", "UpdateEventSourceMapping", params)
        )
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        uuid = current.physical_id
        try:
            req.client("lambda").delete_event_source_mapping(UUID=uuid)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise


HANDLERS: list[Handler] = [Function(), Permission(), Version(), Alias(), EventSourceMapping()]
