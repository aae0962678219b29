"""The core network stack on the local cloud: created once, outputs recorded, NAT choice updates."""

from mysfits_lab.steps import network


def test_core_stack_is_created_once_and_its_outputs_recorded(lab):
    first = network.deploy_core_stack(lab, nat_gateways=1)
    again = network.deploy_core_stack(lab, nat_gateways=1)
    assert first == again
    stacks = lab.client("cloudformation").list_stacks(StackStatusFilter=["CREATE_COMPLETE"])
    names = [s["StackName"] for s in stacks["StackSummaries"]]
    assert names.count("mysfit-MythicalMysfitsCoreStack") == 1
    assert lab.outputs.get("network.vpc_id") == first["VPCId"]
    assert lab.outputs.get("network.assign_public_ip") == "DISABLED"
    assert lab.outputs.get("network.codebuild_role_arn").startswith("arn:aws:iam::123456789012:")
    nats = lab.client("ec2").describe_nat_gateways()["NatGateways"]
    assert len([n for n in nats if n["State"] != "deleted"]) == 1


def test_choosing_no_nat_puts_the_service_in_public_subnets(lab):
    network.deploy_core_stack(lab, nat_gateways=0)
    assert lab.outputs.get("network.assign_public_ip") == "ENABLED"
    assert lab.outputs.get("network.service_subnet_one") == lab.outputs.get(
        "network.public_subnet_one"
    )


def test_teardown_deletes_the_stack_and_its_vpc(lab):
    network.deploy_core_stack(lab, nat_gateways=2)
    vpc = lab.outputs.get("network.vpc_id")
    assert network.teardown(lab) == ["stack mysfit-MythicalMysfitsCoreStack"]
    ec2 = lab.client("ec2")
    assert vpc not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert ec2.describe_route_tables(Filters=in_vpc)["RouteTables"] == []
    assert "network.vpc_id" not in lab.outputs
    assert network.teardown(lab) == []
