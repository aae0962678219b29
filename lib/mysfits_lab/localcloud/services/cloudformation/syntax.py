"""The shape of CloudFormation's intrinsic functions, shared by resolving (``intrinsics.py``)
and by reading a template before it runs (``references.py``, ``plan.py``): the names of the
functions and pseudo parameters, and the arguments of ``Fn::GetAtt`` and ``Fn::Sub``."""

from __future__ import annotations

import re
from typing import Any

from .errors import TemplateError

PSEUDO_PARAMETERS = (
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
)
FUNCTIONS = (
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::FindInMap",
    "Fn::GetAtt",
    "Fn::GetAZs",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::Transform",
    "Ref",
)
CONDITION_FUNCTIONS = ("Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or", "Condition")
SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class IntrinsicError(TemplateError):
    """A function that cannot be evaluated (a ValidationError when found before creation)."""


def is_function(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or (isinstance(key, str) and key.startswith("Fn::"))


def get_att_parts(argument: Any) -> tuple[str, Any]:
    if isinstance(argument, str) and "." in argument:
        resource, _, attribute = argument.partition(".")
        return resource, attribute
    if (
        isinstance(argument, list)
        and len(argument) == 2
        and isinstance(argument[0], str)
        and argument[1] is not None
    ):
        return argument[0], argument[1]
    raise IntrinsicError(
        "Template error: every Fn::GetAtt object requires two non-empty parameters"
    )


def sub_parts(argument: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(argument, str):
        return argument, {}
    if (
        isinstance(argument, list)
        and len(argument) == 2
        and isinstance(argument[0], str)
        and isinstance(argument[1], dict)
    ):
        return argument[0], argument[1]
    raise IntrinsicError(
        "Template error: Fn::Sub takes a string, or a string and a map of variables"
    )
