"""API Gateway (REST v1): moto keeps the APIs; this provider imports them, and serves every
deployed stage for real.

- **Import.** ImportRestApi and PutRestApi (``merge``, ``overwrite``) read OpenAPI 3.0 and
  Swagger 2.0 documents, JSON or YAML (``openapi.py``), and build the API through moto's single
  operations (``importer.py``) — authorizers, MOCK integrations and VPC link ids included, which
  moto's own import drops or refuses. Invalid documents: BadRequestException naming every
  problem; warnings refused with ``failOnWarnings``.
- **VPC link ids** moto forgets are kept here and given back in GetIntegration, GetMethod,
  GetResource and GetResources answers.
- **Deployments** freeze the API as it is (``models.ApiSnapshot``); a stage serves its
  deployment until another one is deployed to it (CreateDeployment with the stage's name,
  UpdateStage ``/deploymentId``), as on AWS. CreateDeployment is refused when a method has no
  integration, as AWS refuses it.
- **Stages** are served on their own loopback port each (``stages.py``, ``gateway.py``):
  ``http://127.0.0.1:<port>/<stage>/...``, opened on deployment, closed by DeleteStage and
  DeleteRestApi. Stage variables and ``tracingEnabled`` apply at once (``_configure_stage``).
- **Tracing**: a stage with ``tracingEnabled`` records each request as an X-Ray segment with a
  subsegment per integration call and puts it to the cloud's X-Ray from one thread
  (``tracing.py``); nothing while the cloud runs without X-Ray.
- **Tags** (TagResource, UntagResource, GetTags) of REST APIs, stages and VPC links, with AWS's
  limits (``tags.py``). moto tags only stages: their tags stay moto's (and GetStage's); those of
  REST APIs and VPC links are kept here and put into GetRestApi(s) and GetVpcLink(s) answers.
  CreateRestApi, CreateStage and CreateVpcLink check the tags they are given.
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

import dataclasses
import json
import logging
from typing import Any

from werkzeug.wrappers import Request, Response

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from . import gateway_responses
from . import tags as tagging
from .authorizer import CognitoAuthorizer
from .definition import ApiDefinition
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
from .tracing import DAEMON_VARIABLE, SegmentSender

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

TIMEOUT_RANGE = (50, 29_000)


class ApiGatewayProvider(Provider):
    name = "apigateway"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.connections = ConnectionIds()
        self._deployments: dict[tuple[str, str], ApiSnapshot] = {}
        self._versions: dict[str, str] = {}  # info.version of imported APIs: moto drops it
        self.tags = tagging.TagStore()  # of REST APIs and VPC links: moto tags stages only
        self.tracer = SegmentSender(ctx.client, lambda: DAEMON_VARIABLE in ctx.extra_environment)
        lookups = CloudLookups(ctx)
        endpoints = Endpoints(lookups.vpc_link, lookups.load_balancers)
        self.backends = Backends(HttpClient(), endpoints, ctx.client, AwsServices(ctx.edge_url))
        self.cognito = CognitoAuthorizer(
            SigningKeys(lookups.jwks), PoolClients(lookups.pool_clients)
        )
        self.stages = StageServers(self._gateway, ctx.cors.allow_port, ctx.cors.revoke_port)

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
            "CreateDeployment": self._create_deployment,
            "CreateStage": self._create_stage,
            "UpdateStage": self._update_stage,
            "DeleteStage": self._delete_stage,
            "DeleteDeployment": self._delete_deployment,
            "DeleteRestApi": self._delete_rest_api,
            "PutGatewayResponse": self._put_gateway_response,
            "UpdateGatewayResponse": self._update_gateway_response,
            "GetGatewayResponse": self._get_gateway_response,
            "GetGatewayResponses": self._get_gateway_responses,
            "DeleteGatewayResponse": self._delete_gateway_response,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
            "GetTags": self._get_tags,
            "CreateVpcLink": self._create_vpc_link,
            "GetVpcLink": self._vpc_links_with_tags,
            "GetVpcLinks": self._vpc_links_with_tags,
            "DeleteVpcLink": self._delete_vpc_link,
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
        self._check_tags(given)
        api = call.moto()
        self.tags.put(tagging.restapi_arn(call.region, api["id"]), given)
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
            self._put_tags(api, self.tags.tags(arn, seed=api.get("tags")))
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

    # -- deployments and stages ---------------------------------------------------------------
    def _snapshot(self, region: str, api_id: str, deployment_id: str) -> ApiSnapshot:
        """The API as moto holds it now (with the VPC link ids kept here)."""
        moto = self._moto(region)
        resources = moto("GetResources", restApiId=api_id, embed=["methods"]).get("items", [])
        authorizers = moto("GetAuthorizers", restApiId=api_id).get("items", [])
        responses = moto("GetGatewayResponses", restApiId=api_id).get("items", [])
        binary = moto("GetRestApi", restApiId=api_id).get("binaryMediaTypes") or []
        return ApiSnapshot.from_api(
            api_id,
            region,
            deployment_id,
            resources,
            authorizers,
            self.connections.of_api(api_id),
            responses,
            [kind.replace("~1", "/") for kind in binary],
        )

    def _deployment(self, region: str, api_id: str, deployment_id: str) -> ApiSnapshot:
        found = self._deployments.get((api_id, deployment_id))
        if found is not None:
            return found
        known = self._moto(region)("GetDeployments", restApiId=api_id).get("items", [])
        if deployment_id not in {d["id"] for d in known}:
            raise ServiceError("NotFoundException", "Invalid Deployment identifier specified", 404)
        # Made behind our back (CloudFormation): the API as it is now is the closest there is.
        snapshot = self._snapshot(region, api_id, deployment_id)
        self._deployments[(api_id, deployment_id)] = snapshot
        return snapshot

    def _create_deployment(self, call: Call) -> dict[str, Any]:
        api_id = call.params["restApiId"]
        snapshot = self._snapshot(call.region, api_id, "")
        missing = snapshot.methods_without_integration()
        if missing:
            raise ServiceError(
                "BadRequestException", f"No integration defined for method ({missing[0]})"
            )
        answer = call.moto()
        snapshot = dataclasses.replace(snapshot, deployment_id=answer["id"])
        self._deployments[(api_id, answer["id"])] = snapshot
        if call.params.get("stageName"):
            self.stages.deploy(api_id, call.params["stageName"], snapshot)
            self._configure_stage(call.region, api_id, call.params["stageName"])
        return answer

    def _create_stage(self, call: Call) -> dict[str, Any]:
        params = call.params
        self._check_tags(params.get("tags") or {})
        snapshot = self._deployment(call.region, params["restApiId"], params["deploymentId"])
        answer = call.moto()
        self.stages.deploy(params["restApiId"], params["stageName"], snapshot)
        self._configure_stage(call.region, params["restApiId"], params["stageName"])
        return answer

    def _update_stage(self, call: Call) -> dict[str, Any]:
        params = call.params
        api_id, stage = params["restApiId"], params["stageName"]
        self._moto(call.region)("GetStage", restApiId=api_id, stageName=stage)  # NotFound
        moved = [
            op.get("value", "")
            for op in params.get("patchOperations", [])
            if op.get("path") == "/deploymentId" and op.get("op") == "replace"
        ]
        snapshot = self._deployment(call.region, api_id, moved[-1]) if moved else None
        answer = call.moto()
        if snapshot is not None:
            self.stages.deploy(api_id, stage, snapshot)
        self._configure_stage(call.region, api_id, stage)
        return answer

    def _configure_stage(self, region: str, api_id: str, stage: str) -> None:
        """The stage's variables and tracing, which apply without a deployment."""
        moto = self._moto(region)
        settings = moto("GetStage", restApiId=api_id, stageName=stage)
        tracing = bool(settings.get("tracingEnabled"))
        name = moto("GetRestApi", restApiId=api_id).get("name", "") if tracing else ""
        self.stages.configure(api_id, stage, settings.get("variables") or {}, tracing, name)

    def _delete_stage(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self.stages.close(call.params["restApiId"], call.params["stageName"])
        return answer

    def _delete_deployment(self, call: Call) -> dict[str, Any]:
        api_id, deployment_id = call.params["restApiId"], call.params["deploymentId"]
        in_use = self.stages.using(api_id, deployment_id)
        if in_use:
            raise ServiceError(
                "BadRequestException",
                "Active stages pointing to this deployment must be moved or deleted "
                f"({', '.join(in_use)})",
            )
        answer = call.moto()
        self._deployments.pop((api_id, deployment_id), None)
        return answer

    def _delete_rest_api(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        api_id = call.params["restApiId"]
        self.stages.close(api_id)
        self.connections.forget(api_id)
        self._versions.pop(api_id, None)
        self.tags.forget(tagging.restapi_arn(call.region, api_id))
        for key in [k for k in self._deployments if k[0] == api_id]:
            del self._deployments[key]
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

    # -- tags -------------------------------------------------------------------------------------
    @staticmethod
    def _check_tags(given: dict[str, str]) -> None:
        try:
            tagging.merged({}, given)
        except tagging.TagProblem as exc:
            raise ServiceError("BadRequestException", str(exc)) from None

    @staticmethod
    def _put_tags(answer: dict[str, Any], current: dict[str, str]) -> None:
        """``tags`` as API Gateway answers them: left out when there are none."""
        if current:
            answer["tags"] = current
        else:
            answer.pop("tags", None)

    def _tagged(self, call: Call) -> tuple[tagging.TaggedArn, dict[str, str]]:
        """The resource the call's ARN names, and its tags as moto has them; NotFoundException
        when there is none in this region."""
        try:
            target = tagging.parse_arn(call.params["resourceArn"])
        except tagging.TagProblem as exc:
            raise ServiceError("BadRequestException", str(exc)) from None
        except tagging.UnknownResource as exc:
            raise ServiceError("NotFoundException", str(exc), 404) from None
        missing = ServiceError("NotFoundException", "Invalid resource identifier specified", 404)
        if target.region != call.region:
            raise missing
        moto = self._moto(call.region)
        try:
            if target.kind == "restapi":
                found = moto("GetRestApi", restApiId=target.api_id)
            elif target.kind == "stage":
                found = moto("GetStage", restApiId=target.api_id, stageName=target.stage)
            else:
                found = moto("GetVpcLink", vpcLinkId=target.link_id)
        except ServiceError as exc:
            if exc.code == "NotFoundException":
                raise missing from None
            raise
        return target, found.get("tags") or {}

    def _tag_resource(self, call: Call) -> dict[str, Any]:
        target, current = self._tagged(call)
        added = call.params.get("tags") or {}
        try:
            if target.kind == "stage":
                tagging.merged(current, added)  # refused before moto records anything
                call.moto()
            else:
                self.tags.tag(target.arn, added, seed=current)
        except tagging.TagProblem as exc:
            raise ServiceError("BadRequestException", str(exc)) from None
        return {}

    def _untag_resource(self, call: Call) -> dict[str, Any]:
        target, current = self._tagged(call)
        if target.kind == "stage":
            call.moto()
        else:
            self.tags.untag(target.arn, call.params.get("tagKeys") or [], seed=current)
        return {}

    def _get_tags(self, call: Call) -> dict[str, Any]:
        target, current = self._tagged(call)
        if target.kind == "stage":
            return {"tags": call.moto().get("tags") or {}}
        return {"tags": self.tags.tags(target.arn, seed=current)}

    def _create_vpc_link(self, call: Call) -> dict[str, Any]:
        given = call.params.get("tags") or {}
        self._check_tags(given)
        link = call.moto()
        self.tags.put(tagging.vpclink_arn(call.region, link["id"]), given)
        self._put_tags(link, given)
        return link

    def _link_tags(self, link: dict[str, Any], region: str) -> None:
        if "id" in link:
            arn = tagging.vpclink_arn(region, link["id"])
            self._put_tags(link, self.tags.tags(arn, seed=link.get("tags")))

    def _vpc_links_with_tags(self, call: Call) -> dict[str, Any] | Response:
        if call.operation == "GetVpcLink":
            link = call.moto()
            self._link_tags(link, call.region)
            return link
        raw = call.forward()  # GetVpcLinks: amended on the wire, where its list is "item"
        if raw.status_code < 300:
            data = json.loads(raw.get_data())
            for link in data.get("item", []):
                self._link_tags(link, call.region)
            raw.set_data(json.dumps(data))
        return raw

    def _delete_vpc_link(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self.tags.forget(tagging.vpclink_arn(call.region, call.params["vpcLinkId"]))
        return answer

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
