"""Module 2a: the Mysfits service on ECS Fargate behind a network load balancer.

Same calls on both targets. On the local cloud the tasks are real processes and the NLB a real
port; on AWS they are Fargate tasks and an internet-facing NLB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from botocore.exceptions import ClientError

from .. import service_bundle
from ..lab import Lab, LabError
from ..waiting import wait_until
from . import image_build, network, website
from .aws_errors import tolerate
from .buckets import delete_bucket, ensure_bucket
from .logs import ensure_log_group

MODULE = "02a-service"
CONTAINER_NAME = "MythicalMysfits-Service"
CONTAINER_PORT = 8080
# Seconds a deregistered task may keep its open connections (AWS: 300 unless set). An API
# Gateway VPC link keeps connections open, so a deployment would wait that long each time.
DEREGISTRATION_DELAY = 30
SOURCE_KEY = "service/source.zip"


@dataclass(frozen=True)
class Names:
    """Every name this module gives a resource, prefixed with the learner."""

    cluster: str
    service: str
    family: str
    log_group: str
    repository: str
    image_project: str
    load_balancer: str
    target_group: str

    @classmethod
    def of(cls, lab: Lab) -> Names:
        return cls(
            cluster=lab.name("MythicalMysfits-Cluster"),
            service=lab.name("MythicalMysfits-Service"),
            family=lab.name("mythicalmysfitsservice"),
            log_group=lab.name("mythicalmysfits-logs"),
            repository=f"{lab.learner}/mythicalmysfits/service",
            image_project=lab.name("MythicalMysfitsImageBuild"),
            load_balancer=lab.name("mysfits-nlb"),
            target_group=lab.name("mysfits-tg"),
        )


# -- the image ----------------------------------------------------------------------------
def build_service_image(lab: Lab, catalogue: Any = None) -> image_build.BuiltImage:
    """Build the service's image with CodeBuild (reused when the source has not changed)."""
    names = Names.of(lab)
    image = image_build.build_image(
        lab,
        repository=names.repository,
        project=names.image_project,
        source=service_bundle.source_zip(catalogue),
        source_bucket=ensure_bucket(lab, "artifacts"),
        source_key=SOURCE_KEY,
        role_arn=lab.outputs.get("network.codebuild_role_arn"),
        container_name=CONTAINER_NAME,
    )
    lab.outputs.record(MODULE, {"service.image_uri": image.uri})
    return image


# -- ECS ----------------------------------------------------------------------------------
def create_cluster(lab: Lab) -> str:
    ecs = lab.client("ecs")
    with tolerate("InvalidInput", "EntityAlreadyExists"):  # ECS needs it once per account
        lab.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    found = ecs.describe_clusters(clusters=[Names.of(lab).cluster])["clusters"]
    active = [c for c in found if c["status"] == "ACTIVE"]
    if active:
        return active[0]["clusterArn"]
    cluster = ecs.create_cluster(
        clusterName=Names.of(lab).cluster, tags=lab.tag_list("key", "value")
    )
    return cluster["cluster"]["clusterArn"]


def create_log_group(lab: Lab) -> str:
    """The log group the tasks write to (the awslogs driver does not create it)."""
    return ensure_log_group(lab, Names.of(lab).log_group)


def container_definition(lab: Lab, image_uri: str, environment: dict[str, str]) -> dict:
    return {
        "name": CONTAINER_NAME,
        "image": image_uri,
        "essential": True,
        "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": Names.of(lab).log_group,
                "awslogs-region": lab.region,
                "awslogs-stream-prefix": "awslogs-mythicalmysfits-service",
            },
        },
    }


