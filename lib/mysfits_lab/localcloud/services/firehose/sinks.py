"""Where deliveries go, through the AWS API like any client: ``S3Sink`` puts objects, and
``LambdaSink`` invokes a processor (whatever provider answers Lambda's Invoke on this cloud).
Their errors are named as Firehose names them in its error records and logs (``S3.NoSuchBucket``,
``Lambda.ResourceNotFound``, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .transform import INVOKE_LIMIT

ClientFor = Callable[[str], Any]  # region -> a boto3 client

# Lambda's API errors as Firehose reports them (its CloudWatch Logs error codes).
_LAMBDA_CODES = {
    "ResourceNotFoundException": "Lambda.ResourceNotFound",
    "AccessDeniedException": "Lambda.InvokeAccessDenied",
    "TooManyRequestsException": "Lambda.InvokeLimitExceeded",
}


class SinkError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Invocation:
    payload: bytes
    function_error: str | None = None  # Lambda's FunctionError header (Handled / Unhandled)


class S3Sink:
    def __init__(self, client_for: ClientFor):
        self._client_for = client_for

    def __call__(self, region: str, bucket: str, key: str, body: bytes) -> None:
        try:
            self._client_for(region).put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SinkError(
                f"S3.{error.get('Code', 'Unknown')}", error.get("Message", "")
            ) from None
        except BotoCoreError as exc:
            raise SinkError("InternalError", str(exc)) from None


class LambdaSink:
    def __init__(self, client_for: ClientFor):
        self._client_for = client_for

    def __call__(self, region: str, function_arn: str, payload: bytes) -> Invocation:
        try:
            answer = self._client_for(region).invoke(FunctionName=function_arn, Payload=payload)
            body = answer["Payload"].read(INVOKE_LIMIT + 1)  # Lambda caps its answers at 6 MB
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            message = error.get("Message", "")
            raise SinkError(_LAMBDA_CODES.get(code, f"Lambda.{code}"), message) from None
        except BotoCoreError as exc:
            raise SinkError("InternalError", str(exc)) from None
        return Invocation(body, answer.get("FunctionError"))
