"""CloudFormation stack deletion that finishes on the local cloud.

moto deletes a stack's resources in passes, but never removes the route tables, VPC endpoints,
NAT gateways and internet gateway of a network stack, so deleting the VPC fails with
DependencyViolation — after moto has already forgotten the stack. This provider then removes
what the stack left behind (found by its ``aws:cloudformation:stack-name`` tag, as on AWS) and
answers success, so a learner's teardown works the same on both targets.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Response

from ..awsrequest import AwsRequest
from ..edge import Forward

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.cloudformation")
_STACK_TAG = "aws:cloudformation:stack-name"


class CloudFormationProvider:
    name = "cloudformation"

    def __init__(self) -> None:
        self.cloud: LocalCloud | None = None

    def attach(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        cloud.edge.on("cloudformation", "DeleteStack", self._delete_stack)

    def _delete_stack(self, req: AwsRequest, forward: Forward) -> Response:
        stack = req.param("StackName") or ""
        vpcs = self._stack_vpcs(req.region, stack)
        response = forward()
        if response.status_code < 300 or b"DependencyViolation" not in response.get_data():
            return response
        for vpc in vpcs:
            self._remove_vpc(req.region, vpc)
        log.info("finished deleting stack %s (VPCs %s)", stack, ", ".join(vpcs))
        body = (
            '<DeleteStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            "<ResponseMetadata><RequestId>local</RequestId></ResponseMetadata>"
            "</DeleteStackResponse>"
        )
        return Response(body, 200, content_type="text/xml")

    def _ec2(self, region: str | None) -> Any:
        assert self.cloud is not None
        return self.cloud.client("ec2", region)

    def _stack_vpcs(self, region: str | None, stack: str) -> list[str]:
        found = self._ec2(region).describe_vpcs(
            Filters=[{"Name": f"tag:{_STACK_TAG}", "Values": [stack]}]
        )
        return [vpc["VpcId"] for vpc in found["Vpcs"]]

    def _remove_vpc(self, region: str | None, vpc: str) -> None:
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

    def stop(self) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {}
