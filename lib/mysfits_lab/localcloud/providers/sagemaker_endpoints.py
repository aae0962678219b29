"""SageMaker endpoints that load the k-NN model artifact and answer InvokeEndpoint.

moto records models, endpoint configs and endpoints (InService at once) and answers
InvokeEndpoint with a canned body. Here an endpoint is Creating until the model of its config's
first production variant is downloaded from S3 and loaded, then InService (or Failed with a
FailureReason); InvokeEndpoint runs the model with the built-in k-NN's request and response
formats and reports the container's client errors as SageMaker does: ``ModelError`` (HTTP 424)
with ``OriginalStatusCode`` 400.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.wrappers import Response

from .sagemaker_training import (
    CloudWatchLog,
    is_knn_image,
    knn_image_hint,
    parse_s3_uri,
)

if TYPE_CHECKING:
    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.sagemaker")

# So a waiter or notebook polling the endpoint sees it Creating/Updating before InService.
LOAD_PAUSE = 0.3
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class LoadFailure(Exception):
    """The endpoint cannot serve its model; the message is the FailureReason."""


@dataclass
class Endpoint:
    """The truth about one endpoint; overlaid on moto's description."""

    name: str
    region: str
    arn: str
    config_name: str
    status: str = "Creating"
    failure_reason: str | None = None
    last_modified: float = field(default_factory=time.time)
    model: Any = None  # KnnModel once loaded
    variants: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    loaded_at: float | None = None
    log: CloudWatchLog | None = None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def log_group(self) -> str:
        return f"/aws/sagemaker/Endpoints/{self.name}"

    @property
    def variant_name(self) -> str:
        return self.variants[0]["VariantName"] if self.variants else "AllTraffic"

    def describe(self, moto: dict[str, Any]) -> dict[str, Any]:
        out = dict(moto)
        out["EndpointStatus"] = self.status
        out["EndpointConfigName"] = self.config_name
        out["LastModifiedTime"] = self.last_modified
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        else:
            out.pop("FailureReason", None)
        if self.model is None:
            out.pop("ProductionVariants", None)  # nothing is deployed yet
        else:
            out["ProductionVariants"] = [
                {
                    "VariantName": variant["VariantName"],
                    "DeployedImages": [
                        {"SpecifiedImage": image, "ResolutionTime": self.loaded_at}
                        for image in self.images[:1]
                    ],
                    "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
                    "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
                    "CurrentInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                    "DesiredInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                }
                for variant in self.variants
            ]
        return out

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "config": self.config_name,
            "failure_reason": self.failure_reason,
            "variant": self.variant_name,
            "feature_dim": getattr(self.model, "feature_dim", None),
        }


def runtime_error(status: int, code: str, payload: dict[str, Any]) -> Response:
    """An error of the sagemaker-runtime REST-JSON protocol: botocore takes the code from the
    x-amzn-ErrorType header and the message from ``message``/``Message``."""
    response = Response(json.dumps(payload), status, content_type="application/json")
    response.headers["x-amzn-ErrorType"] = code
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


