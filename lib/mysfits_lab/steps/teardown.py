"""Everything a learner built, listed, removed in dependency order, and listed again to prove
nothing is left.

Listing: the Resource Groups Tagging API finds what carries the learner's tags
(``workshop=mysfits-lab``, ``learner=<L>``) in the services that support it; what it cannot
see (log groups, roles, VPC links, user pools, endpoints, mappings, images, stacks) is found
by the learner's name prefix in each service's own list call. Nothing of another learner is
ever listed: tag values and name prefixes are compared exactly.

Removing: each module's own ``teardown`` in reverse workbook order (07 first, 01 last), so a
service is scaled to zero before its cluster goes, pipelines before their buckets, the
endpoint before its configuration and model, the core stack last; every versioned bucket
loses every object version and delete marker first. A step AWS refuses because something is
still in use is retried after the others; a rerun finishes an interrupted teardown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import workbook
from ..lab import Lab
from . import iam, rest_apis
from .costs import HOURLY_USD

# Module → the step functions that remove it, in the order they run.
REMOVERS: dict[str, tuple[str, ...]] = {
    "07-recommendations": ("recommender_api", "recommendations"),
    "06-questions": ("questions",),
    "05-clickstream": ("clicks",),
    "04-users-api": ("api", "users"),
    "03-data": ("data",),
    "02b-pipeline": ("pipeline",),
    "02a-service": ("service",),
    "01-static-site": ("website",),
}
RETRIES = 3  # rounds: what is still in use after one round usually is not after the next
# What keeps billing by the hour on AWS, by the kind the inventory gives it.
HOURLY = {
    "SageMaker endpoint": HOURLY_USD["sagemaker_ml_m4_xlarge"],
    "load balancer": HOURLY_USD["network_load_balancer"] + 2 * HOURLY_USD["public_ipv4_address"],
    "NAT gateway": HOURLY_USD["nat_gateway"] + HOURLY_USD["public_ipv4_address"],
    "ECS service": HOURLY_USD["fargate_task"],
}


@dataclass(frozen=True)
class Resource:
    kind: str
    name: str
    found_by: str  # "tags" or "name"

    def row(self, on_aws: bool) -> dict[str, Any]:
        row = {"kind": self.kind, "name": self.name, "found by": self.found_by}
        if on_aws:
            row["USD/hour"] = f"{HOURLY.get(self.kind, 0.0):.4f}"
        return row


# -- listing ------------------------------------------------------------------------------
_TAGGED_KINDS = {
    "s3": "S3 bucket",
    "dynamodb": "DynamoDB table",
    "lambda": "Lambda function",
    "sns": "SNS topic",
    "firehose": "delivery stream",
    "ecs": "ECS resource",
    "elasticloadbalancing": "load balancer resource",
    "ecr": "ECR repository",
    "codebuild": "CodeBuild project",
    "codepipeline": "pipeline",
    "sagemaker": "SageMaker resource",
    "cognito-idp": "user pool",
    "apigateway": "API Gateway resource",
    "ec2": "EC2 resource",
    "iam": "IAM resource",
    "logs": "log group",
    "cloudformation": "stack",
}


def tagged(lab: Lab) -> list[Resource]:
    """What carries the learner's tags, through the Resource Groups Tagging API."""
    client = lab.client("resourcegroupstaggingapi")
    filters = [{"Key": key, "Values": [value]} for key, value in lab.tags.items()]
    found = []
    try:
        for page in client.get_paginator("get_resources").paginate(TagFilters=filters):
            for item in page["ResourceTagMappingList"]:
                tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
                if any(tags.get(k) != v for k, v in lab.tags.items()):
                    continue  # exact values only, whatever the server's filter did
                arn = item["ResourceARN"]
                if _gone_for_good(lab, arn):
                    continue
                service = arn.split(":")[2]
                found.append(Resource(_TAGGED_KINDS.get(service, service), arn, "tags"))
    except (ClientError, BotoCoreError):
        pass  # the named listings below still cover every kind the workbook makes
    return found


