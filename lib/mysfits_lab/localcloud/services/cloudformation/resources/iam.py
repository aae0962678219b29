"""IAM roles, inline and managed policies, instance profiles through the IAM API."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..models import StackResource
from .base import Handler, ResourceRequest, Result, ignore_missing


def document(value: Any, inline: bool = True) -> str:
    """A policy document as IAM takes it: JSON text. moto refuses a permissions policy without
    ``Version`` ("must be version 2012-10-17 or greater"); IAM takes it (2008-10-17 is then
    implied), and the workshop's roles have such policies: the version is added for moto."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value  # IAM answers MalformedPolicyDocument
    if inline and isinstance(value, dict) and "Version" not in value:
        value = {"Version": "2012-10-17", **value}
    return json.dumps(value)


class IamHandler(Handler):
    service = "Iam"

    def iam(self, req: ResourceRequest) -> Any:
        return req.client("iam")


def _policies(value: Any) -> dict[str, Any]:
    return {
        str(p["PolicyName"]): p.get("PolicyDocument")
        for p in value or []
        if isinstance(p, dict) and "PolicyName" in p
    }


class Role(IamHandler):
    resource_type = "AWS::IAM::Role"
    attributes = ("Arn", "RoleId")
    name_property = "RoleName"

    def create(self, req: ResourceRequest) -> Result:
        req.require("AssumeRolePolicyDocument")
        p = req.properties
        name = p.get("RoleName") or req.physical_name(64)
        params: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": document(p["AssumeRolePolicyDocument"], inline=False),
            "Path": p.get("Path", "/"),
        }
        for key in ("Description", "PermissionsBoundary"):
            if p.get(key):
                params[key] = p[key]
        if p.get("MaxSessionDuration"):
            params["MaxSessionDuration"] = int(p["MaxSessionDuration"])
        tags = req.tag_list(p.get("Tags"))
        if tags:
            params["Tags"] = tags
        role = self.iam(req).create_role(**params)["Role"]
        try:
            for arn in p.get("ManagedPolicyArns") or []:
                self.iam(req).attach_role_policy(RoleName=name, PolicyArn=arn)
            for policy, doc in _policies(p.get("Policies")).items():
                self.iam(req).put_role_policy(
                    RoleName=name, PolicyName=policy, PolicyDocument=document(doc)
                )
        except ClientError:
            self._remove(req, name)  # nothing half-made is left for the rollback to miss
            raise
        return Result(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if (new.get("RoleName") or current.physical_id) != current.physical_id or new.get(
            "Path", "/"
        ) != old.get("Path", "/"):
            from ..errors import NeedsReplacement

            raise NeedsReplacement()
        name, iam = current.physical_id or "", self.iam(req)
        if new.get("AssumeRolePolicyDocument") != old.get("AssumeRolePolicyDocument"):
            iam.update_assume_role_policy(
                RoleName=name,
                PolicyDocument=document(new["AssumeRolePolicyDocument"], inline=False),
            )
        if new.get("Description") != old.get("Description") or new.get(
            "MaxSessionDuration"
        ) != old.get("MaxSessionDuration"):
            params: dict[str, Any] = {"RoleName": name, "Description": new.get("Description", "")}
            if new.get("MaxSessionDuration"):
                params["MaxSessionDuration"] = int(new["MaxSessionDuration"])
            iam.update_role(**params)
        before, after = (
            set(old.get("ManagedPolicyArns") or []),
            set(new.get("ManagedPolicyArns") or []),
        )
        for arn in sorted(after - before):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for arn in sorted(before - after):
            ignore_missing(lambda arn=arn: iam.detach_role_policy(RoleName=name, PolicyArn=arn))
        old_policies, new_policies = _policies(old.get("Policies")), _policies(new.get("Policies"))
        for policy, doc in new_policies.items():
            if old_policies.get(policy) != doc:
                iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=document(doc))
        for policy in set(old_policies) - set(new_policies):
            ignore_missing(
                lambda policy=policy: iam.delete_role_policy(RoleName=name, PolicyName=policy)
            )
        if new.get("Tags") != old.get("Tags"):
            gone = {t["Key"] for t in old.get("Tags") or []} - {
                t["Key"] for t in new.get("Tags") or []
            }
            if gone:
                iam.untag_role(RoleName=name, TagKeys=sorted(gone))
            tags = req.tag_list(new.get("Tags"))
            if tags:
                iam.tag_role(RoleName=name, Tags=tags)
        return Result(name, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        self._remove(req, current.physical_id or "")

    def _remove(self, req: ResourceRequest, name: str) -> None:
        iam = self.iam(req)
        try:
            policies = iam.list_role_policies(RoleName=name)["PolicyNames"]
            attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            profiles = iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return
            raise
        for policy in policies:
            ignore_missing(lambda p=policy: iam.delete_role_policy(RoleName=name, PolicyName=p))
        for policy in attached:
            ignore_missing(
                lambda a=policy: iam.detach_role_policy(RoleName=name, PolicyArn=a["PolicyArn"])
            )
        for profile in profiles:
            ignore_missing(
                lambda p=profile: iam.remove_role_from_instance_profile(
                    InstanceProfileName=p["InstanceProfileName"], RoleName=name
                )
            )
        ignore_missing(lambda: iam.delete_role(RoleName=name))


_TARGETS = (
    ("Roles", "role", "RoleName"),
    ("Users", "user", "UserName"),
    ("Groups", "group", "GroupName"),
)


class Policy(IamHandler):
    """AWS::IAM::Policy: one inline policy put on each role, user and group named."""

    resource_type = "AWS::IAM::Policy"
    attributes = ("Id",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("PolicyName", "PolicyDocument")
        if not any(req.properties.get(key) for key, _, _ in _TARGETS):
            from ..errors import ResourceFailed

            raise ResourceFailed(
                f"Properties validation failed for resource {req.logical_id} with message: "
                "At least one of [Groups,Roles,Users] must be non-empty."
            )
        self._put(req, req.properties)
        physical = req.physical_name(64)
        return Result(physical, {"Id": physical})

    def _put(self, req: ResourceRequest, p: dict[str, Any]) -> None:
        iam = self.iam(req)
        doc = document(p["PolicyDocument"])
        for key, kind, argument in _TARGETS:
            for target in p.get(key) or []:
                getattr(iam, f"put_{kind}_policy")(
                    **{argument: target}, PolicyName=p["PolicyName"], PolicyDocument=doc
                )

    def _remove(self, req: ResourceRequest, p: dict[str, Any], keep: dict[str, Any]) -> None:
        iam = self.iam(req)
        for key, kind, argument in _TARGETS:
            kept = (
                set(keep.get(key) or []) if keep.get("PolicyName") == p.get("PolicyName") else set()
            )
            for target in p.get(key) or []:
                if target not in kept:
                    ignore_missing(
                        lambda target=target, kind=kind, argument=argument: getattr(
                            iam, f"delete_{kind}_policy"
                        )(**{argument: target}, PolicyName=p["PolicyName"])
                    )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self._put(req, req.properties)
        self._remove(req, current.properties, req.properties)
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        self._remove(req, current.properties, {})


class ManagedPolicy(IamHandler):
    resource_type = "AWS::IAM::ManagedPolicy"
    attributes = (
        "AttachmentCount",
        "CreateDate",
        "DefaultVersionId",
        "IsAttachable",
        "PermissionsBoundaryUsageCount",
        "PolicyArn",
        "PolicyId",
        "UpdateDate",
    )
    name_property = "ManagedPolicyName"

    def create(self, req: ResourceRequest) -> Result:
        req.require("PolicyDocument")
        p = req.properties
        params: dict[str, Any] = {
            "PolicyName": p.get("ManagedPolicyName") or req.physical_name(128),
            "PolicyDocument": document(p["PolicyDocument"]),
            "Path": p.get("Path", "/"),
        }
        if p.get("Description"):
            params["Description"] = p["Description"]
        policy = self.iam(req).create_policy(**params)["Policy"]
        arn = policy["Arn"]
        try:
            self._attach(req, arn, {}, p)
        except ClientError:
            self._remove(req, arn, p)
            raise
        return Result(arn, self._attributes(policy))

    @staticmethod
    def _attributes(policy: dict[str, Any]) -> dict[str, Any]:
        return {
            "PolicyArn": policy["Arn"],
            "PolicyId": policy.get("PolicyId", ""),
            "AttachmentCount": policy.get("AttachmentCount", 0),
            "CreateDate": str(policy.get("CreateDate", "")),
            "UpdateDate": str(policy.get("UpdateDate", "")),
            "DefaultVersionId": policy.get("DefaultVersionId", "v1"),
            "IsAttachable": policy.get("IsAttachable", True),
            "PermissionsBoundaryUsageCount": policy.get("PermissionsBoundaryUsageCount", 0),
        }

    def _attach(self, req: ResourceRequest, arn: str, old: dict, new: dict) -> None:
        iam = self.iam(req)
        for key, kind, argument in _TARGETS:
            before, after = set(old.get(key) or []), set(new.get(key) or [])
            for target in sorted(after - before):
                getattr(iam, f"attach_{kind}_policy")(**{argument: target}, PolicyArn=arn)
            for target in sorted(before - after):
                ignore_missing(
                    lambda t=target, kind=kind, argument=argument: getattr(
                        iam, f"detach_{kind}_policy"
                    )(**{argument: t}, PolicyArn=arn)
                )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if new.get("ManagedPolicyName") != old.get("ManagedPolicyName") or new.get(
            "Path", "/"
        ) != old.get("Path", "/"):
            from ..errors import NeedsReplacement

            raise NeedsReplacement()
        arn, iam = current.physical_id or "", self.iam(req)
        if new.get("PolicyDocument") != old.get("PolicyDocument"):
            versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
            if len(versions) >= 5:
                oldest = min(
                    (v for v in versions if not v["IsDefaultVersion"]),
                    key=lambda v: v["CreateDate"],
                )
                iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
            iam.create_policy_version(
                PolicyArn=arn, PolicyDocument=document(new["PolicyDocument"]), SetAsDefault=True
            )
        self._attach(req, arn, old, new)
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        return Result(arn, self._attributes(policy))

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        self._remove(req, current.physical_id or "", current.properties)

    def _remove(self, req: ResourceRequest, arn: str, properties: dict[str, Any]) -> None:
        iam = self.iam(req)
        self._attach(req, arn, properties, {})
        try:
            versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return
            raise
        for version in versions:
            if not version["IsDefaultVersion"]:
                ignore_missing(
                    lambda v=version: iam.delete_policy_version(
                        PolicyArn=arn, VersionId=v["VersionId"]
                    )
                )
        ignore_missing(lambda: iam.delete_policy(PolicyArn=arn))


class InstanceProfile(IamHandler):
    resource_type = "AWS::IAM::InstanceProfile"
    attributes = ("Arn",)
    name_property = "InstanceProfileName"

    def create(self, req: ResourceRequest) -> Result:
        req.require("Roles")
        p = req.properties
        name = p.get("InstanceProfileName") or req.physical_name(128)
        profile = self.iam(req).create_instance_profile(
            InstanceProfileName=name, Path=p.get("Path", "/")
        )["InstanceProfile"]
        for role in p.get("Roles") or []:
            self.iam(req).add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
        return Result(name, {"Arn": profile["Arn"]})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        iam, name = self.iam(req), current.physical_id or ""
        for role in current.properties.get("Roles") or []:
            ignore_missing(
                lambda r=role: iam.remove_role_from_instance_profile(
                    InstanceProfileName=name, RoleName=r
                )
            )
        ignore_missing(lambda: iam.delete_instance_profile(InstanceProfileName=name))


HANDLERS: list[Handler] = [Role(), Policy(), ManagedPolicy(), InstanceProfile()]
