"""SageMaker on the local cloud: k-NN training jobs that train, endpoints that answer.

Control plane (JSON protocol, signing name ``sagemaker``): moto records every resource, so
List/Tags/Delete keep working; this provider owns the truth it overlays on moto's answers —
training job and endpoint statuses, transitions, artifacts, metrics and failure reasons — and
implements what moto lacks (StopTrainingJob, UpdateEndpoint). Runtime (REST
``POST /endpoints/<name>/invocations``, also signed ``sagemaker``): never forwarded to moto.

Training runs in ``sagemaker_training`` on a pool of 2 threads; hosting in
``sagemaker_endpoints``, with invocations served on the edge's own threads.
Control route: ``GET /_localcloud/sagemaker`` lists jobs and endpoints with their state.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from ..awsrequest import AwsRequest
from ..edge import Forward, json_error, json_response
from .sagemaker_endpoints import Endpoint, Hosting
from .sagemaker_training import TrainingJob, TrainingRun

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.sagemaker")

_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations$")
TRAINING_THREADS = 2
HOSTING_THREADS = 2


def _is_invocation(req: AwsRequest) -> bool:
    return req.method == "POST" and _INVOCATIONS.match(req.path) is not None


def _amend(response: Response, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    """Rewrite moto's JSON answer (errors pass through untouched)."""
    if response.status_code >= 300:
        return response
    payload = json.loads(response.get_data() or b"{}")
    response.set_data(json.dumps(change(payload), default=_json_default))
    return response


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # the JSON protocol's timestamps are epoch seconds
    return str(value)


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, default=_json_default)
    return Response(body, 200, content_type="application/x-amz-json-1.1")


def _account() -> str:
    from ..server import ACCOUNT_ID  # imported late: the server module imports the providers

    return ACCOUNT_ID