def _gone_for_good(lab: Lab, arn: str) -> bool:
    """Records AWS keeps after deletion and never bills: training jobs (they cannot be
    deleted), deregistered task definitions, inactive clusters and services, deleted NAT
    gateways (listed for a while)."""
    if ":training-job/" in arn:
        return True
    if ":task-definition/" in arn:
        found = lab.client("ecs").describe_task_definition(taskDefinition=arn)
        return found["taskDefinition"].get("status") == "INACTIVE"
    if ":cluster/" in arn and arn.startswith("arn:aws:ecs:"):
        return not _active_cluster(lab, arn)
    if ":service/" in arn and arn.startswith("arn:aws:ecs:"):
        cluster = arn.split("/")[-2]
        found = lab.client("ecs").describe_services(cluster=cluster, services=[arn])
        return all(s["status"] == "INACTIVE" for s in found.get("services", []))
    if ":natgateway/" in arn:
        gateway_id = arn.rsplit("/", 1)[1]
        found = lab.client("ec2").describe_nat_gateways(NatGatewayIds=[gateway_id])
        return all(g["State"] in ("deleted", "deleting") for g in found["NatGateways"])
    return False


def _named(lab: Lab) -> Iterator[Resource]:
    prefix = f"{lab.learner}-"

    def listing(kind: str, call: Callable[[], Iterator[str]]) -> Iterator[Resource]:
        try:
            for name in call():
                yield Resource(kind, name, "name")
        except (ClientError, BotoCoreError):
            return

    def pages(service: str, method: str, key: str, field: str | None, **kwargs: Any) -> Iterator:
        """Each listed item's ``field`` (the item itself when None)."""
        client = lab.client(service)
        for page in client.get_paginator(method).paginate(**kwargs):
            for item in page.get(key, []):
                yield item if field is None else item[field]

    def prefixed(names: Iterator[str]) -> Iterator[str]:
        return (n for n in names if n.startswith(prefix))

    yield from listing(
        "CloudFormation stack",
        lambda: (
            s["StackName"]
            for s in lab.client("cloudformation").describe_stacks()["Stacks"]
            if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"
        ),
    )
    yield from listing(
        "load balancer",
        lambda: prefixed(
            pages("elbv2", "describe_load_balancers", "LoadBalancers", "LoadBalancerName")
        ),
    )
    yield from listing(
        "ECS cluster",
        lambda: (
            arn.rsplit("/", 1)[1]
            for arn in pages("ecs", "list_clusters", "clusterArns", None)
            if arn.rsplit("/", 1)[1].startswith(prefix) and _active_cluster(lab, arn)
        ),
    )
    yield from listing(
        "IAM role", lambda: prefixed(pages("iam", "list_roles", "Roles", "RoleName"))
    )
    yield from listing(
        "log group",
        lambda: (
            name
            for name in pages("logs", "describe_log_groups", "logGroups", "logGroupName")
            if name.startswith(prefix)
            or name.startswith(f"/aws/lambda/{prefix}")
            or name.startswith(f"/aws/codebuild/{prefix}")
        ),
    )
    yield from listing(
        "Lambda function",
        lambda: prefixed(pages("lambda", "list_functions", "Functions", "FunctionName")),
    )
    yield from listing(
        "event source mapping",
        lambda: (
            f"{m['UUID']} → {m['FunctionArn'].rsplit(':', 1)[-1]}"
            for m in pages("lambda", "list_event_source_mappings", "EventSourceMappings", None)
            if m["FunctionArn"].rsplit(":", 1)[-1].startswith(prefix)
        ),
    )
    yield from listing(
        "REST API", lambda: prefixed(pages("apigateway", "get_rest_apis", "items", "name"))
    )
    yield from listing(
        "VPC link", lambda: prefixed(pages("apigateway", "get_vpc_links", "items", "name"))
    )
    yield from listing(
        "user pool",
        lambda: prefixed(
            pages("cognito-idp", "list_user_pools", "UserPools", "Name", MaxResults=60)
        ),
    )
    yield from listing(
        "delivery stream",
        lambda: prefixed(
            iter(lab.client("firehose").list_delivery_streams()["DeliveryStreamNames"])
        ),
    )
    yield from listing(
        "DynamoDB table",
        lambda: prefixed(pages("dynamodb", "list_tables", "TableNames", None)),
    )
    yield from listing(
        "SNS topic",
        lambda: (
            arn
            for arn in pages("sns", "list_topics", "Topics", "TopicArn")
            if arn.rsplit(":", 1)[-1].startswith(prefix)
        ),
    )
    yield from listing(
        "ECR repository",
        lambda: (
            name
            for name in pages("ecr", "describe_repositories", "repositories", "repositoryName")
            if name.startswith(f"{lab.learner}/") or name.startswith(prefix)
        ),
    )
    yield from listing(
        "CodeBuild project",
        lambda: prefixed(pages("codebuild", "list_projects", "projects", None)),
    )
    yield from listing(
        "pipeline",
        lambda: prefixed(pages("codepipeline", "list_pipelines", "pipelines", "name")),
    )
    for kind, method, key, field in (
        ("SageMaker endpoint", "list_endpoints", "Endpoints", "EndpointName"),
        (
            "SageMaker endpoint config",
            "list_endpoint_configs",
            "EndpointConfigs",
            "EndpointConfigName",
        ),
        ("SageMaker model", "list_models", "Models", "ModelName"),
    ):
        yield from listing(
            kind, lambda m=method, k=key, f=field: prefixed(pages("sagemaker", m, k, f))
        )
    yield from listing(
        "S3 bucket",
        lambda: (
            b["Name"]
            for b in lab.client("s3").list_buckets().get("Buckets", [])
            if b["Name"].startswith(f"mysfits-{lab.learner}-")
        ),
    )


