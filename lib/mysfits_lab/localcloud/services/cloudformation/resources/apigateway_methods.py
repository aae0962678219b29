"""An API's insides through the API Gateway API: resources, methods with their integrations,
authorizers, gateway responses, and the VPC links integrations go through."""

from __future__ import annotations

from typing import Any

from ..errors import NeedsReplacement
from ..models import StackResource
from .apigateway_api import ApiHandler, lower_first
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing


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
                method[lower_first(key)] = p[key]
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
            params[renamed.get(key, lower_first(key))] = value
        api.put_integration(**api_params("apigateway", "PutIntegration", params))
        for response in integration.get("IntegrationResponses") or []:
            entry = {**where, "statusCode": str(response.get("StatusCode", "200"))}
            for key, value in response.items():
                if key != "StatusCode":
                    entry[lower_first(key)] = value
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
        params = {lower_first(k): v for k, v in req.properties.items()}  # ProviderARNs too
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
        params = {lower_first(k): v for k, v in req.properties.items()}
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
    Resource(),
    Method(),
    Authorizer(),
    VpcLink(),
    GatewayResponse(),
]
