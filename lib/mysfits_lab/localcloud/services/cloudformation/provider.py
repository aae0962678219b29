"""CloudFormation stack deletion that finishes on the local cloud.

moto deletes a stack's resources in passes, but never removes the route tables, VPC endpoints,
NAT gateways and internet gateway of a network stack, so deleting the VPC fails with
DependencyViolation — after moto has already forgotten the stack. This provider then removes
what the stack left behind (found by its ``aws:cloudformation:stack-name`` tag, as on AWS) and
answers success, so a learner's teardown works the same on both targets.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from ...core.provider import Provider
from ...edge import Call, MotoFailed, Route

log = logging.getLogger("mysfits_lab.localcloud.cloudformation")
_STACK_TAG = "aws:cloudformation:stack-name"


class CloudFormationProvider(Provider):
    name = "cloudformation"

    def routes(self) -> list[Route]:
        return [Route("cloudformation", "DeleteStack", self._delete_stack)]

    def _delete_stack(self, call: Call) -> dict[str, Any]:
        stack = call.params.get("StackName", "")
        vpcs = self._stack_vpcs(call.region, stack)
        try:
            return call.moto()
        except MotoFailed as failed:
            if b"DependencyViolation" not in failed.response.get_data():
                raise
        for vpc in vpcs:
            self._remove_vpc(call.region, vpc)
        log.info("finished deleting stack %s (VPCs %s)", stack, ", ".join(vpcs))
        return {}

    def _ec2(self, region: str) -> Any:
        return self.ctx.client("ec2", region)

    def _stack_vpcs(self, region: str, stack: str) -> list[str]:
        found = self._ec2(region).describe_vpcs(
            Filters=[{"Name": f"tag:{_STACK_TAG}", "Values": [stack]}]
        )
        return [vpc["VpcId"] for vpc in found["Vpcs"]]

    def _remove_vpc(self, region: str, vpc: str) -> None:
        ec2 = self._ec2(region)
        in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
        endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
        if endpoints:
            ec2.delete_vpc_endpoints(VpcEndpointIds=[e["VpcEndpointId"] for e in endpoints])
        for nat in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]:
            if nat["State"] != "deleted":
                ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
        for table in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]:
            if not any(a.get("Main") for a in table.get("Associations", [])):
                ec2.delete_route_table(RouteTableId=table["RouteTableId"])
        attached = [{"Name": "attachment.vpc-id", "Values": [vpc]}]
        for gateway in ec2.describe_internet_gateways(Filters=attached)["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc)
            ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
        try:
            ec2.delete_vpc(VpcId=vpc)
        except ClientError as exc:
            log.warning("VPC %s still has dependencies: %s", vpc, exc)