class Hosting:
    """The loaded models of every endpoint, served on the edge's threads."""

    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.lock = threading.Lock()
        self._log_lock = threading.Lock()
        self.work_dir = Path(cloud.state_dir) / "sagemaker" / "endpoints"

    def get(self, region: str, name: str) -> Endpoint | None:
        with self.lock:
            return self.endpoints.get((region, name))

    def add(self, endpoint: Endpoint) -> None:
        with self.lock:
            self.endpoints[(endpoint.region, endpoint.name)] = endpoint

    def remove(self, region: str, name: str) -> Endpoint | None:
        with self.lock:
            return self.endpoints.pop((region, name), None)

    def all(self) -> list[Endpoint]:
        with self.lock:
            return list(self.endpoints.values())

    def clear(self) -> None:
        with self.lock:
            self.endpoints.clear()

    # -- loading --------------------------------------------------------------------------
    def deploy(self, endpoint: Endpoint, config_name: str) -> None:
        """Load the config's model into the endpoint (runs on a worker thread).

        On creation a failure leaves the endpoint Failed; on update the old model keeps
        serving and the endpoint returns to InService with the FailureReason, as AWS rolls back.
        """
        updating = endpoint.model is not None
        time.sleep(LOAD_PAUSE)
        try:
            model, variants, images = self._load(endpoint, config_name)
        except LoadFailure as failure:
            with self.lock:
                endpoint.failure_reason = str(failure)
                endpoint.status = "InService" if updating else "Failed"
                endpoint.last_modified = time.time()
            self._say(endpoint, f"Endpoint deployment failed: {failure}")
            log.info("endpoint %s: %s", endpoint.name, failure)
            return
        except Exception as exc:  # a bug must still end Creating, as AWS would
            log.exception("endpoint %s: loading the model crashed", endpoint.name)
            with self.lock:
                endpoint.failure_reason = f"InternalServerError: {exc}"
                endpoint.status = "InService" if updating else "Failed"
                endpoint.last_modified = time.time()
            return
        with self.lock:
            endpoint.model, endpoint.variants, endpoint.images = model, variants, images
            endpoint.config_name = config_name
            endpoint.status, endpoint.failure_reason = "InService", None
            endpoint.loaded_at = endpoint.last_modified = time.time()
        self._say(
            endpoint,
            f"Model loaded: {model.hyperparameters.predictor_type}, k={model.hyperparameters.k}, "
            f"{model.sample_count} records, {model.hyperparameters.index_type}; serving "
            f"variant {endpoint.variant_name}",
        )

    def _load(self, endpoint: Endpoint, config_name: str) -> tuple[Any, list, list[str]]:
        from mysfits_lab.recommender import DataError, KnnModel

        sagemaker = self.cloud.client("sagemaker", endpoint.region)
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
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / f"{endpoint.name}-{secrets.token_hex(4)}.tar.gz"
        try:
            bucket, key = parse_s3_uri(url)
            self.cloud.client("s3").download_file(bucket, key, str(path))
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
        return model, variants, [image]

    def _say(self, endpoint: Endpoint, message: str) -> None:
        with self._log_lock:
            if endpoint.log is None:
                stream = f"{endpoint.variant_name}/i-{secrets.token_hex(8)}"
                client = self.cloud.client("logs", endpoint.region)
                endpoint.log = CloudWatchLog(client, endpoint.log_group, stream)
        endpoint.log.write(message)

    # -- serving --------------------------------------------------------------------------
    def invoke(
        self, region: str, name: str, body: bytes, content_type: str | None, accept: str | None
    ) -> Response:
        from mysfits_lab.recommender import (
            DataError,
            InferenceError,
            decode_request,
            encode_response,
            parse_accept,
        )

        endpoint = self.get(region, name)
        if endpoint is None:
            return runtime_error(
                400,
                "ValidationError",
                {"message": f"Endpoint {name} of account {_account()} not found."},
            )
        with self.lock:
            model, status, variant = endpoint.model, endpoint.status, endpoint.variant_name
        if model is None or status not in ("InService", "Updating"):
            return runtime_error(
                400,
                "ValidationError",
                {
                    "message": f"Endpoint {name} of account {endpoint.account} is not in service "
                    f"(its status is {status})."
                },
            )
        try:
            _mime, verbose = parse_accept(accept)
            features = decode_request(
                body, content_type or DEFAULT_CONTENT_TYPE, feature_dim=model.feature_dim
            )
            result = model.predict(features, verbose=verbose)
            payload, response_type = encode_response(result, accept)
        except (InferenceError, DataError) as exc:
            return self._model_error(endpoint, 400, str(exc))
        except Exception as exc:
            log.exception("endpoint %s: inference crashed", name)
            return self._model_error(endpoint, 500, f"internal error in the k-NN container: {exc}")
        response = Response(payload, 200, content_type=response_type)
        response.headers["x-Amzn-Invoked-Production-Variant"] = variant
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    def _model_error(self, endpoint: Endpoint, status: int, message: str) -> Response:
        """How SageMaker reports a container's 4xx/5xx: ModelError, HTTP 424."""
        kind = "client" if status < 500 else "server"
        code = f"{kind.upper()}_ERROR_FROM_MODEL"
        self._say(endpoint, f"{kind} error ({status}): {message}")
        region, account = endpoint.region, endpoint.account
        stream = endpoint.log.stream if endpoint.log else ""
        return runtime_error(
            424,
            "ModelError",
            {
                "ErrorCode": code,
                "Message": f"Received {kind} error ({status}) from primary with message "
                f'"{message}". See the log group {endpoint.log_group} in account {account} '
                "for more information.",
                "OriginalMessage": message,
                "OriginalStatusCode": status,
                "LogStreamArn": f"arn:aws:logs:{region}:{account}:log-group:{endpoint.log_group}"
                f":log-stream:{stream}",
            },
        )


def _account() -> str:
    from ..server import ACCOUNT_ID  # imported late: the server module imports the providers

    return ACCOUNT_ID
