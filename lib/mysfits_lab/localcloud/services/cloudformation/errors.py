"""CloudFormation's errors: those of a request (a 4xx in the query protocol) and those of a
resource, which fail the stack with a ``ResourceStatusReason`` instead."""

from __future__ import annotations

import uuid

from botocore.exceptions import ClientError, ParamValidationError

from ...edge import ServiceError


class TemplateError(ServiceError):
    """The template (or its parameters) cannot be used: ValidationError, 400."""

    def __init__(self, message: str):
        super().__init__("ValidationError", message)


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message)


def not_found(stack: str) -> ServiceError:
    return ServiceError("ValidationError", f"Stack with id {stack} does not exist")


class ResourceFailed(Exception):  # noqa: N818 - CloudFormation's word for it
    """A resource could not be created, updated or deleted: ``reason`` is what the stack's
    events say about it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Retained(Exception):  # noqa: N818 - a signal
    """The resource is left in place on deletion (DELETE_SKIPPED), for ``reason``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NeedsReplacement(Exception):  # noqa: N818 - a signal
    """The handler cannot change this resource in place: the engine replaces it."""


# API error codes → CloudFormation's handler error codes (the resource handler contract).
_HANDLER_CODES = {
    "AlreadyExists": "AlreadyExists",
    "EntityAlreadyExists": "AlreadyExists",
    "ResourceInUseException": "AlreadyExists",
    "ResourceConflictException": "AlreadyExists",
    "BucketAlreadyExists": "AlreadyExists",
    "BucketAlreadyOwnedByYou": "AlreadyExists",
    "NoSuchEntity": "NotFound",
    "NotFoundException": "NotFound",
    "ResourceNotFoundException": "NotFound",
    "NoSuchBucket": "NotFound",
    "AccessDenied": "AccessDenied",
    "AccessDeniedException": "AccessDenied",
    "LimitExceeded": "ServiceLimitExceeded",
    "LimitExceededException": "ServiceLimitExceeded",
    "Throttling": "Throttling",
    "ThrottlingException": "Throttling",
    "DependencyViolation": "ResourceConflict",
}


def from_client_error(exc: ClientError, service: str) -> ResourceFailed:
    """A failed API call in the words AWS's resource handlers use."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code = str(error.get("Code", "InternalFailure"))
    status = meta.get("HTTPStatusCode", 400)
    handler_code = _HANDLER_CODES.get(code)
    if handler_code is None:
        handler_code = "InvalidRequest" if 400 <= int(status) < 500 else "GeneralServiceException"
    request_id = meta.get("RequestId") or str(uuid.uuid4())
    message = error.get("Message") or code
    return ResourceFailed(
        f'Resource handler returned message: "{message} (Service: {service}, Status Code: '
        f'{status}, Request ID: {request_id})" (RequestToken: {uuid.uuid4()}, '
        f"HandlerErrorCode: {handler_code})"
    )


def from_param_error(exc: ParamValidationError, logical_id: str) -> ResourceFailed:
    """botocore refused the parameters a resource's properties became."""
    detail = str(exc.kwargs.get("report") or exc).strip().replace("\n", "; ")
    return ResourceFailed(
        f"Properties validation failed for resource {logical_id} with message: {detail}"
    )


def missing_properties(logical_id: str, names: list[str]) -> ResourceFailed:
    listed = ", ".join(f"#: required key [{name}] not found" for name in names)
    return ResourceFailed(
        f"Properties validation failed for resource {logical_id} with message: [{listed}]"
    )
