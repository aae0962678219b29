"""How much of a request body the edge reads: each service's own AWS limit, refused with that
service's own error — before a byte of the body is read when ``Content-Length`` is too large,
and as soon as the limit is passed when the body is chunked. Memory stays flat whatever a
client sends (werkzeug then discards what is left of the body in bounded reads).

| service (operation) | limit | AWS's answer |
|---|---|---|
| Lambda ``Invoke`` | 6 MB (1 MB for ``Event``) | 413 ``RequestTooLargeException`` (its model) |
| Lambda, other operations | 69905067 bytes (50 MB zip, base64) | 413 ``RequestEntityTooLarge...`` |
| SageMaker runtime | 6 MB real-time payload (its model's ``BodyBlob`` max) | 413 |
| DynamoDB | 16 MB request | 400 ``ValidationException`` |
| S3 single ``PUT`` | 5 GB on AWS; **256 MiB here** | 400 ``EntityTooLarge`` (411 if chunked) |
| API Gateway and any other service | 10 MB (API Gateway's payload quota) | 413 |

S3's local limit is lower than AWS's because the local cloud keeps each request in memory while
moto stores it; the workbook's largest upload (a build context) is a few megabytes, and larger
files go through multipart uploads (``upload_file``), whose parts are each below the limit.
"""

from __future__ import annotations

import contextlib
import ctypes
from dataclasses import dataclass
from typing import IO

from .protocols import ServiceError
from .request import AwsRequest

MB = 1024 * 1024
DEFAULT_LIMIT = 10 * MB
S3_LOCAL_LIMIT = 256 * MB
LAMBDA_CODE_LIMIT = 69905067  # the figure in AWS's own message for CreateFunction
_READ_SIZE = 1 * MB
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


@dataclass(frozen=True)
class BodyLimit:
    size: int
    code: str
    status: int
    message: str
    needs_length: bool = False  # S3 refuses a chunked body (411 MissingContentLength)


class BodyTooLarge(ServiceError):
    def __init__(self, limit: BodyLimit, declared: int | None):
        fields: dict[str, int] = {}
        if limit.code == "EntityTooLarge":  # S3 says what was proposed and what is allowed
            fields = {"MaxSizeAllowed": limit.size}
            if declared is not None:
                fields["ProposedSize"] = declared
        super().__init__(limit.code, limit.message, limit.status, fields)


def return_large_buffers() -> None:
    """Make glibc give every buffer of 1 MiB or more back to the system once it is freed.
    By default it raises that threshold to the largest buffer freed so far (up to 32 MiB), so
    after one large body, the next ones stay in a thread's heap after their request is done
    and the process keeps their memory."""
    with contextlib.suppress(OSError, AttributeError, TypeError):  # not glibc: nothing to do
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 1 * MB)


def limit_for(
    service: str | None, operation: str | None, protocol: str, req: AwsRequest
) -> BodyLimit:
    """The body limit of a request, from what is known before its body is read."""
    what = operation or "this"
    if service == "lambda" and operation in ("Invoke", "InvokeWithResponseStream"):
        event = req.headers.get("x-amz-invocation-type", "").lower() == "event"
        size = 1 * MB if event else 6 * MB
        kind = "the Event invocation type" if event else "the InvokeFunction operation"
        return BodyLimit(
            size,
            "RequestTooLargeException",
            413,
            f"Request must be smaller than {size} bytes for {kind}",
        )
    if service == "lambda":
        return BodyLimit(
            LAMBDA_CODE_LIMIT,
            "RequestEntityTooLargeException",
            413,
            f"Request must be smaller than {LAMBDA_CODE_LIMIT} bytes for the {what} operation",
        )
    if service == "sagemaker-runtime":
        size = 6 * MB
        return BodyLimit(
            size, "ValidationError", 413, f"HTTP content length exceeded {size} bytes."
        )
    if service == "dynamodb":
        size = 16 * MB
        return BodyLimit(size, "ValidationException", 400, f"Request size exceeded {size} bytes")
    if service == "s3":
        return BodyLimit(
            S3_LOCAL_LIMIT,
            "EntityTooLarge",
            400,
            "Your proposed upload exceeds the maximum allowed object size (on the local cloud: "
            f"{S3_LOCAL_LIMIT // MB} MiB in one request; use a multipart upload for more).",
            needs_length=True,
        )
    code = "RequestEntityTooLargeException" if "json" in protocol else "RequestEntityTooLarge"
    return BodyLimit(
        DEFAULT_LIMIT,
        code,
        413,
        f"Request must be smaller than {DEFAULT_LIMIT} bytes for the {what} operation",
    )


def read_body(environ: dict, limit: BodyLimit) -> bytes:
    """The request body, at most ``limit.size`` bytes of it: BodyTooLarge past the limit,
    ValueError for a ``Content-Length`` that is not a number of bytes."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        if limit.needs_length:
            raise ServiceError(
                "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
            )
        return _read_at_most(stream, limit, None)
    text = (environ.get("CONTENT_LENGTH") or "0").strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"Content-Length {text[:32]!r} is not a number of bytes")
    size = int(text)
    if size > limit.size:
        raise BodyTooLarge(limit, size)
    return _read_at_most(stream, limit, size) if size else b""


def _read_at_most(stream: IO[bytes], limit: BodyLimit, size: int | None) -> bytes:
    """``size`` bytes (all of a chunked body when None), never more than the limit."""
    pieces, total = [], 0
    while size is None or total < size:
        want = _READ_SIZE if size is None else min(_READ_SIZE, size - total)
        piece = stream.read(want)
        if not piece:
            break
        total += len(piece)
        if total > limit.size:
            raise BodyTooLarge(limit, None)
        pieces.append(piece)
    if size is not None and total < size:
        raise ValueError(f"the body ended after {total} of the {size} bytes in Content-Length")
    return b"".join(pieces)
