"""Which handler makes a resource type: ours through the AWS API, else moto's own model class,
else a refusal that fails the resource naming its type."""

from __future__ import annotations

import re

from . import (
    apigateway_api,
    apigateway_methods,
    apigateway_stage,
    awslambda,
    codecommit,
    cognito,
    dynamodb,
    ec2,
    ec2_egress,
    ec2_network,
    firehose,
    iam,
    logs,
    s3,
    shaped,
    sns,
)
from .base import Handler
from .moto_model import MotoModel, model_class
from .special import NestedStack, Unsupported, WaitConditionHandle

_OURS: dict[str, Handler] = {
    handler.resource_type: handler
    for handler in (
        *ec2_network.HANDLERS,
        *ec2_egress.HANDLERS,
        *ec2.HANDLERS,
        *iam.HANDLERS,
        *s3.HANDLERS,
        *dynamodb.HANDLERS,
        *sns.HANDLERS,
        *logs.HANDLERS,
        *firehose.HANDLERS,
        *cognito.HANDLERS,
        *codecommit.HANDLERS,
        *awslambda.HANDLERS,
        *apigateway_api.HANDLERS,
        *apigateway_stage.HANDLERS,
        *apigateway_methods.HANDLERS,
        *shaped.HANDLERS,
        NestedStack(),
        WaitConditionHandle(),
    )
}
# moto's model classes for these record nothing useful, or record in the wrong place.
_NEVER_MOTO = {
    "AWS::CloudFormation::WaitCondition",
    "AWS::CloudFormation::CustomResource",
}
AWS_TYPE = re.compile(r"^(AWS|Alexa)::[A-Za-z0-9]+::[A-Za-z0-9]+$|^Custom::[A-Za-z0-9_@-]+$")


def handler_for(resource_type: str) -> Handler:
    if resource_type in _OURS:
        return _OURS[resource_type]
    if resource_type not in _NEVER_MOTO and not resource_type.startswith("Custom::"):
        cls = model_class(resource_type)
        if cls is not None:
            return MotoModel(resource_type, cls)
    return Unsupported(resource_type)


def created_by_api() -> list[str]:
    return sorted(_OURS)


def is_aws_type(resource_type: str) -> bool:
    return bool(AWS_TYPE.match(resource_type))
