"""Every request checked against its operation's input shape before moto or a provider sees it,
as the service checks it: a request that cannot be read, a missing or mistyped member, a value
outside its enum, length or range, an integer wider than its type — each a 400 in the
service's own protocol, so moto never meets input it would answer with a 500.

botocore's own ``ParamValidator`` checks types, required members and minimums (it leaves
maximums and enums to the service); the edge adds what AWS checks server-side. S3 (rest-xml)
is checked more loosely: only the members outside its body, without enums or header dates,
which S3 itself reads leniently.

Enums are compared exactly, as most services compare them; the few values AWS reads in any
case (CodeBuild's ``artifacts.type``, SNS's ``Protocol``) arrive here already in their
canonical case (``enum_case.py`` rewrites the request before it is checked).
"""

from __future__ import annotations

import binascii
import contextlib
from typing import Any

from botocore.model import Shape
from botocore.validate import ParamValidator, ValidationErrors

from .catalog import operation_model
from .params import BadValue, request_params
from .protocols import ServiceError
from .request import AwsRequest

# The error AWS answers for a request that breaks its input shape, where it is not the usual
# ValidationException (json) or ValidationError (query).
VALIDATION_CODES = {
    "apigateway": "BadRequestException",
    "codebuild": "InvalidInputException",
    "cognito-idp": "InvalidParameterException",
    "ecr": "InvalidParameterException",
    "ecs": "InvalidParameterException",
    "firehose": "InvalidArgumentException",
    "lambda": "InvalidParameterValueException",
    "logs": "InvalidParameterException",
    "s3": "InvalidArgument",
    "sns": "InvalidParameter",
    "xray": "InvalidRequestException",
}
# And for a body that cannot be read at all.
MALFORMED_CODES = {"s3": "MalformedXML", "apigateway": "BadRequestException"}

_WIDTH = {"integer": 2**31, "long": 2**63}
_MAX_REPORT = 2000  # characters of the validation report sent back
_MAX_ERRORS = 10


def validation_code(service: str, protocol: str, missing_only: bool = False) -> str:
    if protocol == "ec2":
        return "MissingParameter" if missing_only else "InvalidParameterValue"
    default = "ValidationError" if protocol == "query" else "ValidationException"
    return VALIDATION_CODES.get(service, default)


def malformed_code(service: str, protocol: str) -> str:
    if protocol in ("query", "ec2"):  # a form always parses: what fails is a value
        return validation_code(service, protocol)
    return MALFORMED_CODES.get(service, "SerializationException")


def unreadable_body(service: str | None, protocol: str, exc: ValueError) -> ServiceError:
    """A body cut short, or a Content-Length that is not a number of bytes."""
    code = "IncompleteBody" if service == "s3" else malformed_code(service or "", protocol)
    return ServiceError(code, str(exc))


def wire_problem(req: AwsRequest, service: str | None, protocol: str) -> ServiceError | None:
    """What AWS refuses before it reads the parameters: escapes that escape nothing (which
    moto would decode its own way) and a signature that is not SigV4."""
    where = req.bad_escape()
    if where is not None:
        if service == "s3":
            return ServiceError("InvalidURI", "Couldn't parse the specified URI.")
        message = f"{where} has a '%' that is not followed by two hex digits"
        return ServiceError("MalformedQueryString", message, 404)
    problem = req.signature_problem()
    if problem is None:
        return None
    if protocol == "rest-xml":  # S3, or a request that only S3 clients send
        return ServiceError("AuthorizationHeaderMalformed", problem)
    code = "IncompleteSignatureException" if "json" in protocol else "IncompleteSignature"
    return ServiceError(code, problem, 403)


