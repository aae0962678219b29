"""The EC2 handlers' common ground — calls through the EC2 API, CloudFormation's
``aws:cloudformation:*`` tags on each resource, as on AWS — and security groups with their
ingress and egress rules. The network itself is in ``ec2_network`` and ``ec2_egress``."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from ..errors import NeedsReplacement
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing


class Ec2Handler(Handler):
    service = "Ec2"
    # Properties changed in place; any other change replaces the resource.
    mutable: tuple[str, ...] = ("Tags",)

    def ec2(self, req: ResourceRequest) -> Any:
        return req.client("ec2")

    def call(self, req: ResourceRequest, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.ec2(req), _snake(operation))
        return method(**api_params("ec2", operation, params))

    def tag(self, req: ResourceRequest, resource_id: str) -> None:
        tags = req.tag_list(req.properties.get("Tags"), cloudformation=True)
        try:
            self.ec2(req).create_tags(Resources=[resource_id], Tags=tags)
        except ClientError:
            # Should EC2 refuse the reserved aws: prefix from a caller, keep the template's own.
            own = [t for t in tags if not t["Key"].startswith("aws:")]
            if own:
                self.ec2(req).create_tags(Resources=[resource_id], Tags=own)

    def check_update(self, req: ResourceRequest, current: StackResource) -> None:
        changed = {
            key
            for key in {*req.properties, *current.properties}
            if req.properties.get(key) != current.properties.get(key)
        }
        if changed - set(self.mutable):
            raise NeedsReplacement()

    def retag(self, req: ResourceRequest, current: StackResource, resource_id: str) -> None:
        old = {t["Key"] for t in current.properties.get("Tags") or [] if isinstance(t, dict)}
        new = {t["Key"] for t in req.properties.get("Tags") or [] if isinstance(t, dict)}
        gone = sorted(old - new)
        if gone:
            self.ec2(req).delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in gone])
        self.tag(req, resource_id)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# -- security groups ------------------------------------------------------------------------------
def permission(rule: dict[str, Any], direction: str) -> dict[str, Any]:
    """A template's ingress or egress rule as an EC2 IpPermission. Protocol -1 (all) takes no
    ports: AWS ignores them (moto's own CloudFormation fails without them)."""
    protocol = str(rule.get("IpProtocol", "-1")).strip()
    if protocol.lower() == "all":
        protocol = "-1"
    entry: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1":
        for port in ("FromPort", "ToPort"):
            if port in rule:
                entry[port] = rule[port]
    described = {"Description": rule["Description"]} if rule.get("Description") else {}
    if rule.get("CidrIp"):
        entry["IpRanges"] = [{"CidrIp": rule["CidrIp"], **described}]
    if rule.get("CidrIpv6"):
        entry["Ipv6Ranges"] = [{"CidrIpv6": rule["CidrIpv6"], **described}]
    peer = "Source" if direction == "ingress" else "Destination"
    if rule.get(f"{peer}PrefixListId"):
        entry["PrefixListIds"] = [{"PrefixListId": rule[f"{peer}PrefixListId"], **described}]
    pair: dict[str, Any] = {}
    if rule.get(f"{peer}SecurityGroupId"):
        pair["GroupId"] = rule[f"{peer}SecurityGroupId"]
    if rule.get("SourceSecurityGroupName") and direction == "ingress":
        pair["GroupName"] = rule["SourceSecurityGroupName"]
    if rule.get("SourceSecurityGroupOwnerId") and direction == "ingress":
        pair["UserId"] = str(rule["SourceSecurityGroupOwnerId"])
    if pair:
        entry["UserIdGroupPairs"] = [{**pair, **described}]
    return entry


def _authorize(
    handler: Ec2Handler, req: ResourceRequest, group: str, rules: list, direction: str
) -> None:
    if not rules:
        return
    operation = (
        "AuthorizeSecurityGroupIngress"
        if direction == "ingress"
        else "AuthorizeSecurityGroupEgress"
    )
    handler.call(
        req, operation, GroupId=group, IpPermissions=[permission(r, direction) for r in rules]
    )


def _revoke(
    handler: Ec2Handler, req: ResourceRequest, group: str, rules: list, direction: str
) -> None:
    if not rules:
        return
    operation = (
        "RevokeSecurityGroupIngress" if direction == "ingress" else "RevokeSecurityGroupEgress"
    )
    ignore_missing(
        lambda: handler.call(
            req, operation, GroupId=group, IpPermissions=[permission(r, direction) for r in rules]
        ),
        "InvalidPermission.NotFound",
    )


_ALL_EGRESS = {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}


class SecurityGroup(Ec2Handler):
    resource_type = "AWS::EC2::SecurityGroup"
    attributes = ("GroupId", "VpcId")
    mutable = ("Tags", "SecurityGroupIngress", "SecurityGroupEgress")

    def create(self, req: ResourceRequest) -> Result:
        req.require("GroupDescription")
        p = req.properties
        params: dict[str, Any] = {
            "GroupName": p.get("GroupName") or req.physical_name(255),
            "Description": p["GroupDescription"],
        }
        if p.get("VpcId"):
            params["VpcId"] = p["VpcId"]
        group = self.call(req, "CreateSecurityGroup", **params)["GroupId"]
        try:
            self._rules(req, group, {}, p)
            self.tag(req, group)
        except Exception:
            ignore_missing(lambda: self.ec2(req).delete_security_group(GroupId=group))
            raise
        vpc = p.get("VpcId") or self._vpc_of(req, group)
        return Result(
            group,
            {"GroupId": group, "VpcId": vpc},
            ref=group if p.get("VpcId") else params["GroupName"],
        )

    def _vpc_of(self, req: ResourceRequest, group: str) -> str:
        found = self.ec2(req).describe_security_groups(GroupIds=[group])["SecurityGroups"]
        return found[0].get("VpcId", "") if found else ""

    def _rules(
        self, req: ResourceRequest, group: str, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        for key, direction in (
            ("SecurityGroupIngress", "ingress"),
            ("SecurityGroupEgress", "egress"),
        ):
            before = list(old.get(key) or [])
            after = list(new.get(key) or [])
            if direction == "egress":
                # A group starts with "all out"; rules given replace it, as on AWS.
                if key not in old:
                    before = [_ALL_EGRESS]
                if key not in new:
                    after = [_ALL_EGRESS]
            gone = [r for r in before if r not in after]
            added = [r for r in after if r not in before]
            if direction == "egress" and not new.get("VpcId") and not old.get("VpcId"):
                continue  # groups outside a VPC have no egress rules
            _revoke(self, req, group, gone, direction)
            _authorize(self, req, group, added, direction)

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        group = current.physical_id or ""
        self._rules(req, group, current.properties, req.properties)
        self.retag(req, current, group)
        return Result(group, current.attributes, ref=current.ref)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        group = current.physical_id
        ignore_missing(
            lambda: self.ec2(req).delete_security_group(GroupId=group), "InvalidGroup.NotFound"
        )


class SecurityGroupRule(Ec2Handler):
    direction = "ingress"
    attributes = ("Id",)

    def _group(self, req: ResourceRequest, properties: dict[str, Any]) -> str:
        if properties.get("GroupId"):
            return str(properties["GroupId"])
        if properties.get("GroupName") and self.direction == "ingress":
            found = self.ec2(req).describe_security_groups(GroupNames=[properties["GroupName"]])
            return found["SecurityGroups"][0]["GroupId"]
        req.require("GroupId")
        return ""

    def create(self, req: ResourceRequest) -> Result:
        req.require("IpProtocol")
        group = self._group(req, req.properties)
        _authorize(self, req, group, [req.properties], self.direction)
        rule_id = f"sgr-{uuid.uuid4().hex[:17]}"
        return Result(rule_id, {"Id": rule_id})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        group = self._group(req, current.properties)
        _revoke(self, req, group, [current.properties], self.direction)


class SecurityGroupIngress(SecurityGroupRule):
    resource_type = "AWS::EC2::SecurityGroupIngress"


class SecurityGroupEgress(SecurityGroupRule):
    resource_type = "AWS::EC2::SecurityGroupEgress"
    direction = "egress"


HANDLERS: list[Handler] = [
    SecurityGroup(),
    SecurityGroupIngress(),
    SecurityGroupEgress(),
]
