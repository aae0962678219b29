"""REST APIs through the API Gateway API: a ``Body`` is imported by the API Gateway provider
(PutRestApi) — whether a stack or a learner made the API. The handlers' common ground is here
too; deployments and stages are in ``apigateway_stage``, resources and methods in
``apigateway_methods``."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ResourceFailed
from ..models import StackResource
from .base import Handler, ResourceRequest, Result, api_params, ignore_missing


def lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


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
                params[lower_first(key)] = p[key]
        if "EndpointConfiguration" in p:
            config = p["EndpointConfiguration"] or {}
            params["endpointConfiguration"] = {lower_first(k): v for k, v in config.items()}
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


HANDLERS: list[Handler] = [RestApi()]