def checked_params(
    service: str, operation: str, protocol: str, req: AwsRequest, payload: bool = True
) -> dict[str, Any]:
    """``request_params``, checked against the operation's input shape as the service checks
    it: a ServiceError names what is wrong. With ``payload=False`` a REST operation's payload
    member (an S3 object, a bucket policy) is neither read nor required."""
    try:
        params = request_params(service, operation, protocol, req, payload)
    except BadValue as exc:
        raise ServiceError(validation_code(service, protocol), str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise ServiceError(malformed_code(service, protocol), f"malformed request: {exc}") from None
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return params
    skip = None if payload else shape.serialization.get("payload")
    errors = _Validator(strict=protocol != "rest-xml", skip=skip).check(params, shape)
    if errors.has_errors():
        report = errors.generate_report()
        if len(report) > _MAX_REPORT:
            report = report[:_MAX_REPORT] + " ..."
        raise ServiceError(validation_code(service, protocol, errors.missing_only()), report)
    return params


class _Errors(ValidationErrors):
    def __init__(self, skip: str | None):
        super().__init__()
        self._skip = skip

    def report(self, name: str, reason: str, **kwargs: Any) -> None:
        if (
            reason == "missing required field"
            and not name
            and kwargs["required_name"] == self._skip
        ):
            return  # the payload left unread
        super().report(name, reason, **kwargs)
        if len(self._errors) >= _MAX_ERRORS:  # a million wrong items: name a few, and stop
            raise _Enough

    def missing_only(self) -> bool:
        return all(reason == "missing required field" for reason, _, _ in self._errors)

    def _format_error(self, error: tuple[str, str, dict[str, Any]]) -> str:
        reason, name, extra = error
        if reason == "constraint":
            return f"Invalid value for parameter {self._get_name(name)}: {extra['message']}"
        if "param" in extra:  # botocore prints the whole value, which may be megabytes
            extra = {**extra, "param": _short(extra["param"])}
        return super()._format_error((reason, name, extra))


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 else f"{text[:77]}..."


class _Validator(ParamValidator):
    """botocore's checks, plus the maximums, enums and integer widths AWS checks (``strict``)."""

    def __init__(self, strict: bool, skip: str | None):
        self.strict = strict
        self.skip = skip

    def check(self, params: dict[str, Any], shape: Shape) -> _Errors:
        errors = _Errors(self.skip)
        with contextlib.suppress(_Enough):
            self._validate(params, shape, errors, name="")
        return errors

    def _shape_has_constraints(self, shape: Shape) -> bool:
        # Without this, items of a list of enum strings would only be type-checked.
        return super()._shape_has_constraints(shape) or (
            self.strict and bool({"max", "enum"} & set(shape.metadata))
        )

    def _validate_string(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_string(param, shape, errors, name)
        if self.strict and isinstance(param, str):
            if shape.enum and param not in shape.enum:
                allowed = ", ".join(shape.enum[:12]) + (", ..." if len(shape.enum) > 12 else "")
                _fail(errors, name, f"{_short(param)} is not one of [{allowed}]")
            _at_most(errors, name, shape, len(param), "length")

    def _validate_list(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        # Too many items is said before (and instead of) checking each of them.
        if not (self.strict and _too_many(errors, name, shape, param, list | tuple, "items")):
            super()._validate_list(param, shape, errors, name)

    def _validate_map(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        if not (self.strict and _too_many(errors, name, shape, param, dict, "entries")):
            super()._validate_map(param, shape, errors, name)

    def _validate_integer(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_integer(param, shape, errors, name)
        self._number(param, shape, errors, name)

    def _validate_long(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_long(param, shape, errors, name)
        self._number(param, shape, errors, name)

    def _validate_double(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_double(param, shape, errors, name)
        self._number(param, shape, errors, name)

    _validate_float = _validate_double

    def _number(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        if not self.strict or not isinstance(param, int | float) or isinstance(param, bool):
            return
        width = _WIDTH.get(shape.type_name)
        if width and not -width <= param < width:
            _fail(errors, name, f"{_short(param)} does not fit a {shape.type_name}")
        else:
            _at_most(errors, name, shape, param, "value")

    def _validate_blob(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_blob(param, shape, errors, name)
        if self.strict and isinstance(param, str):  # base64 text in json and query bodies
            if not _is_base64(param):
                _fail(errors, name, "is not valid base64")
            else:
                _at_most(errors, name, shape, len(param) // 4 * 3 - param.count("="), "length")
        elif self.strict and isinstance(param, bytes):
            _at_most(errors, name, shape, len(param), "length")

    def _validate_timestamp(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        if not self.strict:
            return  # S3 reads If-Modified-Since and Expires leniently
        if isinstance(param, str) and len(param) > 64:  # no date is that long; spare dateutil
            _fail(errors, name, f"{_short(param)} is not a timestamp")
            return
        super()._validate_timestamp(param, shape, errors, name)


class _Enough(Exception):  # noqa: N818 - stops the walk once the report is long enough
    pass


def _too_many(errors: _Errors, name: str, shape: Shape, value: Any, kind: Any, what: str) -> bool:
    limit = shape.metadata.get("max")
    if isinstance(value, kind) and limit is not None and len(value) > limit:
        _fail(errors, name, f"number of {what} must be less than or equal to {limit}")
        return True
    return False


def _fail(errors: _Errors, name: str, message: str) -> None:
    errors.report(name, "constraint", message=message)


def _at_most(errors: _Errors, name: str, shape: Shape, size: float, what: str) -> None:
    limit = shape.metadata.get("max")
    if limit is not None and size > limit:
        _fail(errors, name, f"{what} must be less than or equal to {limit}")


def _is_base64(text: str) -> bool:
    """Canonical base64 (alphabet, padding); a C decoder, as a function's zip is megabytes."""
    try:
        binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True
