"""API Gateway (REST v1): moto keeps the APIs; this provider imports them, and serves every
deployed stage for real.

- **Import.** ImportRestApi and PutRestApi (``merge``, ``overwrite``) read OpenAPI 3.0 and
  Swagger 2.0 documents, JSON or YAML (``openapi.py``), and build the API through moto's single
  operations (``importer.py``) — authorizers, MOCK integrations and VPC link ids included, which
  moto's own import drops or refuses. Invalid documents: BadRequestException naming every
  problem; warnings refused with ``failOnWarnings``.
- **VPC link ids** moto forgets are kept here and given back in GetIntegration, GetMethod,
  GetResource and GetResources answers.
- **Deployments and stages** (``deployment_routes.py``): a deployment freezes the API as it
  is; each stage is served on its own loopback port (``stages.py``, ``gateway.py``):
  ``http://127.0.0.1:<port>/<stage>/...``, closed by DeleteStage and DeleteRestApi.
- **Tracing**: a stage with ``tracingEnabled`` records each request as an X-Ray segment with a
  subsegment per integration call and puts it to the cloud's X-Ray from one thread
  (``tracing.py``, ``core/segments.py``); nothing while the cloud runs without X-Ray.
- **Tags** (TagResource, UntagResource, GetTags) of REST APIs, stages and VPC links, with AWS's
  limits (``tag_routes.py``, ``tags.py``); those of REST APIs are put into GetRestApi(s) here.
- **Integrations** (``integrations/``): HTTP_PROXY, HTTP, MOCK, AWS (a service's action or
  path through the cloud's AWS API, a Lambda function without proxy) and AWS_PROXY (Lambda),
  with Velocity mapping templates (``integrations/vtl.py``).
- **Gateway responses**: Put/Update/Get/GetAll/DeleteGatewayResponse (moto keeps what is put;
  unconfigured types are described with API Gateway's defaults, and UpdateGatewayResponse, which
  moto lacks, is a patch of the current one) and ``x-amazon-apigateway-gateway-responses`` on
  import. They are part of the deployment (``gateway_responses.py`` applies them).

Control routes: ``GET /_localcloud/apigateway`` (``{"<api id>/<stage>": url}``),
``GET /_localcloud/apigateway/<api id>/<stage>`` (``{"api_id", "stage", "url"}``; 404 when not
deployed) and ``GET /_localcloud/apigateway/tracing`` (segments ``pending``, ``sent``,
``dropped``, ``failed``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from werkzeug.wrappers import Request, Response

from ...core.provider import Context, Provider
from ...core.segments import xray_running
from ...edge import Call, ControlRule, Route, ServiceError
from . import gateway_responses
from . import tags as tagging
from .authorizer import CognitoAuthorizer
from .definition import ApiDefinition
from .deployment_routes import DeploymentRoutes
from .gateway import StageGateway
from .importer import Connections, Moto, apply, create_api
from .integrations.base import Backends
from .integrations.endpoints import Endpoints
from .integrations.service_calls import AwsServices
from .integrations.transport import HttpClient
from .jwks import PoolClients, SigningKeys
from .lookups import CloudLookups
from .models import ApiSnapshot, ConnectionIds
from .openapi import InvalidDocument, read_definition
from .stages import StageServers
from .tag_routes import TagRoutes, check_tags, put_tags
from .tracing import SegmentSender

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

TIMEOUT_RANGE = (50, 29_000)


class ApiGatewayProvider(Provider):
    name = "apigateway"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.connections = ConnectionIds()
        self._versions: dict[str, str] = {}  # info.version of imported APIs: moto drops it
        self.tracer = SegmentSender(ctx.client, lambda: xray_running(ctx.extra_environment))
        lookups = CloudLookups(ctx)
        endpoints = Endpoints(lookups.vpc_link, lookups.load_balancers)
        self.backends = Backends(HttpClient(), endpoints, ctx.client, AwsServices(ctx.edge_url))
        self.cognito = CognitoAuthorizer(
            SigningKeys(lookups.jwks), PoolClients(lookups.pool_clients)
        )
        self.stages = StageServers(self._gateway, ctx.cors.allow_port, ctx.cors.revoke_port)
        self.deployments = DeploymentRoutes(self._moto, self.connections, self.stages)
        self.tagging = TagRoutes(self._moto)

    def routes(self) -> list[Route]:
        handlers = {
            "CreateRestApi": self._create_rest_api,
            "ImportRestApi": self._import,
            "PutRestApi": self._put_rest_api,
            "GetRestApi": self._with_version,
            "GetRestApis": self._with_version,
            "PutIntegration": self._put_integration,
            "GetIntegration": self._with_connection_ids,
            "GetMethod": self._with_connection_ids,
            "GetResource": self._with_connection_ids,
            "GetResources": self._with_connection_ids,
            "DeleteIntegration": self._forget_connection,
            "DeleteMethod": self._forget_connection,
            "DeleteResource": self._forget_connection,
            "DeleteRestApi": self._delete_rest_api,
            "PutGatewayResponse": self._put_gateway_response,
            "UpdateGatewayResponse": self._update_gateway_response,
            "GetGatewayResponse": self._get_gateway_response,
            "GetGatewayResponses": self._get_gateway_responses,
            "DeleteGatewayResponse": self._delete_gateway_response,
            **self.deployments.handlers(),
            **self.tagging.handlers(),
        }
        return [Route("apigateway", op, handler) for op, handler in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [
            ControlRule("", self._list),
            ControlRule("/tracing", self._tracing),
            ControlRule("/<api_id>/<stage>", self._one),
        ]

    # -- import ---------------------------------------------------------------------------------
    def _moto(self, region: str) -> Moto:
        return lambda operation, **params: self.ctx.moto("apigateway", operation, region, **params)

    @staticmethod
    def _definition(params: dict[str, Any]) -> ApiDefinition:
        try:
            definition = read_definition(params.get("body") or b"", params.get("parameters"))
        except InvalidDocument as exc:
            raise ServiceError("BadRequestException", str(exc)) from None
        if definition.warnings and params.get("failOnWarnings"):
            problems = InvalidDocument(definition.warnings, "Warnings found during import:")
            raise ServiceError("BadRequestException", str(problems))
        return definition

    def _import(self, call: Call) -> dict[str, Any]:
        definition = self._definition(call.params)
        api, connections = create_api(self._moto(call.region), definition)
        self._keep(api["id"], connections)
        if definition.version:
            self._versions[api["id"]] = api["version"] = definition.version
        api = self._amended(api, call.region)
        return api | ({"warnings": definition.warnings} if definition.warnings else {})

    def _create_rest_api(self, call: Call) -> dict[str, Any]:
        given = call.params.get("tags") or {}
        check_tags(given)
        api = call.moto()
        self.tagging.tags.put(tagging.restapi_arn(call.region, api["id"]), given)
        return self._amended(api, call.region)

    def _put_rest_api(self, call: Call) -> dict[str, Any]:
        params = call.params
        api_id, mode = params["restApiId"], params.get("mode", "merge")
        if mode not in ("merge", "overwrite"):
            raise ServiceError("BadRequestException", f"Invalid mode {mode!r}: merge or overwrite")
        moto = self._moto(call.region)
        moto("GetRestApi", restApiId=api_id)  # NotFoundException for an unknown API
        definition = self._definition(params)
        if mode == "overwrite":
            self.connections.forget(api_id)
        self._keep(api_id, apply(moto, api_id, definition, mode))
        if definition.version:
            self._versions[api_id] = definition.version
        answer = self._amended(moto("GetRestApi", restApiId=api_id), call.region)
        return answer | ({"warnings": definition.warnings} if definition.warnings else {})

    def _amended(self, api: dict[str, Any], region: str) -> dict[str, Any]:
        """A REST API as moto answers it, with what is kept here: its version and tags."""
        if api.get("id") in self._versions:
            api["version"] = self._versions[api["id"]]
        if "id" in api:
            arn = tagging.restapi_arn(region, api["id"])
            put_tags(api, self.tagging.tags.tags(arn, seed=api.get("tags")))
        return api

    def _with_version(self, call: Call) -> dict[str, Any] | Response:
        if call.operation == "GetRestApi":
            return self._amended(call.moto(), call.region)
        raw = call.forward()  # GetRestApis: amended on the wire, where its list is "item"
        if raw.status_code < 300:
            data = json.loads(raw.get_data())
            for api in data.get("item", []):
                self._amended(api, call.region)
            raw.set_data(json.dumps(data))
        return raw

    def _keep(self, api_id: str, connections: Connections) -> None:
        for (resource_id, verb), connection_id in connections.items():
            self.connections.set(api_id, resource_id, verb, connection_id)

    # -- integrations and their VPC link ids ----------------------------------------------------
    def _put_integration(self, call: Call) -> dict[str, Any]:
        params = call.params
        timeout = params.get("timeoutInMillis")
        if timeout is not None and not TIMEOUT_RANGE[0] <= timeout <= TIMEOUT_RANGE[1]:
            low, high = TIMEOUT_RANGE
            raise ServiceError(
                "BadRequestException", f"Timeout should be between {low} ms and {high} ms"
            )
        link = params.get("connectionId") if params.get("connectionType") == "VPC_LINK" else None
        if params.get("connectionType") == "VPC_LINK" and not link:
            raise ServiceError("BadRequestException", "ConnectionId must be set for VPC_LINK")
        answer = call.moto()
        key = (params["restApiId"], params["resourceId"], params["httpMethod"])
        self.connections.set(*key, link)
        return answer | ({"connectionId": link} if link else {})

    def _with_connection_ids(self, call: Call) -> dict[str, Any] | Response:
        api_id = call.params["restApiId"]
        if call.operation == "GetResources":
            # moto's wire answer amended in place: its list member is named "item" on the wire
            raw = call.forward()
            if raw.status_code >= 300:
                return raw
            data = json.loads(raw.get_data())
            for resource in data.get("item", []):
                self._add_ids(resource, api_id)
            raw.set_data(json.dumps(data))
            return raw
        answer = call.moto()
        if call.operation == "GetIntegration":
            self._add_id(answer, api_id, call.params["resourceId"], call.params["httpMethod"])
        elif call.operation == "GetMethod":
            integration = answer.get("methodIntegration") or {}
            self._add_id(integration, api_id, call.params["resourceId"], answer["httpMethod"])
        else:
            self._add_ids(answer, api_id)
        return answer

    def _add_ids(self, resource: dict[str, Any], api_id: str) -> None:
        for verb, method in (resource.get("resourceMethods") or {}).items():
            self._add_id(method.get("methodIntegration") or {}, api_id, resource["id"], verb)

    def _add_id(self, integration: dict[str, Any], api: str, resource: str, verb: str) -> None:
        link = self.connections.get(api, resource, verb)
        if link and integration.get("connectionType") == "VPC_LINK":
            integration["connectionId"] = link

    def _forget_connection(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        params = call.params
        self.connections.forget(params["restApiId"], params["resourceId"], params.get("httpMethod"))
        return answer

    def _delete_rest_api(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        api_id = call.params["restApiId"]
        self.stages.close(api_id)
        self.connections.forget(api_id)
        self._versions.pop(api_id, None)
        self.tagging.tags.forget(tagging.restapi_arn(call.region, api_id))
        self.deployments.forget(api_id)
        return answer

    # -- gateway responses ----------------------------------------------------------------------
    def _put_gateway_response(self, call: Call) -> dict[str, Any]:
        params = call.params
        self._check_gateway_response(
            params.get("statusCode"),
            params.get("responseParameters"),
            params.get("responseTemplates"),
        )
        return call.moto()

    def _configured(self, region: str, api_id: str, kind: str) -> dict[str, Any] | None:
        try:
            return self._moto(region)("GetGatewayResponse", restApiId=api_id, responseType=kind)
        except ServiceError as exc:
            if exc.code == "NotFoundException":
                return None
            raise

    def _get_gateway_response(self, call: Call) -> dict[str, Any]:
        api_id, kind = call.params["restApiId"], call.params["responseType"]
        self._moto(call.region)("GetRestApi", restApiId=api_id)  # NotFoundException
        return self._configured(call.region, api_id, kind) or gateway_responses.default_api(kind)

    def _get_gateway_responses(self, call: Call) -> Response:
        """Every response type: the API's configuration, else API Gateway's default (amended
        on moto's wire answer, where the list is named "item")."""
        raw = call.forward()
        if raw.status_code >= 300:
            return raw
        data = json.loads(raw.get_data())
        configured = {r["responseType"]: r for r in data.get("item", [])}
        data["item"] = [
            configured.get(kind) or gateway_responses.default_api(kind)
            for kind in gateway_responses.RESPONSE_TYPES
        ]
        raw.set_data(json.dumps(data))
        return raw

    def _update_gateway_response(self, call: Call) -> dict[str, Any]:
        api_id, kind = call.params["restApiId"], call.params["responseType"]
        self._moto(call.region)("GetRestApi", restApiId=api_id)
        current = self._configured(call.region, api_id, kind) or gateway_responses.default_api(kind)
        try:
            changed = gateway_responses.patched(current, call.params.get("patchOperations", []))
        except ValueError as exc:
            raise ServiceError("BadRequestException", str(exc)) from None
        self._check_gateway_response(
            changed.get("statusCode"),
            changed.get("responseParameters"),
            changed.get("responseTemplates"),
        )
        put = {k: v for k, v in changed.items() if k not in ("responseType", "defaultResponse")}
        return self._moto(call.region)(
            "PutGatewayResponse", restApiId=api_id, responseType=kind, **put
        )

    def _delete_gateway_response(self, call: Call) -> dict[str, Any]:
        params = call.params
        self._moto(call.region)("GetRestApi", restApiId=params["restApiId"])
        return call.moto()

    @staticmethod
    def _check_gateway_response(status: Any, parameters: Any, templates: Any) -> None:
        found = gateway_responses.problems(status, parameters, templates)
        if found:
            raise ServiceError("BadRequestException", "; ".join(found))

    def _gateway(self, stage: str, snapshot: ApiSnapshot) -> StageGateway:
        return StageGateway(
            stage, snapshot, self.cognito, self.backends, self.ctx.cors.allows, self.tracer
        )

    # -- control routes, status, lifecycle --------------------------------------------------------
    def _list(self, _request: Request) -> dict[str, str]:
        return self.stages.urls()

    def _one(self, _request: Request, api_id: str, stage: str) -> dict[str, str]:
        return {"api_id": api_id, "stage": stage, "url": self.stages.url(api_id, stage)}

    def _tracing(self, _request: Request) -> dict[str, int]:
        return self.tracer.status()

    def status(self) -> dict[str, Any]:
        return {"apigateway": self.stages.urls()}

    def stop(self) -> None:
        self.stages.close_all()
        self.tracer.stop()
        self.backends.http.close()
        if self.backends.aws is not None:
            self.backends.aws.close()