def _active_cluster(lab: Lab, arn: str) -> bool:
    clusters = lab.client("ecs").describe_clusters(clusters=[arn])["clusters"]
    return any(c["status"] == "ACTIVE" for c in clusters)


def inventory(lab: Lab) -> list[Resource]:
    """Everything of the learner's that exists now: by name, then what only tags reveal."""
    named = list(_named(lab))
    seen = {r.name for r in named}
    extra = [
        r
        for r in tagged(lab)
        if not any(name in r.name for name in seen)  # an ARN that names a listed resource
    ]
    return sorted(named + extra, key=lambda r: (r.kind, r.name))


def rows(lab: Lab, resources: list[Resource]) -> list[dict[str, Any]]:
    return [r.row(not lab.is_local) for r in resources]


def hourly_total(resources: list[Resource]) -> float:
    return sum(HOURLY.get(r.kind, 0.0) for r in resources)


# -- removing -----------------------------------------------------------------------------
@dataclass
class StepResult:
    module: str
    step: str
    removed: list[str]
    error: str = ""


def _remover(step: str) -> Callable[[Lab], list[str]]:
    return import_module(f"{__package__}.{step}").teardown


def plan() -> list[tuple[str, str]]:
    """(module, step module) in the order they are removed: the workbook's, reversed."""
    order = [m.notebook for m in reversed(workbook.MODULES) if m.notebook in REMOVERS]
    return [(module, step) for module in order for step in REMOVERS[module]]


def teardown(lab: Lab, progress: Callable[[str], None] | None = None) -> list[StepResult]:
    """Run every module's teardown, newest module first; retry the ones AWS refused."""
    pending = plan()
    results: list[StepResult] = []
    for attempt in range(RETRIES):
        failed = []
        for module, step in pending:
            if progress:
                progress(f"{module}: {step}")
            try:
                removed = _remover(step)(lab)
            except (ClientError, BotoCoreError, RuntimeError, TimeoutError) as exc:
                failed.append((module, step))
                results.append(StepResult(module, step, [], f"{type(exc).__name__}: {exc}"))
                continue
            results.append(StepResult(module, step, removed))
        if not failed:
            break
        pending = failed
        time.sleep(lab.poll_interval * 10 * (attempt + 1))
    return results + sweep(lab)


