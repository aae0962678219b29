"""REST APIs through the API Gateway API: a ``Body`` is imported by the API Gateway provider
(PutRestApi), a deployment is frozen by it when it is created, a stage is served on its own
port — whether a stack or a learner made them."""

from __future__ import annotations

import json
from typing import Any

from ..errors import NeedsReplacement, ResourceFailed
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _path(segment: str) -> str:
    """A patch path segment: ``/`` is written ``~1``."""
    return segment.replace("~", "~0").replace("/", "~1")


class ApiHandler(Handler):
    service = "ApiGateway"

    def api(self, req: ResourceRequest) -> Any:
        return req.client("apigateway")


class RestApi(ApiHandler):
    resource_type = "AWS::ApiGateway::RestApi"
    attributes = ("RestApiId", "RootResourceId")
    _SETTINGS = (
        "Description",
        "BinaryMediaTypes",
        "ApiKeySourceType",
        "MinimumCompressionSize",
        "DisableExecuteApiEndpoint",
        "EndpointConfiguration",
    )

    def _body(self, req: ResourceRequest, properties: dict[str, Any]) -> bytes | None:
        body = properties.get("Body")
        if body is not None:
            return (body if isinstance(body, str) else json.dumps(body)).encode()
        location = properties.get("BodyS3Location")
        if location:
            params = {"Bucket": location.get("Bucket"), "Key": location.get("Key")}
            if location.get("Version"):
                params["VersionId"] = location["Version"]
            return req.client("s3").get_object(**params)["Body"].read()
        return None

    @staticmethod
    def _title(body: bytes | None) -> str | None:
        if body is None:
            return None
        try:
            document = json.loads(body)
        except ValueError:
            import yaml

            try:
                document = yaml.safe_load(body)
            except yaml.YAMLError:
                return None
        info = document.get("info") if isinstance(document, dict) else None
        title = info.get("title") if isinstance(info, dict) else None
        return title if isinstance(title, str) else None

    def create(self, req: ResourceRequest) -> Result:
        p = req.properties
        body = self._body(req, p)
        name = p.get("Name") or self._title(body)
        if not name:
            raise ResourceFailed(
                f"Properties validation failed for resource {req.logical_id} with message: "
                "#: required key [Name] not found (or a Body with info.title)"
            )
        params: dict[str, Any] = {"name": name}
        for key in self._SETTINGS:
            if key in p:
                params[_lower_first(key)] = p[key]
        if "EndpointConfiguration" in p:
            config = p["EndpointConfiguration"] or {}
            params["endpointConfiguration"] = {_lower_first(k): v for k, v in config.items()}
        if p.get("Policy"):
            policy = p["Policy"]
            params["policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        tags = req.tag_map(p.get("Tags"))
        if tags:
            params["tags"] = tags
        api = self.api(req).create_rest_api(**api_params("apigateway", "CreateRestApi", params))
        api_id = api["id"]
        try:
            if body is not None:
                self._put(req, api_id, body, p)
        except Exception:
            ignore_missing(lambda: self.api(req).delete_rest_api(restApiId=api_id))
            raise
        return Result(api_id, self._attributes(req, api_id))

    def _put(self, req: ResourceRequest, api_id: str, body: bytes, p: dict[str, Any]) -> None:
        params: dict[str, Any] = {
            "restApiId": api_id,
            "mode": str(p.get("Mode", "overwrite")).lower(),
            "body": body,
        }
        if p.get("FailOnWarnings") is not None:
            params["failOnWarnings"] = p["FailOnWarnings"]
        if p.get("Parameters"):
            params["parameters"] = {str(k): str(v) for k, v in p["Parameters"].items()}
        self.api(req).put_rest_api(**api_params("apigateway", "PutRestApi", params))

    def _attributes(self, req: ResourceRequest, api_id: str) -> dict[str, Any]:
        resources = self.api(req).get_resources(restApiId=api_id, limit=500)["items"]
        root = next((r["id"] for r in resources if r.get("path") == "/"), "")
        return {"RestApiId": api_id, "RootResourceId": root}

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        api_id = current.physical_id or ""
        if any(old.get(k) != new.get(k) for k in ("Body", "BodyS3Location", "Mode", "Parameters")):
            body = self._body(req, new)
            if body is not None:
                self._put(req, api_id, body, new)
        operations = []
        if new.get("Name") and new.get("Name") != old.get("Name"):
            operations.append({"op": "replace", "path": "/name", "value": new["Name"]})
        if new.get("Description") != old.get("Description"):
            operations.append(
                {"op": "replace", "path": "/description", "value": new.get("Description", "")}
            )
        if operations:
            self.api(req).update_rest_api(restApiId=api_id, patchOperations=operations)
        return Result(api_id, self._attributes(req, api_id))

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        api_id = current.physical_id
        ignore_missing(lambda: self.api(req).delete_rest_api(restApiId=api_id))


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
                params[_lower_first(key)] = p[key]
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


class Resource(ApiHandler):
    resource_type = "AWS::ApiGateway::Resource"
    attributes = ("ResourceId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("RestApiId", "ParentId", "PathPart")
        p = req.properties
        resource = self.api(req).create_resource(
            restApiId=p["RestApiId"], parentId=p["ParentId"], pathPart=str(p["PathPart"])
        )["id"]
        return Result(resource, {"ResourceId": resource})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        api_id, resource = current.properties.get("RestApiId"), current.physical_id
        ignore_missing(lambda: self.api(req).delete_resource(restApiId=api_id, resourceId=resource))


class Method(ApiHandler):
    resource_type = "AWS::ApiGateway::Method"

    def create(self, req: ResourceRequest) -> Result:
        req.require("RestApiId", "ResourceId", "HttpMethod")
        p = req.properties
        api, where = (
            self.api(req),
            {
                "restApiId": p["RestApiId"],
                "resourceId": p["ResourceId"],
                "httpMethod": str(p["HttpMethod"]).upper(),
            },
        )
        method: dict[str, Any] = {**where, "authorizationType": p.get("AuthorizationType", "NONE")}
        for key in (
            "AuthorizerId",
            "ApiKeyRequired",
            "OperationName",
            "RequestModels",
            "RequestParameters",
            "RequestValidatorId",
            "AuthorizationScopes",
        ):
            if key in p:
                method[_lower_first(key)] = p[key]
        api.put_method(**api_params("apigateway", "PutMethod", method))
        try:
            self._integration(req, where, p)
        except Exception:
            ignore_missing(lambda: api.delete_method(**where))
            raise
        return Result(f"{p['ResourceId']}|{where['httpMethod']}")

    def _integration(self, req: ResourceRequest, where: dict[str, Any], p: dict[str, Any]) -> None:
        api = self.api(req)
        for response in p.get("MethodResponses") or []:
            params = {**where, "statusCode": str(response.get("StatusCode", "200"))}
            if response.get("ResponseParameters"):
                params["responseParameters"] = response["ResponseParameters"]
            if response.get("ResponseModels"):
                params["responseModels"] = response["ResponseModels"]
            api.put_method_response(**api_params("apigateway", "PutMethodResponse", params))
        integration = p.get("Integration")
        if not integration:
            return
        params = {**where, "type": str(integration.get("Type", "MOCK")).upper()}
        renamed = {"IntegrationHttpMethod": "integrationHttpMethod", "Uri": "uri"}
        for key, value in integration.items():
            if key in ("Type", "IntegrationResponses"):
                continue
            params[renamed.get(key, _lower_first(key))] = value
        api.put_integration(**api_params("apigateway", "PutIntegration", params))
        for response in integration.get("IntegrationResponses") or []:
            entry = {**where, "statusCode": str(response.get("StatusCode", "200"))}
            for key, value in response.items():
                if key != "StatusCode":
                    entry[_lower_first(key)] = value
            api.put_integration_response(
                **api_params("apigateway", "PutIntegrationResponse", entry)
            )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if any(old.get(k) != new.get(k) for k in ("RestApiId", "ResourceId", "HttpMethod")):
            raise NeedsReplacement()
        self.delete(req, current)
        return self.create(req)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        p = current.properties
        ignore_missing(
            lambda: self.api(req).delete_method(
                restApiId=p["RestApiId"],
                resourceId=p["ResourceId"],
                httpMethod=str(p["HttpMethod"]).upper(),
            )
        )


class Authorizer(ApiHandler):
    resource_type = "AWS::ApiGateway::Authorizer"
    attributes = ("AuthorizerId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("RestApiId", "Name", "Type")
        params = {_lower_first(k): v for k, v in req.properties.items()}  # ProviderARNs too
        authorizer = self.api(req).create_authorizer(
            **api_params("apigateway", "CreateAuthorizer", params)
        )["id"]
        return Result(authorizer, {"AuthorizerId": authorizer})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        api_id, authorizer = current.properties.get("RestApiId"), current.physical_id
        ignore_missing(
            lambda: self.api(req).delete_authorizer(restApiId=api_id, authorizerId=authorizer)
        )


class VpcLink(ApiHandler):
    resource_type = "AWS::ApiGateway::VpcLink"
    attributes = ("VpcLinkId",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("Name", "TargetArns")
        p = req.properties
        params: dict[str, Any] = {"name": p["Name"], "targetArns": p["TargetArns"]}
        if p.get("Description"):
            params["description"] = p["Description"]
        tags = req.tag_map(p.get("Tags"))
        if tags:
            params["tags"] = tags
        link = self.api(req).create_vpc_link(**params)["id"]
        return Result(link, {"VpcLinkId": link})

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        link = current.physical_id
        ignore_missing(lambda: self.api(req).delete_vpc_link(vpcLinkId=link))


class GatewayResponse(ApiHandler):
    resource_type = "AWS::ApiGateway::GatewayResponse"
    attributes = ("Id",)

    def create(self, req: ResourceRequest) -> Result:
        req.require("RestApiId", "ResponseType")
        params = {_lower_first(k): v for k, v in req.properties.items()}
        self.api(req).put_gateway_response(**api_params("apigateway", "PutGatewayResponse", params))
        physical = f"{req.properties['RestApiId']}|{req.properties['ResponseType']}"
        return Result(physical, {"Id": physical})

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        if any(
            current.properties.get(k) != req.properties.get(k)
            for k in ("RestApiId", "ResponseType")
        ):
            raise NeedsReplacement()
        self.create(req)
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        p = current.properties
        ignore_missing(
            lambda: self.api(req).delete_gateway_response(
                restApiId=p["RestApiId"], responseType=p["ResponseType"]
            )
        )


HANDLERS: list[Handler] = [
    RestApi(),
    Deployment(),
    Stage(),
    Resource(),
    Method(),
    Authorizer(),
    VpcLink(),
    GatewayResponse(),
]
