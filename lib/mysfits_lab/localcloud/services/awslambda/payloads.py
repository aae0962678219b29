"""What an invocation is checked for before it runs, and what Invoke answers: the payload
must be JSON, the client context base64 JSON; throttles are ``TooManyRequestsException``."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from ...edge import ServiceError


@dataclass
class InvokeResult:
    status: int
    request_id: str
    payload: bytes = b""
    function_error: str | None = None
    log_result: str | None = None
    executed_version: str | None = None

    def to_api(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"StatusCode": self.status}
        if self.status == 200:
            answer["Payload"] = self.payload
            answer["ExecutedVersion"] = self.executed_version
        for key, value in (("FunctionError", self.function_error), ("LogResult", self.log_result)):
            if value:
                answer[key] = value
        return answer


def throttled(reason: str, message: str) -> ServiceError:
    return ServiceError(
        "TooManyRequestsException", message, 429, {"Reason": reason, "Type": "User"}
    )


REQUEST_LIMITS = {"Event": 1024 * 1024, "RequestResponse": 6 * 1024 * 1024}


def check_size(payload: bytes, invocation_type: str) -> None:
    """The edge refuses larger Invoke bodies before reading them; InvokeAsync and in-process
    callers meet the same limits here."""
    limit = REQUEST_LIMITS.get(invocation_type, REQUEST_LIMITS["RequestResponse"])
    if len(payload) > limit:
        what = (
            "the Event invocation type"
            if invocation_type == "Event"
            else "the InvokeFunction operation"
        )
        raise ServiceError(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for {what}",
            413,
            {"Type": "User"},
        )


def check_json(payload: bytes) -> None:
    if not payload.strip():
        return
    try:
        json.loads(payload)
    except RecursionError:
        raise ServiceError(
            "InvalidRequestContentException",
            "Could not parse request body into json: Could not parse payload into json: "
            "the document is nested too deeply",
            400,
            {"Type": "User"},
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {exc}",
            400,
            {"Type": "User"},
        ) from None


def decode_client_context(encoded: str | None) -> dict[str, Any] | None:
    if not encoded:
        return None
    try:
        value = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ServiceError(
            "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.",
            400,
            {"Type": "User"},
        )
    return value