def register_task_definition(
    lab: Lab, image_uri: str, environment: dict[str, str] | None = None
) -> str:
    """Register a revision, unless the latest one already runs this image and environment.

    No environment by default: the service's own ``app/settings.json`` (part of its source, so
    module 03 changes it through the pipeline) chooses its backend, and a ``MYSFITS_*``
    variable here would override that file.
    """
    ecs, family = lab.client("ecs"), Names.of(lab).family
    wanted = container_definition(lab, image_uri, environment or {})
    try:
        latest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        current = latest["containerDefinitions"][0]
        # An empty environment may come back as [] or not at all: both mean none.
        if all(
            (current.get(k) or []) == (wanted[k] or [])
            for k in ("image", "environment", "portMappings")
        ):
            return latest["taskDefinitionArn"]
    except ClientError:
        pass  # no revision yet
    registered = ecs.register_task_definition(
        family=family,
        cpu="256",
        memory="512",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        executionRoleArn=lab.outputs.get("network.execution_role_arn"),
        taskRoleArn=lab.outputs.get("network.task_role_arn"),
        containerDefinitions=[wanted],
        tags=lab.tag_list("key", "value"),
    )
    return registered["taskDefinition"]["taskDefinitionArn"]


# -- the load balancer --------------------------------------------------------------------
def create_load_balancer(lab: Lab) -> dict[str, str]:
    """Get or create the NLB, its target group (TCP 8080, HTTP health check) and listener."""
    elb, names, out = lab.client("elbv2"), Names.of(lab), lab.outputs
    try:
        nlb = elb.describe_load_balancers(Names=[names.load_balancer])["LoadBalancers"][0]
    except ClientError:
        nlb = elb.create_load_balancer(
            Name=names.load_balancer,
            Type="network",
            Scheme="internet-facing",
            Subnets=[out.get("network.public_subnet_one"), out.get("network.public_subnet_two")],
            Tags=lab.tag_list(),
        )["LoadBalancers"][0]
    try:
        group = elb.describe_target_groups(Names=[names.target_group])["TargetGroups"][0]
    except ClientError:
        group = elb.create_target_group(
            Name=names.target_group,
            Protocol="TCP",
            Port=CONTAINER_PORT,
            VpcId=out.get("network.vpc_id"),
            TargetType="ip",
            HealthCheckProtocol="HTTP",
            HealthCheckPath="/",
            HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=3,
            UnhealthyThresholdCount=3,
            Tags=lab.tag_list(),
        )["TargetGroups"][0]
    _set_drain_time(elb, group["TargetGroupArn"])
    listeners = elb.describe_listeners(LoadBalancerArn=nlb["LoadBalancerArn"])["Listeners"]
    listener = next((item for item in listeners if item["Port"] == 80), None)
    if listener is None:
        listener = elb.create_listener(
            LoadBalancerArn=nlb["LoadBalancerArn"],
            Protocol="TCP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )["Listeners"][0]
    return {
        "nlb_arn": nlb["LoadBalancerArn"],
        "nlb_dns": nlb["DNSName"],
        "target_group_arn": group["TargetGroupArn"],
        "listener_arn": listener["ListenerArn"],
    }


def _set_drain_time(elb: Any, group_arn: str) -> None:
    """Every deployment waits until the old task has drained: its open connections closed, or
    the deregistration delay over (300 s unless set)."""
    wanted = str(DEREGISTRATION_DELAY)
    attributes = elb.describe_target_group_attributes(TargetGroupArn=group_arn)["Attributes"]
    current = {a["Key"]: a["Value"] for a in attributes}
    if current.get("deregistration_delay.timeout_seconds") != wanted:
        elb.modify_target_group_attributes(
            TargetGroupArn=group_arn,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": wanted}],
        )


def create_service(
    lab: Lab, task_definition_arn: str, target_group_arn: str, desired_count: int = 1
) -> str:
    """Create the Fargate service, or roll it to a new task definition / count."""
    ecs, names, out = lab.client("ecs"), Names.of(lab), lab.outputs
    found = ecs.describe_services(cluster=names.cluster, services=[names.service])["services"]
    active = [s for s in found if s["status"] == "ACTIVE"]
    if active:
        service = active[0]
        if (
            service["taskDefinition"] != task_definition_arn
            or service["desiredCount"] != desired_count
        ):
            service = ecs.update_service(
                cluster=names.cluster,
                service=names.service,
                taskDefinition=task_definition_arn,
                desiredCount=desired_count,
            )["service"]
        return service["serviceArn"]
    created = ecs.create_service(
        cluster=names.cluster,
        serviceName=names.service,
        taskDefinition=task_definition_arn,
        launchType="FARGATE",
        desiredCount=desired_count,
        # Start new tasks before stopping old ones: deployments without downtime.
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100},
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [
                    out.get("network.service_subnet_one"),
                    out.get("network.service_subnet_two"),
                ],
                "securityGroups": [out.get("network.security_group")],
                "assignPublicIp": out.get("network.assign_public_ip"),
            }
        },
        loadBalancers=[
            {
                "targetGroupArn": target_group_arn,
                "containerName": CONTAINER_NAME,
                "containerPort": CONTAINER_PORT,
            }
        ],
        tags=lab.tag_list("key", "value"),
    )
    return created["service"]["serviceArn"]


