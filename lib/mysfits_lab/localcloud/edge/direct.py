"""Ask moto directly, in-process, past every provider route: for a provider that must see moto's
own answer to a call it also serves (the SageMaker provider lists everything moto holds, then
filters as AWS does). The request is serialized by botocore exactly as a client would send it."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from botocore.awsrequest import prepare_request_dict
from botocore.serialize import create_serializer
from werkzeug.wrappers import Response

from ..constants import DUMMY_ACCESS_KEY, LOOPBACK
from .catalog import operation_model, service_index, service_model
from .protocols import ServiceError, parse_response


def ask_moto(
    moto_app: Callable, service: str, operation: str, region: str, params: dict[str, Any]
) -> dict[str, Any]:
    """moto's answer as boto3 would return it; a ServiceError with moto's code on failure."""
    model = operation_model(service, operation)
    protocol = service_index()[service].protocol
    request = create_serializer(protocol).serialize_to_request(params, model)
    prepare_request_dict(request, endpoint_url=f"http://{LOOPBACK}")
    url = urlsplit(request["url"])
    body = request["body"]
    if isinstance(body, dict):  # query protocols: form parameters, encoded as botocore sends them
        body = urlencode(body, doseq=True)
        request["headers"]["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    body = body if isinstance(body, bytes) else body.encode()
    signing = service_model(service).signing_name
    environ = {
        "REQUEST_METHOD": request["method"],
        "PATH_INFO": url.path or "/",
        "QUERY_STRING": url.query,
        "SERVER_NAME": LOOPBACK,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": LOOPBACK,
        # moto finds the service and region in the credential scope, as from any client.
        "HTTP_AUTHORIZATION": (
            f"AWS4-HMAC-SHA256 Credential={DUMMY_ACCESS_KEY}/20260101/{region}/{signing}/"
            "aws4_request, SignedHeaders=host, Signature=0"
        ),
    }
    for name, value in request["headers"].items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    response = Response.from_app(moto_app, environ, buffered=True)
    parsed = parse_response(service, operation, protocol, response)
    if "Error" in parsed and response.status_code >= 300:
        error = parsed["Error"]
        raise ServiceError(
            error.get("Code", "InternalFailure"), error.get("Message", ""), response.status_code
        )
    return parsed