def _delete_named(lab: Lab, resource: Resource) -> None:
    """Remove one listed resource that no module's teardown removed (log groups a service
    created, a role or project left by an interrupted run, ...)."""
    from .buckets import empty_bucket

    name = resource.name
    if resource.kind == "log group":
        lab.client("logs").delete_log_group(logGroupName=name)
    elif resource.kind == "IAM role":
        iam.delete_role(lab, name)
    elif resource.kind == "Lambda function":
        lab.client("lambda").delete_function(FunctionName=name)
    elif resource.kind == "CodeBuild project":
        lab.client("codebuild").delete_project(name=name)
    elif resource.kind == "ECR repository":
        lab.client("ecr").delete_repository(repositoryName=name, force=True)
    elif resource.kind == "S3 bucket":
        empty_bucket(lab, name)
        lab.client("s3").delete_bucket(Bucket=name)
    elif resource.kind == "SNS topic":
        lab.client("sns").delete_topic(TopicArn=name)
    elif resource.kind == "DynamoDB table":
        lab.client("dynamodb").delete_table(TableName=name)
    elif resource.kind == "CloudFormation stack":
        lab.client("cloudformation").delete_stack(StackName=name)
    elif resource.kind == "REST API":
        rest_apis.delete_api(lab, name)
    elif resource.kind == "event source mapping":
        lab.client("lambda").delete_event_source_mapping(UUID=name.split(" ", 1)[0])
    elif resource.kind == "ECS cluster":
        lab.client("ecs").delete_cluster(cluster=name)
    elif resource.kind == "pipeline":
        lab.client("codepipeline").delete_pipeline(name=name)
    elif resource.kind == "delivery stream":
        lab.client("firehose").delete_delivery_stream(DeliveryStreamName=name)
    elif resource.kind == "SageMaker endpoint":
        lab.client("sagemaker").delete_endpoint(EndpointName=name)
    elif resource.kind == "SageMaker endpoint config":
        lab.client("sagemaker").delete_endpoint_config(EndpointConfigName=name)
    elif resource.kind == "SageMaker model":
        lab.client("sagemaker").delete_model(ModelName=name)
    else:  # what this sweep does not know how to remove stays listed, with the reason
        raise LookupError(f"no sweep for a {resource.kind}")


def sweep(lab: Lab) -> list[StepResult]:
    """After the modules' own teardowns: whatever is still listed by name, removed one by one."""
    results = []
    for resource in inventory(lab):
        if resource.found_by != "name":
            continue
        try:
            _delete_named(lab, resource)
        except (ClientError, BotoCoreError, LookupError) as exc:
            results.append(StepResult("sweep", f"{resource.kind} {resource.name}", [], str(exc)))
            continue
        results.append(StepResult("sweep", f"{resource.kind} {resource.name}", [resource.name]))
    return results


def result_rows(results: list[StepResult]) -> list[dict[str, Any]]:
    """One row per step, as its last attempt ended."""
    last = {(r.module, r.step): r for r in results}
    return [
        {
            "module": r.module,
            "step": r.step,
            "removed": ", ".join(r.removed) or ("—" if not r.error else ""),
            "error": r.error[:120],
        }
        for r in last.values()
    ]


# -- checking -----------------------------------------------------------------------------
@dataclass
class TeardownCheck:
    learner: str
    removed: bool  # False: a dry run
    left: list[Resource]

    @property
    def foreign(self) -> list[Resource]:
        """Listed resources whose name does not carry the learner's: never ours to delete."""
        marks = (f"{self.learner}-", f"-{self.learner}-", f"{self.learner}/", f"/{self.learner}-")
        return [
            r for r in self.left if r.found_by == "name" and not any(m in r.name for m in marks)
        ]

    @property
    def ok(self) -> bool:
        return not self.foreign and (not self.removed or not self.left)

    def summary(self) -> str:
        if self.foreign:
            return "NOT OK: listed as ours but named otherwise: " + ", ".join(
                r.name for r in self.foreign
            )
        if not self.removed:
            return (
                f"Dry run: nothing was removed. Everything listed belongs to learner "
                f"{self.learner}; set remove = True to delete it."
            )
        if self.left:
            names = ", ".join(f"{r.kind} {r.name}" for r in self.left)
            return f"NOT OK: {len(self.left)} resources of learner {self.learner} are left: {names}"
        return f"OK: nothing of learner {self.learner} is left."


def check(lab: Lab, removed: bool) -> TeardownCheck:
    return TeardownCheck(lab.learner, removed, inventory(lab))


DRY_RUN = "remove = False: nothing was removed. Set remove = True to delete the list above."