class SageMakerProvider:
    name = "sagemaker"

    def __init__(self) -> None:
        self.cloud: LocalCloud | None = None
        self.jobs: dict[tuple[str, str], TrainingJob] = {}
        self.hosting: Hosting | None = None
        self._lock = threading.Lock()
        self._shutting_down = threading.Event()
        self._training: ThreadPoolExecutor | None = None
        self._deploying: ThreadPoolExecutor | None = None

    def attach(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.hosting = Hosting(cloud)
        self._training = ThreadPoolExecutor(TRAINING_THREADS, thread_name_prefix="sm-training")
        self._deploying = ThreadPoolExecutor(HOSTING_THREADS, thread_name_prefix="sm-hosting")
        routes = {
            "CreateTrainingJob": self._create_training_job,
            "DescribeTrainingJob": self._describe_training_job,
            "ListTrainingJobs": self._list_training_jobs,
            "StopTrainingJob": self._stop_training_job,
            "CreateEndpoint": self._create_endpoint,
            "DescribeEndpoint": self._describe_endpoint,
            "UpdateEndpoint": self._update_endpoint,
            "DeleteEndpoint": self._delete_endpoint,
            "ListEndpoints": self._list_endpoints,
        }
        for operation, handler in routes.items():
            cloud.edge.on("sagemaker", operation, handler)
        cloud.edge.on("sagemaker", _is_invocation, self._invoke)
        cloud.edge.control_route("sagemaker", self._control)

    def _region(self, req: AwsRequest) -> str:
        assert self.cloud is not None
        return req.region or self.cloud.region

    def _job(self, region: str, name: str | None) -> TrainingJob | None:
        with self._lock:
            return self.jobs.get((region, name or ""))

    def _client(self, region: str) -> Any:
        assert self.cloud is not None
        return self.cloud.client("sagemaker", region)

    # -- training jobs --------------------------------------------------------------------
    def _create_training_job(self, req: AwsRequest, forward: Forward) -> Response:
        assert self.cloud is not None and self._training is not None
        body, region = req.json(), self._region(req)
        name = body.get("TrainingJobName", "")
        with self._lock:
            if (region, name) in self.jobs:
                arn = f"arn:aws:sagemaker:{region}:{_account()}:training-job/{name}"
                return json_error(
                    400,
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and a "
                    f"training job with this name already exists ({arn})",
                )
            response = forward()
            if response.status_code >= 300:
                return response
            job = TrainingJob(name=name, region=region, request=body)
            self.jobs[(region, name)] = job
        self._training.submit(TrainingRun(self.cloud, job, self._shutting_down))
        log.info("training job %s started", name)
        return response

    def _describe_training_job(self, req: AwsRequest, forward: Forward) -> Response:
        job = self._job(self._region(req), req.json().get("TrainingJobName"))
        response = forward()
        return _amend(response, job.describe) if job else response

    def _overlay_training_summaries(self, region: str, payload: dict[str, Any]) -> dict[str, Any]:
        summaries = []
        for summary in payload.get("TrainingJobSummaries", []):
            job = self._job(region, summary.get("TrainingJobName"))
            summaries.append(job.summary(summary) if job else summary)
        payload["TrainingJobSummaries"] = summaries
        return payload

    def _list_training_jobs(self, req: AwsRequest, forward: Forward) -> Response:
        region, body = self._region(req), req.json()
        wanted = body.pop("StatusEquals", None)
        if wanted is None:
            return _amend(forward(), lambda p: self._overlay_training_summaries(region, p))
        # moto filters on its own (always Completed) status: list everything, filter the truth.
        limit = body.pop("MaxResults", None)
        body.pop("NextToken", None)
        pages = self._client(region).get_paginator("list_training_jobs").paginate(**body)
        summaries = (s for page in pages for s in page["TrainingJobSummaries"])
        found = [s for s in summaries if s["TrainingJobStatus"] == wanted]
        return _json({"TrainingJobSummaries": found[:limit]})

    def _stop_training_job(self, req: AwsRequest, forward: Forward) -> Response:
        region, name = self._region(req), req.json().get("TrainingJobName", "")
        job = self._job(region, name)
        if job is None:
            return json_error(400, "ResourceNotFound", "Requested resource not found.")
        with job.lock:
            status = job.status
        if status != "InProgress":
            return json_error(
                400,
                "ValidationException",
                f"The request was rejected because the training job is in status {status}.",
            )
        job.request_stop()
        return json_response({})

    # -- endpoints --------------------------------------------------------------------------
    def _create_endpoint(self, req: AwsRequest, forward: Forward) -> Response:
        assert self.hosting is not None and self._deploying is not None
        body, region = req.json(), self._region(req)
        name, config = body.get("EndpointName", ""), body.get("EndpointConfigName", "")
        existing = self.hosting.get(region, name)
        if existing is not None:
            return json_error(
                400,
                "ValidationException",
                f'Cannot create already existing endpoint "{existing.arn}".',
            )
        response = forward()
        if response.status_code >= 300:
            return response
        arn = json.loads(response.get_data())["EndpointArn"]
        endpoint = Endpoint(name=name, region=region, arn=arn, config_name=config)
        self.hosting.add(endpoint)
        self._deploying.submit(self.hosting.deploy, endpoint, config)
        log.info("endpoint %s creating with %s", name, config)
        return response

    def _describe_endpoint(self, req: AwsRequest, forward: Forward) -> Response:
        assert self.hosting is not None
        endpoint = self.hosting.get(self._region(req), req.json().get("EndpointName", ""))
        response = forward()
        if endpoint is None:
            return response
        with self.hosting.lock:
            return _amend(response, endpoint.describe)

    def _update_endpoint(self, req: AwsRequest, forward: Forward) -> Response:
        assert self.hosting is not None and self._deploying is not None
        body, region = req.json(), self._region(req)
        name, config = body.get("EndpointName", ""), body.get("EndpointConfigName", "")
        endpoint = self.hosting.get(region, name)
        if endpoint is None:
            arn = f"arn:aws:sagemaker:{region}:{_account()}:endpoint/{name.lower()}"
            return json_error(400, "ValidationException", f'Could not find endpoint "{arn}".')
        try:
            self._client(region).describe_endpoint_config(EndpointConfigName=config)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return json_error(400, error.get("Code", "ValidationException"), error.get("Message"))
        with self.hosting.lock:
            if endpoint.status != "InService":
                state = "failed" if endpoint.status == "Failed" else "in-progress"
                return json_error(
                    400,
                    "ValidationException",
                    f'Cannot update {state} endpoint "{endpoint.arn}".',
                )
            endpoint.status = "Updating"
        self._deploying.submit(self.hosting.deploy, endpoint, config)
        log.info("endpoint %s updating to %s", name, config)
        return json_response({"EndpointArn": endpoint.arn})

    def _delete_endpoint(self, req: AwsRequest, forward: Forward) -> Response:
        assert self.hosting is not None
        response = forward()
        if response.status_code < 300:
            self.hosting.remove(self._region(req), req.json().get("EndpointName", ""))
        return response

    def _overlay_endpoint_summaries(self, region: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.hosting is not None
        for summary in payload.get("Endpoints", []):
            endpoint = self.hosting.get(region, summary.get("EndpointName", ""))
            if endpoint is not None:
                summary["EndpointStatus"] = endpoint.status
                summary["LastModifiedTime"] = endpoint.last_modified
        return payload

    def _list_endpoints(self, req: AwsRequest, forward: Forward) -> Response:
        region, body = self._region(req), req.json()
        wanted = body.pop("StatusEquals", None)
        if wanted is None:
            return _amend(forward(), lambda p: self._overlay_endpoint_summaries(region, p))
        limit = body.pop("MaxResults", None)
        body.pop("NextToken", None)
        pages = self._client(region).get_paginator("list_endpoints").paginate(**body)
        found = [e for page in pages for e in page["Endpoints"] if e["EndpointStatus"] == wanted]
        return _json({"Endpoints": found[:limit]})

    # -- runtime ----------------------------------------------------------------------------
    def _invoke(self, req: AwsRequest, _forward: Forward) -> Response:
        assert self.hosting is not None
        match = _INVOCATIONS.match(req.path)
        assert match is not None
        return self.hosting.invoke(
            self._region(req),
            match.group(1),
            req.body,
            req.headers.get("content-type"),
            req.headers.get("accept"),
        )

    # -- status -----------------------------------------------------------------------------
    def _control(self, _request: Request) -> Any:
        assert self.hosting is not None
        with self._lock:
            jobs = list(self.jobs.values())
        return {
            "training_jobs": {job.name: job.state() for job in jobs},
            "endpoints": {e.name: e.state() for e in self.hosting.all()},
        }

    def stop(self) -> None:
        self._shutting_down.set()
        for pool in (self._training, self._deploying):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if self.hosting is not None:
            self.hosting.clear()

    def status(self) -> dict[str, Any]:
        with self._lock:
            jobs = list(self.jobs.values())
        endpoints = self.hosting.all() if self.hosting else []
        return {
            "sagemaker": {
                "training_jobs": {job.name: job.status for job in jobs},
                "endpoints": {e.name: e.status for e in endpoints},
            }
        }
