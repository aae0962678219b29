"""Deployments and stages. A deployment freezes the API as it is (``models.ApiSnapshot``); a
stage serves its deployment until another one is deployed to it (CreateDeployment with the
stage's name, UpdateStage ``/deploymentId``), as on AWS. CreateDeployment is refused when a
method has no integration, as AWS refuses it. Stages are served on their own loopback port each
(``stages.py``), opened on deployment, closed by DeleteStage (and the provider's DeleteRestApi);
stage variables and ``tracingEnabled`` apply at once (``_configure_stage``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ...edge import Call, ServiceError
from .importer import Moto
from .models import ApiSnapshot, ConnectionIds
from .stages import StageServers
from .tag_routes import check_tags


class DeploymentRoutes:
    def __init__(
        self, moto: Callable[[str], Moto], connections: ConnectionIds, stages: StageServers
    ):
        self._moto = moto  # region -> moto's apigateway operations
        self.connections = connections
        self.stages = stages
        self._deployments: dict[tuple[str, str], ApiSnapshot] = {}

    def handlers(self) -> dict[str, Callable[[Call], Any]]:
        return {
            "CreateDeployment": self._create_deployment,
            "CreateStage": self._create_stage,
            "UpdateStage": self._update_stage,
            "DeleteStage": self._delete_stage,
            "DeleteDeployment": self._delete_deployment,
        }

    def forget(self, api_id: str) -> None:
        """A deleted API's deployments."""
        for key in [k for k in self._deployments if k[0] == api_id]:
            del self._deployments[key]

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
        check_tags(params.get("tags") or {})
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
