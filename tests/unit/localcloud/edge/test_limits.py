"""Request bodies are capped per service as AWS caps them, and refused with that service's
error before they are read (a declared length) or as soon as they pass the cap (chunked)."""

from __future__ import annotations

import http.client
import io
import socket
from collections.abc import Iterator

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.edge.limits import (
    MB,
    S3_LOCAL_LIMIT,
    BodyTooLarge,
    limit_for,
    read_body,
)
from mysfits_lab.localcloud.edge.request import MAX_JSON_DEPTH, json_too_deep
from tests.helpers import edge_client
from tests.unit.localcloud.edge.test_catalog import request


@pytest.fixture
def cloud(make_cloud):
    return make_cloud("cloudformation")


@pytest.mark.parametrize(
    ("service", "operation", "headers", "size", "code", "status"),
    [
        ("lambda", "Invoke", {}, 6 * MB, "RequestTooLargeException", 413),
        ("lambda", "Invoke", {"X-Amz-Invocation-Type": "Event"}, MB, "RequestTooLarge", 413),
        ("lambda", "CreateFunction", {}, 69905067, "RequestEntityTooLargeException", 413),
        ("sagemaker-runtime", "InvokeEndpoint", {}, 6 * MB, "ValidationError", 413),
        ("dynamodb", "PutItem", {}, 16 * MB, "ValidationException", 400),
        ("s3", "PutObject", {}, S3_LOCAL_LIMIT, "EntityTooLarge", 400),
        ("apigateway", "ImportRestApi", {}, 10 * MB, "RequestEntityTooLargeException", 413),
        ("ecs", "RunTask", {}, 10 * MB, "RequestEntityTooLargeException", 413),
        ("iam", "CreateRole", {}, 10 * MB, "RequestEntityTooLarge", 413),
        (None, None, {}, 10 * MB, "RequestEntityTooLarge", 413),
    ],
)
def test_each_service_has_its_aws_limit(service, operation, headers, size, code, status):
    protocol = "query" if service in ("iam", None) else "json"
    limit = limit_for(service, operation, protocol, request(headers=headers))
    assert (limit.size, limit.status) == (size, status) and limit.code.startswith(code)


def test_a_payload_over_6_mb_is_refused_as_lambda_refuses_it(cloud):
    awslambda = edge_client(cloud.edge_url, "lambda")
    with pytest.raises(ClientError) as caught:
        awslambda.invoke(FunctionName="f", Payload=b" " * (6 * MB + 1))
    assert caught.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    with pytest.raises(ClientError) as at_the_limit:  # 6 MB itself is fine: no such function
        awslambda.invoke(FunctionName="f", Payload=b" " * (6 * MB))
    assert at_the_limit.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_inference_over_6_mb_is_refused_as_sagemaker_refuses_it(cloud):
    runtime = edge_client(cloud.edge_url, "sagemaker-runtime")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="knn", Body=b"1," * (3 * MB + 1))
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_a_declared_length_over_the_limit_is_answered_without_waiting_for_the_body(cloud):
    head = (
        f"PUT /bucket/big.bin HTTP/1.1\r\nHost: 127.0.0.1:{cloud.port}\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=00\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n"
        f"Content-Length: {5 * 1024**3}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=10) as sock:
        sock.sendall(head.encode())  # and not one byte of the 5 GiB
        answer = http.client.HTTPResponse(sock, method="PUT")
        answer.begin()
        body = answer.read()
    assert answer.status == 400 and b"<Code>EntityTooLarge</Code>" in body
    assert f"<ProposedSize>{5 * 1024**3}</ProposedSize>".encode() in body
    assert f"<MaxSizeAllowed>{S3_LOCAL_LIMIT}</MaxSizeAllowed>".encode() in body


class EndlessChunks(io.RawIOBase):
    """A chunked body that never ends; counts what was read of it."""

    def __init__(self) -> None:
        self.served = 0

    def read(self, size: int = -1) -> bytes:
        self.served += size
        return b"x" * size


def test_a_chunked_body_is_read_only_up_to_the_limit():
    stream = EndlessChunks()
    limit = limit_for("ecs", "RunTask", "json", request())
    environ = {"wsgi.input": stream, "HTTP_TRANSFER_ENCODING": "chunked"}
    with pytest.raises(BodyTooLarge):
        read_body(environ, limit)
    assert limit.size < stream.served <= limit.size + MB


def megabytes(count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield b"[" * MB


def test_chunked_bodies_get_their_service_errors(cloud):
    signed = "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/{}/aws4_request, "
    signed += "SignedHeaders=host, Signature=00"
    ecs = requests.post(
        f"{cloud.edge_url}/",
        data=megabytes(12),
        headers={
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RunTask",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": signed.format("ecs"),
        },
        timeout=30,
    )
    assert ecs.status_code == 413
    assert ecs.json()["__type"] == "RequestEntityTooLargeException"
    s3 = requests.put(
        f"{cloud.edge_url}/bucket/key",
        data=megabytes(2),
        headers={"Authorization": signed.format("s3"), "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
        timeout=30,
    )
    assert s3.status_code == 411 and b"<Code>MissingContentLength</Code>" in s3.content


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (b"[" * (9 * MB), True),
        (b'{"a": "' + b"[" * 1000 + b'"}', False),  # brackets in a string
        (b'{"a\\"[": "\\\\", "b": [' + b"{}," * 1000 + b"{}]}", False),  # escapes, and wide
        (b"[" * 200 + b'"unterminated', True),
    ],
)
def test_json_nesting_is_measured_on_the_text(text, too_deep):
    assert json_too_deep(text) is too_deep
