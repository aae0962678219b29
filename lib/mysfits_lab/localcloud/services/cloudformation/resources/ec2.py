"""The network of a stack through the EC2 API: VPC, subnets, gateways, routes, endpoints,
security groups. Each resource carries CloudFormation's ``aws:cloudformation:*`` tags, as on
AWS."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from ..errors import NeedsReplacement, ResourceFailed
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, api_params, boolean, ignore_missing, wait_until


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


class Vpc(Ec2Handler):
    resource_type = "AWS::EC2::VPC"
    attributes = (
        "CidrBlock",
        "CidrBlockAssociations",
        "DefaultNetworkAcl",
        "DefaultSecurityGroup",
        "Ipv6CidrBlocks",
        "VpcId",
    )
    mutable = ("Tags", "EnableDnsSupport", "EnableDnsHostnames")

    def create(self, req: ResourceRequest) -> Result:
        p = req.properties
        if "CidrBlock" not in p and "Ipv4IpamPoolId" not in p:
            req.require("CidrBlock")
        params = {k: p[k] for k in ("CidrBlock", "InstanceTenancy", "Ipv4IpamPoolId") if k in p}
        vpc = self.call(req, "CreateVpc", **params)["Vpc"]
        vpc_id = vpc["VpcId"]
        self._dns(req, vpc_id)
        self.tag(req, vpc_id)
        return Result(vpc_id, self._attributes(req, vpc))

    def _dns(
        self, req: ResourceRequest, vpc_id: str, current: dict[str, Any] | None = None
    ) -> None:
        for name in ("EnableDnsSupport", "EnableDnsHostnames"):
            if name in req.properties and (
                current is None or current.get(name) != req.properties[name]
            ):
                self.ec2(req).modify_vpc_attribute(
                    VpcId=vpc_id, **{name: {"Value": boolean(req.properties[name])}}
                )

    def _attributes(self, req: ResourceRequest, vpc: dict[str, Any]) -> dict[str, Any]:
        ec2, vpc_id = self.ec2(req), vpc["VpcId"]
        in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        groups = ec2.describe_security_groups(
            Filters=[*in_vpc, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"]
        acls = ec2.describe_network_acls(Filters=[*in_vpc, {"Name": "default", "Values": ["true"]}])
        return {
            "VpcId": vpc_id,
            "CidrBlock": vpc.get("CidrBlock"),
            "CidrBlockAssociations": [
                a["AssociationId"] for a in vpc.get("CidrBlockAssociationSet", [])
            ],
            "Ipv6CidrBlocks": [
                a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet", [])
            ],
            "DefaultSecurityGroup": groups[0]["GroupId"] if groups else "",
            "DefaultNetworkAcl": acls["NetworkAcls"][0]["NetworkAclId"]
            if acls.get("NetworkAcls")
            else "",
        }

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        vpc_id = current.physical_id or ""
        self._dns(req, vpc_id, current.properties)
        self.retag(req, current, vpc_id)
        return Result(vpc_id, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        ignore_missing(lambda: self.ec2(req).delete_vpc(VpcId=current.physical_id))


class Subnet(Ec2Handler):
    resource_type = "AWS::EC2::Subnet"
    attributes = (
        "AvailabilityZone",
        "AvailabilityZoneId",
        "CidrBlock",
        "Ipv6CidrBlocks",
        "NetworkAclAssociationId",
        "OutpostArn",
        "SubnetId",
        "VpcId",
    )
    mutable = ("Tags", "MapPublicIpOnLaunch")

    def create(self, req: ResourceRequest) -> Result:
        req.require("VpcId")
        p = req.properties
        keys = ("VpcId", "CidrBlock", "AvailabilityZone", "AvailabilityZoneId", "Ipv6CidrBlock")
        subnet = self.call(req, "CreateSubnet", **{k: p[k] for k in keys if k in p})["Subnet"]
        subnet_id = subnet["SubnetId"]
        if "MapPublicIpOnLaunch" in p:
            self._map_public(req, subnet_id)
        self.tag(req, subnet_id)
        return Result(
            subnet_id,
            {
                "SubnetId": subnet_id,
                "VpcId": subnet["VpcId"],
                "AvailabilityZone": subnet.get("AvailabilityZone"),
                "AvailabilityZoneId": subnet.get("AvailabilityZoneId"),
                "CidrBlock": subnet.get("CidrBlock"),
                "Ipv6CidrBlocks": [
                    a["Ipv6CidrBlock"] for a in subnet.get("Ipv6CidrBlockAssociationSet", [])
                ],
                "NetworkAclAssociationId": "",
                "OutpostArn": subnet.get("OutpostArn", ""),
            },
        )

    def _map_public(self, req: ResourceRequest, subnet_id: str) -> None:
        self.ec2(req).modify_subnet_attribute(
            SubnetId=subnet_id,
            MapPublicIpOnLaunch={"Value": boolean(req.properties.get("MapPublicIpOnLaunch"))},
        )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        subnet_id = current.physical_id or ""
        self._map_public(req, subnet_id)
        self.retag(req, current, subnet_id)
        return Result(subnet_id, current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        ignore_missing(lambda: self.ec2(req).delete_subnet(SubnetId=current.physical_id))


class InternetGateway(Ec2Handler):
    resource_type = "AWS::EC2::InternetGateway"
    attributes = ("InternetGatewayId",)

    def create(self, req: ResourceRequest) -> Result:
        gateway = self.ec2(req).create_internet_gateway()["InternetGateway"]
        gateway_id = gateway["InternetGatewayId"]
        self.tag(req, gateway_id)
        return Result(gateway_id, {"InternetGatewayId": gateway_id})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        self.retag(req, current, current.physical_id or "")
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        gateway = current.physical_id
        ignore_missing(lambda: self.ec2(req).delete_internet_gateway(InternetGatewayId=gateway))


class GatewayAttachment(Ec2Handler):
    resource_type = "AWS::EC2::VPCGatewayAttachment"

    def create(self, req: ResourceRequest) -> Result:
        if req.properties.get("VpnGatewayId"):
            raise ResourceFailed(
                "the local cloud attaches internet gateways only, not VPN gateways"
            )
        req.require("VpcId", "InternetGatewayId")
        p = req.properties
        self.ec2(req).attach_internet_gateway(
            InternetGatewayId=p["InternetGatewayId"], VpcId=p["VpcId"]
        )
        return Result(f"IGW|{p['VpcId']}")

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        p = current.properties
        ignore_missing(
            lambda: self.ec2(req).detach_internet_gateway(
                InternetGatewayId=p["InternetGatewayId"], VpcId=p["VpcId"]
            ),
            "Gateway.NotAttached",
        )


class RouteTable(Ec2Handler):
    resource_type = "AWS::EC2::RouteTable"
    attributes = ("RouteTableId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("VpcId")
        table = self.ec2(req).create_route_table(VpcId=req.properties["VpcId"])["RouteTable"]
        table_id = table["RouteTableId"]
        self.tag(req, table_id)
        return Result(table_id, {"RouteTableId": table_id})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        self.retag(req, current, current.physical_id or "")
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        table = current.physical_id
        ignore_missing(lambda: self.ec2(req).delete_route_table(RouteTableId=table))


_ROUTE_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "VpcEndpointId",
    "EgressOnlyInternetGatewayId",
    "CarrierGatewayId",
    "LocalGatewayId",
    "CoreNetworkArn",
)
_ROUTE_DESTINATIONS = (
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
)


class Route(Ec2Handler):
    resource_type = "AWS::EC2::Route"
    attributes = ("CidrBlock",)
    mutable = _ROUTE_TARGETS

    def _params(self, req: ResourceRequest) -> dict[str, Any]:
        req.require("RouteTableId")
        p = req.properties
        keys = ("RouteTableId", *_ROUTE_DESTINATIONS, *_ROUTE_TARGETS)
        return {k: p[k] for k in keys if p.get(k) not in (None, "")}

    def create(self, req: ResourceRequest) -> Result:
        params = self._params(req)
        self.call(req, "CreateRoute", **params)
        destination = next((params[k] for k in _ROUTE_DESTINATIONS if k in params), "")
        return Result(f"{params['RouteTableId']}|{destination}", {"CidrBlock": destination})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        self.call(req, "ReplaceRoute", **self._params(req))
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        p = current.properties
        params = {k: p[k] for k in ("RouteTableId", *_ROUTE_DESTINATIONS) if p.get(k)}
        ignore_missing(lambda: self.call(req, "DeleteRoute", **params), "InvalidRoute.NotFound")


class SubnetRouteTableAssociation(Ec2Handler):
    resource_type = "AWS::EC2::SubnetRouteTableAssociation"
    attributes = ("Id",)
    mutable = ("RouteTableId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("SubnetId", "RouteTableId")
        p = req.properties
        association = self.ec2(req).associate_route_table(
            SubnetId=p["SubnetId"], RouteTableId=p["RouteTableId"]
        )["AssociationId"]
        return Result(association, {"Id": association})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        answer = self.ec2(req).replace_route_table_association(
            AssociationId=current.physical_id, RouteTableId=req.properties["RouteTableId"]
        )
        association = answer["NewAssociationId"]
        return Result(association, {"Id": association})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        association = current.physical_id
        ignore_missing(
            lambda: self.ec2(req).disassociate_route_table(AssociationId=association),
            "InvalidAssociationID.NotFound",
        )


class Eip(Ec2Handler):
    resource_type = "AWS::EC2::EIP"
    attributes = ("AllocationId", "PublicIp")

    def create(self, req: ResourceRequest) -> Result:
        p = req.properties
        keys = ("Domain", "PublicIpv4Pool", "NetworkBorderGroup", "Address")
        address = self.call(req, "AllocateAddress", **{k: p[k] for k in keys if k in p})
        allocation, public_ip = address.get("AllocationId", ""), address["PublicIp"]
        if allocation:
            self.tag(req, allocation)
        if p.get("InstanceId"):
            self.ec2(req).associate_address(
                InstanceId=p["InstanceId"],
                **({"AllocationId": allocation} if allocation else {"PublicIp": public_ip}),
            )
        # Ref gives the address; the physical id is the address too, as on AWS.
        return Result(public_ip, {"AllocationId": allocation, "PublicIp": public_ip})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        allocation = current.attributes.get("AllocationId")
        if allocation:
            self.retag(req, current, allocation)
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        allocation = current.attributes.get("AllocationId")
        if allocation:
            ignore_missing(
                lambda: self.ec2(req).release_address(AllocationId=allocation),
                "InvalidAllocationID.NotFound",
            )
        else:
            ignore_missing(lambda: self.ec2(req).release_address(PublicIp=current.physical_id))


class NatGateway(Ec2Handler):
    resource_type = "AWS::EC2::NatGateway"
    attributes = ("NatGatewayId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("SubnetId")
        p = req.properties
        keys = (
            "SubnetId",
            "AllocationId",
            "ConnectivityType",
            "PrivateIpAddress",
            "SecondaryAllocationIds",
            "SecondaryPrivateIpAddresses",
            "SecondaryPrivateIpAddressCount",
        )
        nat = self.call(req, "CreateNatGateway", **{k: p[k] for k in keys if k in p})["NatGateway"]
        nat_id = nat["NatGatewayId"]
        self.tag(req, nat_id)
        wait_until(lambda: self._state(req, nat_id), f"NAT gateway {nat_id} to be available")
        return Result(nat_id, {"NatGatewayId": nat_id})

    def _state(self, req: ResourceRequest, nat_id: str) -> bool | str:
        nats = self.ec2(req).describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
        state = nats[0]["State"] if nats else "failed"
        if state == "failed":
            return nats[0].get("FailureMessage", "NAT gateway failed") if nats else "gone"
        return state == "available"

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        self.check_update(req, current)
        self.retag(req, current, current.physical_id or "")
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        nat_id = current.physical_id
        ignore_missing(
            lambda: self.ec2(req).delete_nat_gateway(NatGatewayId=nat_id),
            "NatGatewayNotFound",
            "InvalidNatGatewayID.NotFound",
        )


class VpcEndpoint(Ec2Handler):
    resource_type = "AWS::EC2::VPCEndpoint"
    attributes = ("CreationTimestamp", "DnsEntries", "Id", "NetworkInterfaceIds")

    def create(self, req: ResourceRequest) -> Result:
        req.require("VpcId", "ServiceName")
        p = dict(req.properties)
        p.setdefault("VpcEndpointType", "Gateway")  # CloudFormation's default
        if isinstance(p.get("PolicyDocument"), dict):
            import json

            p["PolicyDocument"] = json.dumps(p["PolicyDocument"])
        keys = (
            "VpcId",
            "ServiceName",
            "VpcEndpointType",
            "PolicyDocument",
            "RouteTableIds",
            "SubnetIds",
            "SecurityGroupIds",
            "PrivateDnsEnabled",
            "IpAddressType",
            "DnsOptions",
        )
        endpoint = self.call(req, "CreateVpcEndpoint", **{k: p[k] for k in keys if k in p})[
            "VpcEndpoint"
        ]
        endpoint_id = endpoint["VpcEndpointId"]
        self.tag(req, endpoint_id)
        return Result(
            endpoint_id,
            {
                "Id": endpoint_id,
                "CreationTimestamp": str(endpoint.get("CreationTimestamp", "")),
                "DnsEntries": [
                    f"{e.get('HostedZoneId', '')}:{e.get('DnsName', '')}"
                    for e in endpoint.get("DnsEntries", [])
                ],
                "NetworkInterfaceIds": endpoint.get("NetworkInterfaceIds", []),
            },
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        endpoint = current.physical_id
        ignore_missing(lambda: self.ec2(req).delete_vpc_endpoints(VpcEndpointIds=[endpoint]))


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
    Vpc(),
    Subnet(),
    InternetGateway(),
    GatewayAttachment(),
    RouteTable(),
    Route(),
    SubnetRouteTableAssociation(),
    Eip(),
    NatGateway(),
    VpcEndpoint(),
    SecurityGroup(),
    SecurityGroupIngress(),
    SecurityGroupEgress(),
]
