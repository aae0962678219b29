"""What a stage answers: an ``Answer`` (status, headers, body chunks), and API Gateway's own
error answers — its gateway response types with their default status and message, JSON
``{"message": ...}`` with the ``x-amzn-ErrorType`` API Gateway sends where it sends one. An
API's own configuration of them is applied by ``gateway_responses.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

# API Gateway's gateway response types -> (default status, default message, x-amzn-ErrorType).
# DEFAULT_4XX and DEFAULT_5XX have no status of their own: they are the fallbacks of the others.
GATEWAY_RESPONSES: dict[str, tuple[int | None, str, str | None]] = {
    "ACCESS_DENIED": (403, "Forbidden", "ForbiddenException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (
        500,
        "Internal server error",
        "AuthorizerConfigurationException",
    ),
    "AUTHORIZER_FAILURE": (500, "Internal server error", "AuthorizerFailureException"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters", "BadRequestException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "DEFAULT_4XX": (None, "Bad Request", None),
    "DEFAULT_5XX": (None, "Internal server error", "InternalServerErrorException"),
    "EXPIRED_TOKEN": (
        403,
        "The security token included in the request is expired",
        "ExpiredTokenException",
    ),
    "INTEGRATION_FAILURE": (504, "Network error communicating with endpoint", None),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", None),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "INVALID_SIGNATURE": (403, "Forbidden", "InvalidSignatureException"),
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", None),
    "RESOURCE_NOT_FOUND": (404, "Resource not found", "ResourceNotFoundException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type", None),
    "WAF_FILTERED": (403, "Forbidden", "WAFFilteredException"),
}


def default_status(response_type: str) -> int:
    """The status of a response type (DEFAULT_4XX: 400, DEFAULT_5XX: 500)."""
    status = GATEWAY_RESPONSES[response_type][0]
    return status or (400 if response_type == "DEFAULT_4XX" else 500)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Iterable[bytes] = ()
    close: Callable[[], None] | None = None  # releases a backend connection

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class GatewayError(Exception):
    """Raised anywhere on a request's way; answered as API Gateway's gateway response."""

    def __init__(
        self,
        response_type: str,
        why: str = "",
        message: str | None = None,
        status: int | None = None,
    ):
        super().__init__(why or response_type)
        self.response_type = response_type
        self.message = message  # instead of the default one (an expired token's)
        self.status = status  # instead of the type's (a Lambda proxy's 502 is a DEFAULT_5XX)


def json_answer(status: int, data: object, headers: Iterable[tuple[str, str]] = ()) -> Answer:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Answer(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
        [body],
    )


def error_answer(
    response_type: str, message: str | None = None, status: int | None = None
) -> Answer:
    """The response type's answer as API Gateway gives it when the API does not customize it."""
    _, default, error_type = GATEWAY_RESPONSES[response_type]
    headers = [("x-amzn-ErrorType", error_type)] if error_type else []
    return json_answer(
        status or default_status(response_type), {"message": message or default}, headers
    )


class ClosingBody:
    """A streamed body that releases its backend connection when the server is done with it
    (WSGI calls ``close``)."""

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]):
        self._chunks = chunks
        self._release = release

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._release()
