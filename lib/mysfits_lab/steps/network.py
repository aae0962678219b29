"""Module 2a, part 1: the core network stack (CloudFormation) and its outputs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .. import show
from ..lab import Lab, LabError
from ..paths import assets_dir
from ..waiting import wait_until

MODULE = "02a-service"
STACK_BASE = "MythicalMysfitsCoreStack"
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
_FAILED = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_FAILED",
}
# Stack outputs recorded as network.<name>, in the outputs store's naming.
OUTPUT_NAMES = {
    "VPCId": "vpc_id",
    "PublicSubnetOne": "public_subnet_one",
    "PublicSubnetTwo": "public_subnet_two",
    "ServiceSubnetOne": "service_subnet_one",
    "ServiceSubnetTwo": "service_subnet_two",
    "AssignPublicIp": "assign_public_ip",
    "FargateContainerSecurityGroup": "security_group",
    "EcsServiceRole": "execution_role_arn",
    "ECSTaskRole": "task_role_arn",
    "CodeBuildRole": "codebuild_role_arn",
    "CodePipelineRole": "codepipeline_role_arn",
}


def stack_name(lab: Lab) -> str:
    return lab.name(STACK_BASE)


def template_body() -> str:
    return (assets_dir() / "templates" / "core.yml").read_text()


def _describe(lab: Lab) -> dict[str, Any] | None:
    try:
        return lab.client("cloudformation").describe_stacks(StackName=stack_name(lab))["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _resource_count() -> int:
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    # CloudFormation short-form tags (!Ref, !Sub, ...) only need to parse, not resolve.
    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return len(yaml.load(template_body(), Loader=_Loader)["Resources"])


def _wait(lab: Lab, verb: str) -> dict[str, Any]:
    """Poll the stack, showing how many resources are complete, until it settles."""
    cfn = lab.client("cloudformation")
    bar = show.progress(total=_resource_count(), desc=f"{verb} {stack_name(lab)}", unit="resources")

    def settled() -> dict[str, Any] | None:
        stack = _describe(lab)
        if stack is None:
            raise LabError(f"stack {stack_name(lab)} disappeared while {verb.lower()}")
        resources = cfn.describe_stack_resources(StackName=stack_name(lab))["StackResources"]
        complete = sum(r["ResourceStatus"].endswith("_COMPLETE") for r in resources)
        bar.update(max(0, complete - bar.n))
        status = stack["StackStatus"]
        if status in _FAILED:
            raise LabError(_failure_message(lab, status))
        return stack if status in _DONE else None

    try:
        return wait_until(
            settled,
            f"stack {stack_name(lab)} to settle",
            # as long as CloudFormation's own stack_create_complete waiter gives it
            timeout=lab.wait_budget(3600),
            interval=lab.poll_interval * 5,
            hint="Its events in the CloudFormation console say what it is waiting for.",
            progress=False,  # the resources are the progress
        )
    finally:
        bar.close()


def _failure_message(lab: Lab, status: str) -> str:
    events = lab.client("cloudformation").describe_stack_events(StackName=stack_name(lab))
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events["StackEvents"]
        if e["ResourceStatus"].endswith("FAILED")
    ][:5]
    return (
        f"stack {stack_name(lab)} is {status}: "
        + "; ".join(reasons)
        + ". Fix the cause, delete the stack (99-teardown), then run this step again."
    )


def deploy_core_stack(lab: Lab, nat_gateways: int = 1) -> dict[str, str]:
    """Create the stack, or update it when the NAT choice changed; returns its outputs."""
    if nat_gateways not in (0, 1, 2):
        raise LabError(f"nat_gateways must be 0, 1 or 2 (got {nat_gateways!r})")
    cfn = lab.client("cloudformation")
    spec = {
        "StackName": stack_name(lab),
        "TemplateBody": template_body(),
        "Parameters": [{"ParameterKey": "NatGateways", "ParameterValue": str(nat_gateways)}],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": lab.tag_list(),
    }
    stack = _describe(lab)
    if stack is None:
        cfn.create_stack(**spec)
        stack = _wait(lab, "Creating")
    elif stack["StackStatus"] in _FAILED:
        raise LabError(_failure_message(lab, stack["StackStatus"]))
    else:
        current = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        if current.get("NatGateways") != str(nat_gateways):
            cfn.update_stack(**spec)
            stack = _wait(lab, "Updating")
        elif stack["StackStatus"] not in _DONE:
            stack = _wait(lab, "Waiting for")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = sorted(set(OUTPUT_NAMES) - set(outputs))
    if missing:
        raise LabError(f"stack {stack_name(lab)} lacks outputs {', '.join(missing)}")
    lab.outputs.record(
        MODULE,
        {f"network.{name}": outputs[key] for key, name in OUTPUT_NAMES.items()}
        | {"network.stack_name": stack_name(lab)},
    )
    return outputs


def teardown(lab: Lab) -> list[str]:
    if _describe(lab) is None:
        return []
    cfn = lab.client("cloudformation")
    cfn.delete_stack(StackName=stack_name(lab))
    cfn.get_waiter("stack_delete_complete").wait(
        StackName=stack_name(lab), WaiterConfig=lab.waiter_config
    )
    lab.outputs.forget(*(f"network.{n}" for n in OUTPUT_NAMES.values()), "network.stack_name")
    return [f"stack {stack_name(lab)}"]
