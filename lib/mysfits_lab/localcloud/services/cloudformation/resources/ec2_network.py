"""The network of a stack through the EC2 API: VPC, subnets, internet gateways, route tables,
routes and their subnet associations."""

from __future__ import annotations

from typing import Any

from ..errors import ResourceFailed
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, boolean, ignore_missing
from .ec2 import Ec2Handler


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


HANDLERS: list[Handler] = [
    Vpc(),
    Subnet(),
    InternetGateway(),
    GatewayAttachment(),
    RouteTable(),
    Route(),
    SubnetRouteTableAssociation(),
]
