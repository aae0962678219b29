"""Endpoints that load the k-NN model artifact and answer InvokeEndpoint.

An endpoint is Creating until the model of its config's first production variant is downloaded
from S3 and loaded (on a pool of ``HOSTING_THREADS`` threads), then InService — or Failed with a
FailureReason. It leaves Creating (or Updating) once the model is loaded and a DescribeEndpoint
or ListEndpoints has shown that status, waiting at most ``HOLD_BUDGET`` seconds for one.
Invocations run on the edge's own threads with the built-in k-NN's request and response
formats (whole batches at once: ``mysfits_lab.recommender``), and a container's errors are
reported as SageMaker does: ``ModelError`` (HTTP 424) with ``OriginalStatusCode``,
``OriginalMessage`` and ``LogStreamArn``.
"""

from __future__ import annotations

import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ...constants import ACCOUNT_ID
from ...core.provider import Context
from ...edge import ServiceError
from .algorithm import is_knn_image, knn_image_hint
from .channels import parse_s3_uri
from .models import Endpoint

log = logging.getLogger("mysfits_lab.localcloud.sagemaker")

HOSTING_THREADS = 2
# The most a loaded model waits for a poller to see the endpoint Creating/Updating.
HOLD_BUDGET = 0.5
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class LoadFailure(Exception):
    """The endpoint cannot serve its model; the message is the FailureReason."""


