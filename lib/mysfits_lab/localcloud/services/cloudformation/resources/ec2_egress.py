"""A VPC's ways out through the EC2 API: Elastic IPs, NAT gateways and VPC endpoints."""

from __future__ import annotations

from ..models import StackResource
from .base import Handler, ResourceRequest, Result, ignore_missing, wait_until
from .ec2 import Ec2Handler


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


HANDLERS: list[Handler] = [
    Eip(),
    NatGateway(),
    VpcEndpoint(),
]
