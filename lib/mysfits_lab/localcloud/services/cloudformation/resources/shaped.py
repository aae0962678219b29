"""Types whose properties are their API's parameters in CloudFormation's spelling (PascalCase
for camelCase members, ``[{Key, Value}]`` for a tag map): ECR repositories, ECS clusters, task
definitions and services, ELBv2 load balancers, target groups and listeners, CodeBuild
projects, CodePipeline pipelines — made through their APIs, so the ECS, load balancer,
CodeBuild and CodePipeline providers run them as they run a learner's."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import Shape

from ....edge.catalog import operation_model
from ..errors import NeedsReplacement
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, coerce_value, ignore_missing


def shaped(service: str, operation: str, properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` as the operation's parameters: each key matched to its member whatever
    its case, template scalars turned into the member's type; a key no member has is kept (and
    botocore refuses it, naming it)."""
    shape = operation_model(service, operation).input_shape
    return _map(properties, shape) if shape is not None else properties


def _map(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        result = {}
        for key, item in value.items():
            name = members.get(str(key).lower())
            result[name or key] = _map(item, shape.members[name]) if name else item
        return result
    if kind == "list" and isinstance(value, list):
        return [_map(item, shape.member) for item in value]
    if kind == "map":
        if isinstance(value, list):  # a template's [{Key, Value}] for an API's map
            value = {
                str(t.get("Key")): t.get("Value")
                for t in value
                if isinstance(t, dict) and "Key" in t
            }
        if isinstance(value, dict):
            return {str(k): _map(v, shape.value) for k, v in value.items()}
    return coerce_value(value, shape)


def _tags(req: ResourceRequest, own: Any) -> list[dict[str, str]]:
    return req.tag_list(own)


class ShapedHandler(Handler):
    api: str  # botocore's service name
    create_operation: str
    # CloudFormation-only properties, applied otherwise or not at all
    extra: tuple[str, ...] = ()

    def client(self, req: ResourceRequest) -> Any:
        return req.client(self.api)

    def params(self, req: ResourceRequest, name: str | None = None) -> dict[str, Any]:
        properties = {k: v for k, v in req.properties.items() if k not in self.extra}
        if name is not None and self.name_property:
            properties[self.name_property] = name
        if "Tags" in properties or req.stack.tags:
            properties["Tags"] = _tags(req, properties.get("Tags"))
            if not properties["Tags"]:
                del properties["Tags"]
        return shaped(self.api, self.create_operation, properties)

    def call(self, req: ResourceRequest, operation: str, **params: Any) -> Any:
        method = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
        return getattr(self.client(req), method)(**params)


class EcrRepository(ShapedHandler):
    resource_type = "AWS::ECR::Repository"
    service, api, create_operation = "Ecr", "ecr", "CreateRepository"
    attributes = ("Arn", "RepositoryUri")
    name_property = "RepositoryName"
    extra = ("RepositoryPolicyText", "LifecyclePolicy", "EmptyOnDelete")

    def create(self, req: ResourceRequest) -> Result:
        name = req.properties.get("RepositoryName") or req.physical_name(256, lower=True)
        repository = self.call(req, "CreateRepository", **self.params(req, name))["repository"]
        ecr, p = self.client(req), req.properties
        try:
            if p.get("RepositoryPolicyText"):
                policy = p["RepositoryPolicyText"]
                text = policy if isinstance(policy, str) else json.dumps(policy)
                ecr.set_repository_policy(repositoryName=name, policyText=text)
            if p.get("LifecyclePolicy", {}).get("LifecyclePolicyText"):
                ecr.put_lifecycle_policy(
                    repositoryName=name,
                    lifecyclePolicyText=p["LifecyclePolicy"]["LifecyclePolicyText"],
                )
        except Exception:
            ignore_missing(lambda: ecr.delete_repository(repositoryName=name, force=True))
            raise
        return Result(
            name,
            {"Arn": repository["repositoryArn"], "RepositoryUri": repository["repositoryUri"]},
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        force = str(current.properties.get("EmptyOnDelete", "false")).lower() == "true"
        name = current.physical_id
        ignore_missing(
            lambda: self.client(req).delete_repository(repositoryName=name, force=force),
            "RepositoryNotFoundException",
        )


class EcsCluster(ShapedHandler):
    resource_type = "AWS::ECS::Cluster"
    service, api, create_operation = "Ecs", "ecs", "CreateCluster"
    attributes = ("Arn",)
    name_property = "ClusterName"

    def create(self, req: ResourceRequest) -> Result:
        name = req.properties.get("ClusterName") or req.physical_name(255)
        cluster = self.call(req, "CreateCluster", **self.params(req, name))["cluster"]
        return Result(name, {"Arn": cluster["clusterArn"]})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(
            lambda: self.client(req).delete_cluster(cluster=name), "ClusterNotFoundException"
        )


class EcsTaskDefinition(ShapedHandler):
    resource_type = "AWS::ECS::TaskDefinition"
    service, api, create_operation = "Ecs", "ecs", "RegisterTaskDefinition"
    attributes = ("TaskDefinitionArn",)

    def create(self, req: ResourceRequest) -> Result:
        params = self.params(req)
        params.setdefault("family", req.physical_name(255))
        answer = self.call(req, "RegisterTaskDefinition", **params)["taskDefinition"]
        arn = answer["taskDefinitionArn"]
        return Result(arn, {"TaskDefinitionArn": arn})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id
        ignore_missing(lambda: self.client(req).deregister_task_definition(taskDefinition=arn))


class EcsService(ShapedHandler):
    resource_type = "AWS::ECS::Service"
    service, api, create_operation = "Ecs", "ecs", "CreateService"
    attributes = ("Name", "ServiceArn")
    name_property = "ServiceName"
    _IN_PLACE = (
        "DesiredCount",
        "TaskDefinition",
        "DeploymentConfiguration",
        "NetworkConfiguration",
        "HealthCheckGracePeriodSeconds",
        "PlatformVersion",
        "Tags",
    )

    def create(self, req: ResourceRequest) -> Result:
        name = req.properties.get("ServiceName") or req.physical_name(255)
        service = self.call(req, "CreateService", **self.params(req, name))["service"]
        return Result(service["serviceArn"], {"Name": name, "ServiceArn": service["serviceArn"]})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        changed = {k for k in {*old, *new} if old.get(k) != new.get(k)}
        if changed - set(self._IN_PLACE):
            raise NeedsReplacement()
        params = shaped(
            "ecs",
            "UpdateService",
            {k: new[k] for k in changed if k in new and k != "Tags"}
            | {"Cluster": new.get("Cluster", "default"), "Service": current.attributes["Name"]},
        )
        self.call(req, "UpdateService", **params)
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        cluster = current.properties.get("Cluster", "default")
        ecs, arn = self.client(req), current.physical_id
        ignore_missing(
            lambda: ecs.update_service(cluster=cluster, service=arn, desiredCount=0),
            "ServiceNotFoundException",
            "ServiceNotActiveException",
        )
        ignore_missing(
            lambda: ecs.delete_service(cluster=cluster, service=arn, force=True),
            "ServiceNotFoundException",
        )


class LoadBalancer(ShapedHandler):
    resource_type = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    service, api, create_operation = "ElasticLoadBalancingV2", "elbv2", "CreateLoadBalancer"
    attributes = (
        "CanonicalHostedZoneID",
        "DNSName",
        "LoadBalancerArn",
        "LoadBalancerFullName",
        "LoadBalancerName",
        "SecurityGroups",
    )
    name_property = "Name"
    extra = ("LoadBalancerAttributes",)

    def create(self, req: ResourceRequest) -> Result:
        name = req.properties.get("Name") or req.physical_name(32)
        balancer = self.call(req, "CreateLoadBalancer", **self.params(req, name))["LoadBalancers"][
            0
        ]
        arn = balancer["LoadBalancerArn"]
        attributes = req.properties.get("LoadBalancerAttributes")
        if attributes:
            self.client(req).modify_load_balancer_attributes(
                LoadBalancerArn=arn,
                Attributes=[{"Key": a["Key"], "Value": str(a["Value"])} for a in attributes],
            )
        return Result(
            arn,
            {
                "LoadBalancerArn": arn,
                "DNSName": balancer.get("DNSName", ""),
                "CanonicalHostedZoneID": balancer.get("CanonicalHostedZoneId", ""),
                "LoadBalancerName": balancer["LoadBalancerName"],
                "LoadBalancerFullName": arn.split(":loadbalancer/", 1)[-1],
                "SecurityGroups": balancer.get("SecurityGroups", []),
            },
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id
        ignore_missing(
            lambda: self.client(req).delete_load_balancer(LoadBalancerArn=arn),
            "LoadBalancerNotFound",
        )


class TargetGroup(ShapedHandler):
    resource_type = "AWS::ElasticLoadBalancingV2::TargetGroup"
    service, api, create_operation = "ElasticLoadBalancingV2", "elbv2", "CreateTargetGroup"
    attributes = ("LoadBalancerArns", "TargetGroupArn", "TargetGroupFullName", "TargetGroupName")
    name_property = "Name"
    extra = ("TargetGroupAttributes", "Targets")

    def create(self, req: ResourceRequest) -> Result:
        name = req.properties.get("Name") or req.physical_name(32)
        group = self.call(req, "CreateTargetGroup", **self.params(req, name))["TargetGroups"][0]
        arn, p, elbv2 = group["TargetGroupArn"], req.properties, self.client(req)
        if p.get("TargetGroupAttributes"):
            elbv2.modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[
                    {"Key": a["Key"], "Value": str(a["Value"])} for a in p["TargetGroupAttributes"]
                ],
            )
        if p.get("Targets"):
            elbv2.register_targets(
                TargetGroupArn=arn,
                Targets=shaped("elbv2", "RegisterTargets", {"Targets": p["Targets"]})["Targets"],
            )
        return Result(
            arn,
            {
                "TargetGroupArn": arn,
                "TargetGroupName": group["TargetGroupName"],
                "TargetGroupFullName": arn.split(":", 5)[-1],
                "LoadBalancerArns": group.get("LoadBalancerArns", []),
            },
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id
        ignore_missing(lambda: self.client(req).delete_target_group(TargetGroupArn=arn))


class Listener(ShapedHandler):
    resource_type = "AWS::ElasticLoadBalancingV2::Listener"
    service, api, create_operation = "ElasticLoadBalancingV2", "elbv2", "CreateListener"
    attributes = ("ListenerArn",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("LoadBalancerArn", "DefaultActions")
        listener = self.call(req, "CreateListener", **self.params(req))["Listeners"][0]
        arn = listener["ListenerArn"]
        return Result(arn, {"ListenerArn": arn})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        arn = current.physical_id
        ignore_missing(
            lambda: self.client(req).delete_listener(ListenerArn=arn), "ListenerNotFound"
        )


class CodeBuildProject(ShapedHandler):
    resource_type = "AWS::CodeBuild::Project"
    service, api, create_operation = "CodeBuild", "codebuild", "CreateProject"
    attributes = ("Arn",)
    name_property = "Name"
    extra = ("Triggers", "Visibility", "ResourceAccessRole")

    def create(self, req: ResourceRequest) -> Result:
        req.require("Source", "Artifacts", "Environment", "ServiceRole")
        name = req.properties.get("Name") or req.physical_name(255)
        project = self.call(req, "CreateProject", **self.params(req, name))["project"]
        return Result(name, {"Arn": project["arn"]})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(lambda: self.client(req).delete_project(name=name))


class Pipeline(ShapedHandler):
    resource_type = "AWS::CodePipeline::Pipeline"
    service, api, create_operation = "CodePipeline", "codepipeline", "CreatePipeline"
    attributes = ("Version",)
    name_property = "Name"
    extra = ("DisableInboundStageTransitions", "RestartExecutionOnUpdate", "Tags")

    def create(self, req: ResourceRequest) -> Result:
        req.require("RoleArn", "Stages")
        name = req.properties.get("Name") or req.physical_name(100)
        definition = {k: v for k, v in req.properties.items() if k not in self.extra}
        definition["Name"] = name
        params = shaped("codepipeline", "CreatePipeline", {"Pipeline": definition})
        tags = _tags(req, req.properties.get("Tags"))
        if tags:
            params["tags"] = [{"key": t["Key"], "value": t["Value"]} for t in tags]
        pipeline = self.call(req, "CreatePipeline", **params)["pipeline"]
        return Result(name, {"Version": str(pipeline.get("version", 1))})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.physical_id
        ignore_missing(
            lambda: self.client(req).delete_pipeline(name=name), "PipelineNotFoundException"
        )


HANDLERS: list[Handler] = [
    EcrRepository(),
    EcsCluster(),
    EcsTaskDefinition(),
    EcsService(),
    LoadBalancer(),
    TargetGroup(),
    Listener(),
    CodeBuildProject(),
    Pipeline(),
]
