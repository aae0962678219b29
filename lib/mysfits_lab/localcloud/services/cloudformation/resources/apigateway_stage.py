"""Deployments and stages through the API Gateway API: a deployment is frozen by the API
Gateway provider when it is created, a stage is served on its own port."""

from __future__ import annotations

from typing import Any

from ..errors import NeedsReplacement
from ..models import StackResource
from .apigateway_api import ApiHandler, lower_first
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing


def _path(segment: str) -> str:
    """A patch path segment: ``/`` is written ``~1``."""
    return segment.replace("~", "~0").replace("/", "~1")


def _stage_operations(settings: dict[str, Any]) -> list[dict[str, str]]:
    """A template's stage settings as UpdateStage patch operations."""
    operations: list[dict[str, str]] = []
    if "TracingEnabled" in settings:
        operations.append(
            {
                "op": "replace",
                "path": "/tracingEnabled",
                "value": str(settings["TracingEnabled"]).lower(),
            }
        )
    for name, value in (settings.get("Variables") or {}).items():
        operations.append({"op": "replace", "path": f"/variables/{name}", "value": str(value)})
    for method in settings.get("MethodSettings") or []:
        resource = str(method.get("ResourcePath", "/*"))
        prefix = f"/{_path(resource[1:] if resource.startswith('/') else resource) or '~1'}"
        prefix = f"{prefix}/{method.get('HttpMethod', '*')}"
        for key, path in (
            ("MetricsEnabled", "metrics/enabled"),
            ("LoggingLevel", "logging/loglevel"),
            ("DataTraceEnabled", "logging/dataTrace"),
            ("ThrottlingBurstLimit", "throttling/burstLimit"),
            ("ThrottlingRateLimit", "throttling/rateLimit"),
            ("CachingEnabled", "caching/enabled"),
        ):
            if key in method:
                value = method[key]
                text = str(value).lower() if isinstance(value, bool) else str(value)
                operations.append({"op": "replace", "path": f"{prefix}/{path}", "value": text})
    return operations


class Deployment(ApiHandler):
    resource_type = "AWS::ApiGateway::Deployment"
    attributes = ("DeploymentId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("RestApiId")
        p = req.properties
        params: dict[str, Any] = {"restApiId": p["RestApiId"]}
        if p.get("Description"):
            params["description"] = p["Description"]
        if p.get("StageName"):
            params["stageName"] = p["StageName"]
            settings = p.get("StageDescription") or {}
            if settings.get("Description"):
                params["stageDescription"] = settings["Description"]
            if settings.get("Variables"):
                params["variables"] = {k: str(v) for k, v in settings["Variables"].items()}
            if "TracingEnabled" in settings:
                params["tracingEnabled"] = settings["TracingEnabled"]
        deployment = self.api(req).create_deployment(
            **api_params("apigateway", "CreateDeployment", params)
        )["id"]
        settings = p.get("StageDescription") or {}
        operations = [
            op
            for op in _stage_operations(settings)
            if op["path"] != "/tracingEnabled" and not op["path"].startswith("/variables/")
        ]
        if p.get("StageName") and operations:
            self.api(req).update_stage(
                restApiId=p["RestApiId"], stageName=p["StageName"], patchOperations=operations
            )
        return Result(deployment, {"DeploymentId": deployment})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if any(
            old.get(k) != new.get(k) for k in ("RestApiId", "StageName", "DeploymentCanarySettings")
        ):
            raise NeedsReplacement()
        if new.get("Description") != old.get("Description"):
            self.api(req).update_deployment(
                restApiId=new["RestApiId"],
                deploymentId=current.physical_id,
                patchOperations=[
                    {"op": "replace", "path": "/description", "value": new.get("Description", "")}
                ],
            )
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        p, api = current.properties, self.api(req)
        if p.get("StageName"):
            # The stage this deployment created goes with it, unless another deployment took it.
            try:
                stage = api.get_stage(restApiId=p["RestApiId"], stageName=p["StageName"])
            except Exception:  # noqa: BLE001 - gone already
                stage = None
            if stage and stage.get("deploymentId") == current.physical_id:
                ignore_missing(
                    lambda: api.delete_stage(restApiId=p["RestApiId"], stageName=p["StageName"])
                )
        ignore_missing(
            lambda: api.delete_deployment(
                restApiId=p["RestApiId"], deploymentId=current.physical_id
            ),
            "BadRequestException",
        )


class Stage(ApiHandler):
    resource_type = "AWS::ApiGateway::Stage"

    def create(self, req: ResourceRequest) -> Result:
        req.require("RestApiId", "DeploymentId")
        p = req.properties
        name = p.get("StageName") or req.physical_name(128)
        params: dict[str, Any] = {
            "restApiId": p["RestApiId"],
            "stageName": name,
            "deploymentId": p["DeploymentId"],
        }
        for key in ("Description", "CacheClusterEnabled", "CacheClusterSize", "TracingEnabled"):
            if key in p:
                params[lower_first(key)] = p[key]
        if p.get("Variables"):
            params["variables"] = {k: str(v) for k, v in p["Variables"].items()}
        tags = req.tag_map(p.get("Tags"))
        if tags:
            params["tags"] = tags
        api = self.api(req)
        api.create_stage(**api_params("apigateway", "CreateStage", params))
        operations = [
            op
            for op in _stage_operations(p)
            if op["path"] != "/tracingEnabled" and not op["path"].startswith("/variables/")
        ]
        if operations:
            try:
                api.update_stage(
                    restApiId=p["RestApiId"], stageName=name, patchOperations=operations
                )
            except Exception:
                ignore_missing(lambda: api.delete_stage(restApiId=p["RestApiId"], stageName=name))
                raise
        return Result(name)

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if any(old.get(k) != new.get(k) for k in ("RestApiId", "StageName")):
            raise NeedsReplacement()
        operations = []
        if new.get("DeploymentId") != old.get("DeploymentId"):
            operations.append(
                {"op": "replace", "path": "/deploymentId", "value": new["DeploymentId"]}
            )
        if new.get("Description") != old.get("Description"):
            operations.append(
                {"op": "replace", "path": "/description", "value": new.get("Description", "")}
            )
        changed = {
            k: new[k]
            for k in ("TracingEnabled", "Variables", "MethodSettings")
            if k in new and new.get(k) != old.get(k)
        }
        operations.extend(_stage_operations(changed))
        for name in set(old.get("Variables") or {}) - set(new.get("Variables") or {}):
            operations.append({"op": "remove", "path": f"/variables/{name}"})
        if operations:
            self.api(req).update_stage(
                restApiId=new["RestApiId"],
                stageName=current.physical_id,
                patchOperations=operations,
            )
        return Result(current.physical_id or "")

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        api_id, stage = current.properties.get("RestApiId"), current.physical_id
        ignore_missing(lambda: self.api(req).delete_stage(restApiId=api_id, stageName=stage))


HANDLERS: list[Handler] = [
    Deployment(),
    Stage(),
]
