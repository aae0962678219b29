"""What Invoke checks before a function runs, and what it answers."""

from __future__ import annotations

import base64

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.awslambda.payloads import (
    InvokeResult,
    check_json,
    check_size,
    decode_client_context,
    throttled,
)


@pytest.mark.parametrize("payload", [b"", b"  ", b"{}", b"[1, 2]", b'"text"', b"null", b"3"])
def test_json_payloads_pass(payload):
    check_json(payload)


@pytest.mark.parametrize("payload", [b"not json", b"{", b"\xff\xfe", b"[" * 100_000])
def test_anything_else_is_invalid_request_content(payload):
    with pytest.raises(ServiceError) as raised:
        check_json(payload)
    assert raised.value.code == "InvalidRequestContentException"
    assert raised.value.status == 400
    assert raised.value.message.startswith(
        "Could not parse request body into json: Could not parse payload into json: "
    )


def test_the_client_context_is_base64_json():
    encoded = base64.b64encode(b'{"custom": {"k": "v"}}').decode()
    assert decode_client_context(encoded) == {"custom": {"k": "v"}}
    assert decode_client_context(None) is None
    for bad in ("%%%", base64.b64encode(b"[1]").decode(), base64.b64encode(b"{").decode()):
        with pytest.raises(ServiceError, match="valid Base64-encoded JSON object"):
            decode_client_context(bad)


def test_what_invoke_answers():
    ok = InvokeResult(200, "r", b'{"a": 1}', executed_version="$LATEST")
    assert ok.to_api() == {"StatusCode": 200, "Payload": b'{"a": 1}', "ExecutedVersion": "$LATEST"}
    failed = InvokeResult(200, "r", b"{}", "Unhandled", "dGFpbA==", "3")
    assert failed.to_api()["FunctionError"] == "Unhandled"
    assert failed.to_api()["LogResult"] == "dGFpbA=="
    assert InvokeResult(202, "r").to_api() == {"StatusCode": 202}
    assert InvokeResult(204, "r").to_api() == {"StatusCode": 204}


def test_a_throttle():
    error = throttled("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.")
    assert (error.code, error.status, error.message) == (
        "TooManyRequestsException",
        429,
        "Rate Exceeded.",
    )
    assert error.fields == {
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "Type": "User",
    }


def test_request_size_limits():
    check_size(b"x" * 1024 * 1024, "Event")
    check_size(b"x" * 6 * 1024 * 1024, "RequestResponse")
    with pytest.raises(ServiceError) as raised:
        check_size(b"x" * (1024 * 1024 + 1), "Event")
    assert (raised.value.code, raised.value.status) == ("RequestTooLargeException", 413)
    assert raised.value.message == (
        "Request must be smaller than 1048576 bytes for the Event invocation type"
    )
    with pytest.raises(ServiceError, match="6291456 bytes for the InvokeFunction operation"):
        check_size(b"x" * (6 * 1024 * 1024 + 1), "RequestResponse")
