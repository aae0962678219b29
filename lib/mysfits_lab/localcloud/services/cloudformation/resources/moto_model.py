"""Resource types no handler of ours covers but moto's own CloudFormation models create (ECS,
ELBv2, ECR, SQS, Kinesis, SageMaker, ...): created by moto's model class in-process, as moto's
stacks do, with our engine's order, events and rollback around them.

moto's models record the resource in moto's backend directly (no provider sees the call), and
some cannot delete what they created: those deletions are reported DELETE_SKIPPED with the
reason instead of pretending.
"""

from __future__ import annotations

import threading
from typing import Any

from ....constants import ACCOUNT_ID
from ..errors import NeedsReplacement, ResourceFailed, Retained
from ..models import StackResource
from .base import Handler, ResourceRequest, Result

_lock = threading.Lock()  # moto's lazily built model map is not built twice


def model_class(resource_type: str) -> Any:
    with _lock:
        from moto.cloudformation.parsing import get_model_map

        return get_model_map().get(resource_type)


def _abstract(method: Any) -> bool:
    return getattr(method, "__isabstractmethod__", False)


class MotoModel(Handler):
    service = "moto"
    attributes = None  # the model class answers has_cfn_attr

    def __init__(self, resource_type: str, cls: Any):
        self.resource_type = resource_type  # type: ignore[misc]
        self.cls = cls

    def has_attribute(self, name: str) -> bool:
        try:
            return bool(self.cls.has_cfn_attr(name))
        except Exception:  # noqa: BLE001 - models that do not say
            return True

    def _name(self, req: ResourceRequest) -> str:
        name_property = self.cls.cloudformation_name_type()
        if name_property and req.properties.get(name_property):
            return str(req.properties[name_property])
        return req.physical_name(32 if "ElasticLoadBalancingV2" in self.resource_type else 64)

    def create(self, req: ResourceRequest) -> Result:
        definition = {"Type": self.resource_type, "Properties": dict(req.properties)}
        try:
            model = self.cls.create_from_cloudformation_json(
                self._name(req),
                definition,
                ACCOUNT_ID,
                req.region,
                LogicalId=req.logical_id,
                StackId=req.stack.stack_id,
                ResourceType=self.resource_type,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ResourceFailed(
                f"moto could not create this {self.resource_type} ({type(exc).__name__}: {exc}); "
                "check its properties against the CloudFormation reference"
            ) from None
        model.cf_resource_type = self.resource_type
        model.logical_resource_id = req.logical_id
        self._tag(req, model)
        return Result(str(model.physical_resource_id), handle=model)

    def _tag(self, req: ResourceRequest, model: Any) -> None:
        from moto.ec2.models import ec2_backends
        from moto.ec2.models.core import TaggedEC2Resource

        if isinstance(model, TaggedEC2Resource):
            tags = {t["Key"]: t["Value"] for t in req.tag_list(cloudformation=True)}
            ec2_backends[ACCOUNT_ID][req.region].create_tags([model.physical_resource_id], tags)

    def attribute(self, resource: StackResource, name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        try:
            return resource.handle.get_cfn_attribute(name)
        except (UnformattedGetAttTemplateException, NotImplementedError, AttributeError):
            raise ResourceFailed(
                f"Template error: resource {resource.logical_id} does not support attribute "
                f"type {name} in Fn::GetAtt"
            ) from None

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        if _abstract(self.cls.update_from_cloudformation_json) or current.handle is None:
            raise NeedsReplacement()
        model = self.cls.update_from_cloudformation_json(
            original_resource=current.handle,
            new_resource_name=self._name(req),
            cloudformation_json={"Type": self.resource_type, "Properties": dict(req.properties)},
            account_id=ACCOUNT_ID,
            region_name=req.region,
        )
        model.cf_resource_type = self.resource_type
        model.logical_resource_id = req.logical_id
        return Result(str(model.physical_resource_id), handle=model)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        model = current.handle
        delete = getattr(model, "delete", None)
        if callable(delete):
            try:
                delete(ACCOUNT_ID, req.region)
                return
            except (TypeError, AttributeError):
                pass
        if not _abstract(self.cls.delete_from_cloudformation_json):
            self.cls.delete_from_cloudformation_json(
                current.physical_id,
                {"Type": self.resource_type, "Properties": current.properties},
                ACCOUNT_ID,
                req.region,
            )
            return
        raise Retained(
            f"the local cloud (moto) cannot delete {self.resource_type}; {current.physical_id} "
            "is left in place"
        )
