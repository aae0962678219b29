"""CloudFormation's own resource types, and the refusal of a type the local cloud cannot make
(moto's stacks skip such types silently and report CREATE_COMPLETE)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ResourceFailed
from ..models import StackResource
from .base import Handler, ResourceRequest, Result

# Types AWS has and the local cloud cannot create, with what to do instead.
ADVICE = {
    "AWS::CloudFormation::CustomResource": "custom resources need a handler that signals a "
    "presigned URL, which the local cloud does not serve",
    "AWS::CloudFormation::WaitCondition": "nothing on the local cloud signals wait conditions",
    "AWS::CloudFormation::Macro": "macros are not supported; only the "
    "AWS::Serverless-2016-10-31 transform is",
}


class Unsupported(Handler):
    """Fails the resource with a reason naming its type."""

    attributes = None

    def __init__(self, resource_type: str):
        self.resource_type = resource_type  # type: ignore[misc]

    def create(self, req: ResourceRequest) -> Result:
        if self.resource_type.startswith("Custom::"):
            advice = ADVICE["AWS::CloudFormation::CustomResource"]
        else:
            advice = ADVICE.get(
                self.resource_type,
                "create it with its service's API instead, or deploy this template on AWS",
            )
        raise ResourceFailed(
            f"Resource type {self.resource_type} is not supported by the local cloud: {advice}"
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        return None  # nothing was made


class WaitConditionHandle(Handler):
    resource_type = "AWS::CloudFormation::WaitConditionHandle"

    def create(self, req: ResourceRequest) -> Result:
        # AWS gives a presigned URL to signal; nothing here signals it, but templates Ref it.
        return Result(
            f"https://cloudformation-waitcondition-{req.region}.s3.amazonaws.com/{uuid.uuid4()}"
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        return None


class NestedStack(Handler):
    """AWS::CloudFormation::Stack: a stack of its own, made through this cloud's
    CloudFormation API; ``Fn::GetAtt`` reads ``Outputs.<key>``."""

    resource_type = "AWS::CloudFormation::Stack"
    service = "CloudFormation"
    attributes = None

    def create(self, req: ResourceRequest) -> Result:
        req.require("TemplateURL")
        p = req.properties
        cfn = req.client("cloudformation")
        params: dict[str, Any] = {
            "StackName": req.physical_name(128),
            "TemplateURL": p["TemplateURL"],
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            "DisableRollback": True,  # the parent rolls back, deleting the child
        }
        if p.get("Parameters"):
            params["Parameters"] = [
                {"ParameterKey": k, "ParameterValue": _text(v)} for k, v in p["Parameters"].items()
            ]
        tags = req.tag_list(p.get("Tags"))
        if tags:
            params["Tags"] = tags
        if p.get("TimeoutInMinutes"):
            params["TimeoutInMinutes"] = int(p["TimeoutInMinutes"])
        stack_id = cfn.create_stack(**params)["StackId"]
        stack = _settle(cfn, stack_id)
        if stack["StackStatus"] != "CREATE_COMPLETE":
            _delete(cfn, stack_id)
            raise ResourceFailed(
                f"Embedded stack {stack_id} was not successfully created: "
                f"{stack.get('StackStatusReason', stack['StackStatus'])}"
            )
        return Result(stack_id, _outputs(stack))

    def attribute(self, resource: StackResource, name: str) -> Any:
        if name in resource.attributes:
            return resource.attributes[name]
        raise ResourceFailed(
            f"Template error: resource {resource.logical_id} does not support attribute type "
            f"{name} in Fn::GetAtt"
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        _delete(req.client("cloudformation"), current.physical_id or "")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _outputs(stack: dict[str, Any]) -> dict[str, Any]:
    return {f"Outputs.{o['OutputKey']}": o["OutputValue"] for o in stack.get("Outputs", [])}


def _settle(cfn: Any, stack_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)


def _delete(cfn: Any, stack_id: str) -> None:
    try:
        cfn.delete_stack(StackName=stack_id)
        stack = _settle(cfn, stack_id)
    except ClientError:
        return
    if stack["StackStatus"] == "DELETE_FAILED":
        raise ResourceFailed(
            f"Embedded stack {stack_id} failed to delete: {stack.get('StackStatusReason', '')}"
        )