class Hosting:
    """The endpoints of this cloud and their loaded models."""

    def __init__(self, ctx: Context, workdir: Path):
        self.ctx = ctx
        self.workdir = workdir
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(HOSTING_THREADS, thread_name_prefix="sm-hosting")

    def get(self, region: str, name: str) -> Endpoint | None:
        with self._lock:
            return self._endpoints.get((region, name))

    def all(self) -> list[Endpoint]:
        with self._lock:
            return list(self._endpoints.values())

    def remove(self, region: str, name: str) -> None:
        with self._lock:
            self._endpoints.pop((region, name), None)

    def create(self, endpoint: Endpoint) -> None:
        with self._lock:
            self._endpoints[(endpoint.region, endpoint.name)] = endpoint
        self.deploy(endpoint, endpoint.config_name)
        log.info("endpoint %s creating with %s", endpoint.name, endpoint.config_name)

    def deploy(self, endpoint: Endpoint, config_name: str) -> None:
        """Load ``config_name``'s model into ``endpoint`` in the background."""
        self._pool.submit(self._deploy, endpoint, config_name)

    def stop(self) -> None:
        self._stopping.set()
        for endpoint in self.all():
            endpoint.wake()  # a deployment waiting to be seen checks ``_stopping`` now
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._endpoints.clear()

    # -- loading --------------------------------------------------------------------------
    def _deploy(self, endpoint: Endpoint, config_name: str) -> None:
        try:
            model, variants, image = self._load(endpoint, config_name)
        except LoadFailure as failure:
            if self._hold(endpoint):
                return
            endpoint.load_failed(str(failure), self.ctx.clock.now())
            self._say(endpoint, f"Endpoint deployment failed: {failure}")
            log.info("endpoint %s: %s", endpoint.name, failure)
            return
        except Exception as exc:  # a bug must still end Creating, as AWS would
            log.exception("endpoint %s: loading the model crashed", endpoint.name)
            if not self._hold(endpoint):
                endpoint.load_failed(f"InternalServerError: {exc}", self.ctx.clock.now())
            return
        if self._hold(endpoint):
            return
        endpoint.loaded(model, variants, image, config_name, self.ctx.clock.now())
        hp = model.hyperparameters
        self._say(
            endpoint,
            f"Model loaded: {hp.predictor_type}, k={hp.k}, {model.sample_count} records, "
            f"{hp.index_type}; serving variant {endpoint.variant_name}",
        )

    def _hold(self, endpoint: Endpoint) -> bool:
        """Wait until a description has shown the endpoint Creating/Updating (at most
        HOLD_BUDGET seconds); True when the cloud is stopping instead."""
        endpoint.wait_seen(HOLD_BUDGET, self._stopping.is_set)
        return self._stopping.is_set()

    def _load(self, endpoint: Endpoint, config_name: str) -> tuple[Any, list[Any], str]:
        # Imported on first use: numpy and faiss would slow down every start of the cloud.
        from mysfits_lab.recommender import DataError, KnnModel

        sagemaker = self.ctx.client("sagemaker", endpoint.region)
        try:
            config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            variants = config["ProductionVariants"]
            model_name = variants[0]["ModelName"]
            described = sagemaker.describe_model(ModelName=model_name)
        except (ClientError, LookupError) as exc:
            message = f"Cannot read the endpoint configuration {config_name}: {exc}"
            raise LoadFailure(message) from None
        container = described.get("PrimaryContainer") or (described.get("Containers") or [{}])[0]
        image, url = container.get("Image"), container.get("ModelDataUrl")
        if not is_knn_image(image):
            raise LoadFailure(
                f"The image {image or '(none)'} of model {model_name} is not supported by the "
                f"local cloud; it serves the built-in k-NN algorithm only "
                f"({knn_image_hint(endpoint.region)})"
            )
        missing = LoadFailure(
            f'Failed to download model data for container "container_1" from URL: "{url}". '
            "Please ensure that there is an object located at the URL and that the role passed "
            "to CreateModel has permissions to download the object."
        )
        if not url:
            raise missing
        self._say(endpoint, f"Loading the model from {url}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"{endpoint.name}-{secrets.token_hex(4)}.tar.gz"
        try:
            bucket, key = parse_s3_uri(url)
            self.ctx.client("s3", endpoint.region).download_file(bucket, key, str(path))
        except (ValueError, ClientError, BotoCoreError):
            raise missing from None
        try:
            model = KnnModel.from_tarball(path)
        except (DataError, OSError, ValueError, KeyError, RuntimeError) as exc:
            raise LoadFailure(
                f"The primary container for production variant {variants[0]['VariantName']} "
                f"did not pass the ping health check: the model artifact {url} is not a k-NN "
                f"model ({exc})"
            ) from None
        finally:
            path.unlink(missing_ok=True)
        return model, variants, image

    def _say(self, endpoint: Endpoint, message: str) -> None:
        stream = endpoint.stream_name(f"i-{secrets.token_hex(8)}")
        try:
            self.ctx.logs.open(endpoint.region, endpoint.log_group, stream, True).write(message)
        except (ClientError, BotoCoreError) as exc:  # the endpoint serves without its log
            log.debug("cannot write to %s/%s: %s", endpoint.log_group, stream, exc)

    # -- serving --------------------------------------------------------------------------
    def invoke(
        self, region: str, name: str, body: bytes, content_type: str | None, accept: str | None
    ) -> dict[str, Any]:
        """InvokeEndpoint's output: ``Body``, ``ContentType``, ``InvokedProductionVariant``."""
        from mysfits_lab.recommender import (
            DataError,
            InferenceError,
            decode_request,
            encode_response,
            parse_accept,
        )
        from mysfits_lab.recommender.formats import response_capacity

        endpoint = self.get(region, name)
        if endpoint is None:
            raise ServiceError(
                "ValidationError", f"Endpoint {name} of account {ACCOUNT_ID} not found."
            )
        model, status, variant = endpoint.serving()
        if model is None or status not in ("InService", "Updating"):
            raise ServiceError(
                "ValidationError",
                f"Endpoint {name} of account {endpoint.account} is not in service "
                f"(its status is {status}).",
            )
        try:
            _mime, verbose = parse_accept(accept)
            # Refused before decoding: more records than one response could answer.
            neighbours = min(model.hyperparameters.k, model.sample_count) if verbose else 0
            features = decode_request(
                body,
                content_type or DEFAULT_CONTENT_TYPE,
                feature_dim=model.feature_dim,
                max_records=response_capacity(accept, neighbours),
            )
            result = model.predict(features, verbose=verbose)
            payload, response_type = encode_response(result, accept)
        except (InferenceError, DataError) as exc:
            raise self._model_error(endpoint, 400, str(exc)) from None
        except Exception as exc:
            log.exception("endpoint %s: inference crashed", name)
            message = f"internal error in the k-NN container: {exc}"
            raise self._model_error(endpoint, 500, message) from None
        return {"Body": payload, "ContentType": response_type, "InvokedProductionVariant": variant}

    def _model_error(self, endpoint: Endpoint, status: int, message: str) -> ServiceError:
        """How SageMaker reports a container's 4xx/5xx: ModelError, HTTP 424."""
        kind = "client" if status < 500 else "server"
        self._say(endpoint, f"{kind} error ({status}): {message}")
        return ServiceError(
            "ModelError",
            f'Received {kind} error ({status}) from primary with message "{message}". See the '
            f"log group {endpoint.log_group} in account {endpoint.account} for more information.",
            424,
            {
                "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
                "OriginalMessage": message,
                "OriginalStatusCode": status,
                "LogStreamArn": endpoint.log_stream_arn,
            },
        )