@dataclass
class ServiceHealth:
    desired: int
    running: int
    healthy_targets: int
    deployments: int

    @property
    def steady(self) -> bool:
        return (
            self.running == self.desired
            and self.healthy_targets >= self.desired
            and self.deployments == 1
        )


def service_health(lab: Lab, target_group_arn: str) -> ServiceHealth:
    names = Names.of(lab)
    service = lab.client("ecs").describe_services(cluster=names.cluster, services=[names.service])
    service = service["services"][0]
    targets = lab.client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
    healthy = sum(
        t["TargetHealth"]["State"] == "healthy" for t in targets["TargetHealthDescriptions"]
    )
    return ServiceHealth(
        service["desiredCount"], service["runningCount"], healthy, len(service["deployments"])
    )


def wait_until_healthy(lab: Lab, target_group_arn: str) -> ServiceHealth:
    """Wait until every task runs and passes the load balancer's health check."""

    def steady() -> ServiceHealth | None:
        health = service_health(lab, target_group_arn)
        return health if health.steady else None

    return wait_until(
        steady,
        "the service's tasks to be running and healthy behind the load balancer",
        timeout=lab.wait_budget(900),
        interval=lab.poll_interval,
        hint=f"Look at the task logs in log group {Names.of(lab).log_group}.",
    )


# -- outputs, check, whole module --------------------------------------------------------
def record(lab: Lab, balancer: dict[str, str]) -> dict[str, Any]:
    names = Names.of(lab)
    url = lab.load_balancer_url(names.load_balancer, balancer["nlb_dns"])
    recorded = lab.outputs.record(
        MODULE,
        {
            "service.url": url,
            "service.cluster": names.cluster,
            "service.name": names.service,
            "service.log_group": names.log_group,
            "service.nlb_arn": balancer["nlb_arn"],
            "service.nlb_dns": balancer["nlb_dns"],
            "service.target_group_arn": balancer["target_group_arn"],
        },
    )
    if website.is_built(lab):  # the site now reads its mysfits from the API
        website.publish_config(lab)
    return recorded


@dataclass
class ApiCheck:
    url: str
    health: int
    mysfits: list[str]

    @property
    def ok(self) -> bool:
        return self.health == 200 and bool(self.mysfits)

    def summary(self) -> str:
        return (
            f"GET / answers {self.health}; GET /mysfits returns {len(self.mysfits)} mysfits: "
            + ", ".join(self.mysfits)
        )


def check_api(url: str, timeout: float = 10.0) -> ApiCheck:
    health = requests.get(f"{url}/", timeout=timeout).status_code
    listing = requests.get(f"{url}/mysfits", timeout=timeout)
    listing.raise_for_status()
    return ApiCheck(url, health, [m["name"] for m in listing.json()["mysfits"]])


def build(lab: Lab, nat_gateways: int = 1, desired_count: int = 1) -> dict[str, Any]:
    network.deploy_core_stack(lab, nat_gateways)
    image = build_service_image(lab)
    create_cluster(lab)
    create_log_group(lab)
    task_definition = register_task_definition(lab, image.uri)
    balancer = create_load_balancer(lab)
    create_service(lab, task_definition, balancer["target_group_arn"], desired_count)
    wait_until_healthy(lab, balancer["target_group_arn"])
    return record(lab, balancer)


