"""The contract of a resource handler: create, update, delete one resource type through the
cloud's own AWS API (so the providers see what a stack makes), and give its ``Ref`` and
``Fn::GetAtt`` values.

A handler gets the resource's properties resolved (every intrinsic function evaluated) and
turns them into API parameters; ``api_params`` converts the template's scalars to what the
operation's input shape wants, as CloudFormation does ("5" for an integer, ``-1`` for a
string, "True" for a boolean).
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.model import Shape

from ....edge.catalog import operation_model
from ..errors import NeedsReplacement, ResourceFailed, missing_properties
from ..models import StackResource

_SUFFIX = string.ascii_uppercase + string.digits


@dataclass
class StackInfo:
    name: str
    stack_id: str
    region: str
    tags: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ResourceRequest:
    logical_id: str
    resource_type: str
    properties: dict[str, Any]
    stack: StackInfo
    client: Callable[[str], Any]  # boto3 client of a service, in the stack's region

    @property
    def region(self) -> str:
        return self.stack.region

    def physical_name(self, max_length: int = 64, lower: bool = False) -> str:
        """A name as CloudFormation generates one: ``<stack>-<logical id>-<random>``, cut to
        fit ``max_length``."""
        suffix = "".join(random.choices(_SUFFIX, k=12))  # noqa: S311 - a name, not a secret
        room = max(2, max_length - len(suffix) - 2)
        stack, logical = self.stack.name, self.logical_id
        if len(stack) + len(logical) + 1 > room:
            stack_room = max(1, room // 2)
            stack = stack[:stack_room]
            logical = logical[: max(1, room - len(stack) - 1)]
        name = f"{stack}-{logical}-{suffix}"
        return name.lower() if lower else name

    def tag_list(
        self, own: Any = None, cloudformation: bool = False, key: str = "Key", value: str = "Value"
    ) -> list[dict[str, str]]:
        """The resource's own tags, the stack's tags, and CloudFormation's ``aws:`` tags (only
        where the service takes them: EC2)."""
        tags: dict[str, str] = {}
        for tag in self.stack.tags:
            tags[tag["Key"]] = tag["Value"]
        if cloudformation:
            tags["aws:cloudformation:stack-name"] = self.stack.name
            tags["aws:cloudformation:stack-id"] = self.stack.stack_id
            tags["aws:cloudformation:logical-id"] = self.logical_id
        for tag in own or []:
            if isinstance(tag, dict) and "Key" in tag:
                tags[str(tag["Key"])] = str(tag.get("Value", ""))
        return [{key: k, value: v} for k, v in tags.items()]

    def tag_map(self, own: Any = None) -> dict[str, str]:
        own_list = (
            [{"Key": k, "Value": v} for k, v in own.items()] if isinstance(own, dict) else own
        )
        return {t["Key"]: t["Value"] for t in self.tag_list(own_list)}

    def require(self, *names: str) -> None:
        missing = [n for n in names if self.properties.get(n) in (None, "")]
        if missing:
            raise missing_properties(self.logical_id, missing)


@dataclass
class Result:
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    handle: Any = None
    ref: str | None = None  # what Ref gives, when it is not the physical id


class Handler:
    """One resource type. ``attributes`` lists what Fn::GetAtt may ask (None: the handler
    decides when asked)."""

    resource_type: ClassVar[str]
    service: ClassVar[str] = ""  # the service's name in a failure's reason (Ec2, Iam, ...)
    attributes: ClassVar[tuple[str, ...] | None] = ()
    # A property that names the resource: replacing such a resource cannot keep its name.
    name_property: ClassVar[str | None] = None

    def create(self, req: ResourceRequest) -> Result:
        raise NotImplementedError

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        """Change the resource in place, or raise NeedsReplacement."""
        raise NeedsReplacement()

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        raise NotImplementedError

    def has_attribute(self, name: str) -> bool:
        return self.attributes is None or name in self.attributes

    def attribute(self, resource: StackResource, name: str) -> Any:
        if name in resource.attributes:
            return resource.attributes[name]
        raise ResourceFailed(
            f"Template error: resource {resource.logical_id} does not support attribute type "
            f"{name} in Fn::GetAtt"
        )


# -- helpers ---------------------------------------------------------------------------------
def api_params(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` converted to the operation's input shape where a template's scalar stands
    for another type; members the shape does not know are left for botocore to refuse."""
    shape = operation_model(service, operation).input_shape
    return coerce_value(params, shape) if shape is not None else params


def coerce_value(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: coerce_value(v, members[k]) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce_value(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(k): coerce_value(v, shape.value) for k, v in value.items()}
    if kind == "string":
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        return value
    if kind in ("integer", "long") and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    if kind in ("float", "double") and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "blob" and isinstance(value, str):
        return value.encode()
    return value


def changed(old: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(old.get(k) != new.get(k) for k in keys)


def boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def wait_until(
    check: Callable[[], bool | str], what: str, timeout: float = 120.0, interval: float = 0.1
) -> None:
    """Stabilisation, as CloudFormation waits for it: ``check`` returns True when done, a
    string (the reason) when it failed."""
    deadline = time.monotonic() + timeout
    while True:
        state = check()
        if state is True:
            return
        if isinstance(state, str):
            raise ResourceFailed(state)
        if time.monotonic() > deadline:
            raise ResourceFailed(f"Resource did not stabilize: {what} within {timeout:.0f} s")
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)


def ignore_missing(action: Callable[[], Any], *codes: str) -> None:
    """Run a deletion; what is already gone counts as deleted."""
    from botocore.exceptions import ClientError

    try:
        action()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        gone = {"NoSuchEntity", "NotFoundException", "ResourceNotFoundException", "NoSuchBucket"}
        if code in gone | set(codes) or code.endswith(".NotFound"):
            return
        raise
