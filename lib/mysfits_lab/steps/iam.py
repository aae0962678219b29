"""IAM roles that AWS services assume on a learner's behalf: one call per role.

SageMaker's execution role today; the Lambda, Firehose, API Gateway and CodePipeline roles of
later modules are each one ``ensure_role`` with their service and policies.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..lab import Lab
from .aws_errors import error_code


def trust_policy(service: str) -> dict[str, Any]:
    """Lets ``service`` (e.g. ``lambda.amazonaws.com``) assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def ensure_role(
    lab: Lab,
    name: str,
    service: str,
    *,
    managed_policies: tuple[str, ...] = (),
    inline_policies: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Get or create role ``name`` for ``service`` with these policies attached; its ARN.

    Policies are (re)applied on every call, so a rerun after a policy change updates the role.
    """
    iam = lab.client("iam")
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError:
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(service)),
            Tags=lab.tag_list(),
        )["Role"]["Arn"]
    for policy_arn in managed_policies:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    for policy_name, document in (inline_policies or {}).items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return arn


def delete_role(lab: Lab, name: str) -> list[str]:
    """Detach and delete the role's policies, then the role; what was removed."""
    iam = lab.client("iam")
    try:
        inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return []
        raise
    for policy_name in inline:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)
    return [f"IAM role {name}"]