def is_built(lab: Lab) -> bool:
    url = lab.outputs.get_or("service.url")
    if not url:
        return False
    try:
        return check_api(url, timeout=5).ok
    except (requests.RequestException, ValueError, KeyError):
        return False


def teardown(lab: Lab) -> list[str]:
    """Remove everything this module made, in dependency order."""
    names, removed = Names.of(lab), []
    ecs, elb = lab.client("ecs"), lab.client("elbv2")
    services = (
        ecs.describe_services(cluster=names.cluster, services=[names.service]).get("services", [])
        if _cluster_exists(lab)
        else []
    )
    if any(s["status"] == "ACTIVE" for s in services):
        ecs.update_service(cluster=names.cluster, service=names.service, desiredCount=0)
        ecs.delete_service(cluster=names.cluster, service=names.service, force=True)
        removed.append(f"ECS service {names.service}")
    # Every name is checked here, not trusted to the server's filter: only this learner's go.
    try:
        found = elb.describe_load_balancers(Names=[names.load_balancer])["LoadBalancers"]
    except ClientError:
        found = []
    for nlb in (b for b in found if b["LoadBalancerName"] == names.load_balancer):
        for listener in elb.describe_listeners(LoadBalancerArn=nlb["LoadBalancerArn"])["Listeners"]:
            if listener["LoadBalancerArn"] == nlb["LoadBalancerArn"]:
                elb.delete_listener(ListenerArn=listener["ListenerArn"])
        elb.delete_load_balancer(LoadBalancerArn=nlb["LoadBalancerArn"])
        removed.append(f"load balancer {names.load_balancer}")
    try:
        groups = elb.describe_target_groups(Names=[names.target_group])["TargetGroups"]
    except ClientError:
        groups = []
    for group in (g for g in groups if g["TargetGroupName"] == names.target_group):
        elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
        removed.append(f"target group {names.target_group}")
    pages = ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=names.family, status="ACTIVE"
    )
    for arn in (arn for page in pages for arn in page["taskDefinitionArns"]):
        revision = arn.rsplit("/", 1)[-1]  # family:revision
        if revision.rsplit(":", 1)[0] == names.family:
            ecs.deregister_task_definition(taskDefinition=arn)
            removed.append(f"task definition {revision}")
    if _cluster_exists(lab):
        ecs.delete_cluster(cluster=names.cluster)
        removed.append(f"ECS cluster {names.cluster}")
    for what, call in (
        (
            f"log group {names.log_group}",
            lambda: lab.client("logs").delete_log_group(logGroupName=names.log_group),
        ),
        (
            f"ECR repository {names.repository}",
            lambda: lab.client("ecr").delete_repository(
                repositoryName=names.repository, force=True
            ),
        ),
        (
            f"CodeBuild project {names.image_project}",
            lambda: _delete_project(lab, names.image_project),
        ),
    ):
        try:
            call()
            removed.append(what)
        except (ClientError, LabError):
            pass
    removed += delete_bucket(lab, "artifacts")
    removed += network.teardown(lab)
    lab.outputs.forget(
        "service.url",
        "service.image_uri",
        "service.cluster",
        "service.name",
        "service.log_group",
        "service.nlb_arn",
        "service.nlb_dns",
        "service.target_group_arn",
    )
    if website.is_built(lab):
        website.publish_config(lab)
    return removed


def _cluster_exists(lab: Lab) -> bool:
    found = lab.client("ecs").describe_clusters(clusters=[Names.of(lab).cluster])["clusters"]
    return any(c["status"] == "ACTIVE" for c in found)


def _delete_project(lab: Lab, name: str) -> None:
    codebuild = lab.client("codebuild")
    if not codebuild.batch_get_projects(names=[name]).get("projects"):
        raise LabError("no such project")
    codebuild.delete_project(name=name)
