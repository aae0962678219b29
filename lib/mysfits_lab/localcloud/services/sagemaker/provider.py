"""SageMaker on the local cloud: k-NN training jobs that train, endpoints that answer.

Control plane (``sagemaker``): moto records every resource, so List/Tags/Delete keep working;
this provider owns the truth it writes over moto's answers — training job and endpoint
statuses, transitions, artifacts, metrics and failure reasons (``models.py``) — and implements
what moto lacks (StopTrainingJob, UpdateEndpoint) or gets wrong (the filters, order and pages of
ListModels, ListEndpointConfigs, ListEndpoints and ListTrainingJobs: ``listing.py``). Runtime
(``sagemaker-runtime`` InvokeEndpoint): never forwarded to moto. Training runs in
``training.py``, hosting in ``endpoints.py``.

Control route: ``GET /_localcloud/sagemaker`` lists jobs and endpoints with their state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request

from ...constants import ACCOUNT_ID
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from . import listing
from .endpoints import Hosting
from .models import Endpoint, TrainingJob
from .training import TrainingEngine


class SageMakerProvider(Provider):
    name = "sagemaker"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.training = TrainingEngine(ctx, self.workdir() / "training")
        self.hosting = Hosting(ctx, self.workdir() / "endpoints")
        # The name check and moto's record of a new job or endpoint must not interleave.
        self._creating = threading.Lock()

    def routes(self) -> list[Route]:
        handlers: dict[str, Callable[[Call], Any]] = {
            "CreateTrainingJob": self._create_training_job,
            "DescribeTrainingJob": self._describe_training_job,
            "ListTrainingJobs": self._list,
            "StopTrainingJob": self._stop_training_job,
            "CreateEndpoint": self._create_endpoint,
            "DescribeEndpoint": self._describe_endpoint,
            "UpdateEndpoint": self._update_endpoint,
            "DeleteEndpoint": self._delete_endpoint,
            "ListEndpoints": self._list,
            "ListEndpointConfigs": self._list,
            "ListModels": self._list,
        }
        return [
            *(Route("sagemaker", operation, handler) for operation, handler in handlers.items()),
            Route("sagemaker-runtime", "InvokeEndpoint", self._invoke_endpoint),
        ]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._control)]

    def _client(self, region: str) -> Any:
        return self.ctx.client("sagemaker", region)

    # -- training jobs --------------------------------------------------------------------
    def _create_training_job(self, call: Call) -> dict[str, Any]:
        name = call.params.get("TrainingJobName", "")
        with self._creating:
            if self.training.get(call.region, name) is not None:
                arn = f"arn:aws:sagemaker:{call.region}:{ACCOUNT_ID}:training-job/{name}"
                raise ServiceError(
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and a "
                    f"training job with this name already exists ({arn})",
                )
            created = call.moto()
            job = TrainingJob(name, call.region, dict(call.params), self.ctx.clock.now())
            self.training.start(job)
        return created

    def _describe_training_job(self, call: Call) -> dict[str, Any]:
        described = call.moto()
        job = self.training.get(call.region, call.params.get("TrainingJobName", ""))
        return job.to_api(described) if job else described

    def _training_summary(self, region: str, summary: dict[str, Any]) -> dict[str, Any]:
        job = self.training.get(region, summary["TrainingJobName"])
        return job.summary_to_api(summary) if job else summary

    def _stop_training_job(self, call: Call) -> dict[str, Any]:
        job = self.training.get(call.region, call.params.get("TrainingJobName", ""))
        if job is None:
            raise ServiceError("ResourceNotFound", "Requested resource not found.")
        job.request_stop(self.ctx.clock.now())
        return {}

    # -- endpoints ------------------------------------------------------------------------
    def _create_endpoint(self, call: Call) -> dict[str, Any]:
        name = call.params.get("EndpointName", "")
        with self._creating:
            existing = self.hosting.get(call.region, name)
            if existing is not None:
                raise ServiceError(
                    "ValidationException",
                    f'Cannot create already existing endpoint "{existing.arn}".',
                )
            created = call.moto()
            endpoint = Endpoint(
                name=name,
                region=call.region,
                arn=created["EndpointArn"],
                config_name=call.params.get("EndpointConfigName", ""),
                created=self.ctx.clock.now(),
            )
            self.hosting.create(endpoint)
        return created

    def _describe_endpoint(self, call: Call) -> dict[str, Any]:
        described = call.moto()
        endpoint = self.hosting.get(call.region, call.params.get("EndpointName", ""))
        return endpoint.to_api(described) if endpoint else described

    def _update_endpoint(self, call: Call) -> dict[str, Any]:
        name, config = (
            call.params.get("EndpointName", ""),
            call.params.get("EndpointConfigName", ""),
        )
        endpoint = self.hosting.get(call.region, name)
        if endpoint is None:
            arn = f"arn:aws:sagemaker:{call.region}:{ACCOUNT_ID}:endpoint/{name.lower()}"
            raise ServiceError("ValidationException", f'Could not find endpoint "{arn}".')
        try:
            self._client(call.region).describe_endpoint_config(EndpointConfigName=config)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ServiceError(
                error.get("Code", "ValidationException"), error.get("Message", str(exc))
            ) from None
        endpoint.begin_update(self.ctx.clock.now())
        self.hosting.deploy(endpoint, config)
        return {"EndpointArn": endpoint.arn}

    def _delete_endpoint(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self.hosting.remove(call.region, call.params.get("EndpointName", ""))
        return answer

    def _endpoint_summary(self, region: str, summary: dict[str, Any]) -> dict[str, Any]:
        endpoint = self.hosting.get(region, summary["EndpointName"])
        return endpoint.summary_to_api(summary) if endpoint else summary

    # -- lists --------------------------------------------------------------------------
    def _list(self, call: Call) -> dict[str, Any]:
        operation = call.operation or ""
        entries = self._every_entry(call.region, operation)
        if operation == "ListTrainingJobs":
            entries = [self._training_summary(call.region, e) for e in entries]
        elif operation == "ListEndpoints":
            entries = [self._endpoint_summary(call.region, e) for e in entries]
        return listing.answer(operation, entries, call.params)

    def _every_entry(self, region: str, operation: str) -> list[dict[str, Any]]:
        """moto's complete, unfiltered list (asked directly, past this provider's route)."""
        key = listing.LISTINGS[operation].key
        entries: list[dict[str, Any]] = []
        token: dict[str, Any] = {}
        while True:
            page = self.ctx.moto("sagemaker", operation, region, MaxResults=100, **token)
            entries.extend(page.get(key, []))
            if not page.get("NextToken"):
                return entries
            token = {"NextToken": page["NextToken"]}

    # -- runtime --------------------------------------------------------------------------
    def _invoke_endpoint(self, call: Call) -> dict[str, Any]:
        params = call.params
        return self.hosting.invoke(
            call.region,
            params["EndpointName"],
            params.get("Body") or b"",
            params.get("ContentType"),
            params.get("Accept"),
        )

    # -- control and lifecycle ------------------------------------------------------------
    def _control(self, _request: Request) -> dict[str, Any]:
        return {
            "training_jobs": {job.name: job.state() for job in self.training.all()},
            "endpoints": {e.name: e.state() for e in self.hosting.all()},
        }

    def stop(self) -> None:
        self.training.stop()
        self.hosting.stop()

    def status(self) -> dict[str, Any]:
        return {
            "sagemaker": {
                "training_jobs": {job.name: job.state()["status"] for job in self.training.all()},
                "endpoints": {e.name: e.state()["status"] for e in self.hosting.all()},
            }
        }
