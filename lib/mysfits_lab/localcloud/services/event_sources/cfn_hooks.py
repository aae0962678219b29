"""Where this provider meets moto's CloudFormation inside the process.

A stack's ``AWS::Lambda::EventSourceMapping`` is created by moto's own resource class, in
moto's Lambda backend — and once moto holds a mapping for a table, every PutItem on that table
fails with a 500 without Docker. ``install()`` makes that resource class create, update and
delete its mapping through this provider while a cloud runs (a stand-in object is what the
stack keeps: its ``Ref`` is the mapping's UUID, ``Fn::GetAtt`` gives ``Id`` and
``EventSourceMappingArn``); ``uninstall()`` puts moto's methods back when the last cloud of the
process stops. The hooks are process-wide because moto's backends are.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from ...edge import ServiceError

# CloudFormation gives numbers and booleans as the template wrote them ("5", "true").
_INTEGERS = {
    "BatchSize": (1, 10000),
    "MaximumBatchingWindowInSeconds": (0, 300),
    "MaximumRetryAttempts": (-1, 10000),
    "MaximumRecordAgeInSeconds": (-1, 604800),
    "ParallelizationFactor": (1, 10),
    "TumblingWindowInSeconds": (0, 900),
}
_BOOLEANS = ("Enabled", "BisectBatchOnFunctionError")
_HOOKED = (
    "create_from_cloudformation_json",
    "update_from_cloudformation_json",
    "delete_from_cloudformation_json",
)


class Owner(Protocol):
    def create_mapping(self, params: dict[str, Any], region: str) -> dict[str, Any]: ...

    def update_mapping(self, params: dict[str, Any], region: str) -> dict[str, Any]: ...

    def delete_mapping(self, uuid: str, region: str) -> dict[str, Any]: ...


_lock = threading.Lock()
_owners: list[Owner] = []
_originals: dict[str, Any] = {}


def install(owner: Owner) -> None:
    with _lock:
        _owners.append(owner)
        if len(_owners) > 1:
            return
        from moto.awslambda.models import EventSourceMapping

        for name, hook in zip(_HOOKED, (_create, _update, _delete), strict=True):
            _originals[name] = EventSourceMapping.__dict__[name]
            setattr(EventSourceMapping, name, classmethod(hook))


def uninstall(owner: Owner) -> None:
    with _lock:
        if owner in _owners:
            _owners.remove(owner)
        if _owners or not _originals:
            return
        from moto.awslambda.models import EventSourceMapping

        for name, original in _originals.items():
            setattr(EventSourceMapping, name, original)
        _originals.clear()


def stack_params(properties: dict[str, Any]) -> dict[str, Any]:
    """A resource's Properties as CreateEventSourceMapping parameters."""
    params = dict(properties)
    for name, (low, high) in _INTEGERS.items():
        if name in params:
            try:
                params[name] = int(params[name])
            except (TypeError, ValueError):
                raise _refused(f"{name} must be a number, not {params[name]!r}") from None
            if not low <= params[name] <= high:
                raise _refused(f"{name} must be between {low} and {high}")
    for name in _BOOLEANS:
        if isinstance(params.get(name), str):
            params[name] = params[name].strip().lower() == "true"
    if isinstance(params.get("Tags"), list):  # [{Key, Value}] in a template, a map in the API
        params["Tags"] = {
            str(tag.get("Key")): str(tag.get("Value", ""))
            for tag in params["Tags"]
            if isinstance(tag, dict)
        }
    return params


class StackMapping:
    """What a stack keeps for its mapping (moto asks it for its id, attributes and deletion).
    Not a moto ``CloudFormationModel``: moto maps resource types to that class's subclasses,
    and this one must not replace moto's own."""

    def __init__(self, answer: dict[str, Any], region: str):
        self.uuid = answer["UUID"]
        self.arn = answer["EventSourceMappingArn"]
        self.region = region

    @property
    def physical_resource_id(self) -> str:
        return self.uuid

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventSourceMapping"

    def is_created(self) -> bool:
        return True

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return attribute in ("Id", "EventSourceMappingArn")

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute == "Id":
            return self.uuid
        if attribute == "EventSourceMappingArn":
            return self.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    def delete(self, account_id: str, region_name: str) -> None:
        _delete(None, self.uuid, {}, account_id, region_name)


def _owner() -> Owner:
    with _lock:
        return _owners[-1]


def _create(
    _cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **_: Any,
) -> StackMapping:
    params = stack_params(cloudformation_json.get("Properties") or {})
    return StackMapping(_call(lambda: _owner().create_mapping(params, region_name)), region_name)


def _update(
    _cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> StackMapping:
    params = stack_params(cloudformation_json.get("Properties") or {})
    # What UpdateEventSourceMapping cannot change stays as it is.
    for fixed in ("EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "Tags"):
        params.pop(fixed, None)
    params["UUID"] = getattr(original_resource, "uuid", "")
    return StackMapping(_call(lambda: _owner().update_mapping(params, region_name)), region_name)


def _delete(
    _cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> None:
    try:
        _owner().delete_mapping(resource_name, region_name)
    except ServiceError as exc:
        if exc.code != "ResourceNotFoundException":  # already gone is deleted
            raise _refused(exc.message) from None


def _call(action: Any) -> dict[str, Any]:
    try:
        return action()
    except ServiceError as exc:
        raise _refused(exc.message) from None


def _refused(message: str) -> Exception:
    """An error moto answers in CloudFormation's protocol (a 400, not a 500)."""
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=f"AWS::Lambda::EventSourceMapping: {message}")
