"""What a stack call brings to build its plan: the template body (inline, the stack's previous
one, or read from S3) and the plan's context (names, notifications, SSM parameters, AWS
managed policies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from ...edge import Call
from .errors import TemplateError, validation
from .models import Stack
from .plan import Context as PlanContext
from .sam import ManagedPolicies

MAX_URL_TEMPLATE = 1_048_576
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
Client = Callable[[str, str], Any]  # (service, region) → boto3 client


def plan_context(
    client: Client,
    managed_policies: ManagedPolicies,
    region: str,
    name: str,
    stack_id: str,
    call: Call,
) -> PlanContext:
    return PlanContext(
        region=region,
        stack_name=name,
        stack_id=stack_id,
        notifications=list(call.params.get("NotificationARNs") or []),
        ssm=_ssm(client, region),
        managed_policies=managed_policies,
    )


def _ssm(client: Client, region: str) -> Any:
    def read(name: str) -> str:
        try:
            return client("ssm", region).get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError:
            raise TemplateError(
                f"Unable to fetch parameters [{name}] from parameter store for this account."
            ) from None

    return read


def template_body(
    client: Client, params: dict[str, Any], region: str, previous: Stack | None = None
) -> str:
    if params.get("UsePreviousTemplate"):
        if previous is None:
            raise validation("UsePreviousTemplate needs an existing stack")
        return previous.template_body
    if params.get("TemplateBody") is not None:
        return str(params["TemplateBody"])
    if params.get("TemplateURL"):
        return _from_url(client, str(params["TemplateURL"]), region)
    raise validation("Either Template URL or Template Body must be specified.")


def _from_url(client: Client, url: str, region: str) -> str:
    """A template in S3, read through this cloud's S3 (any S3 URL form, or the edge's own
    path-style address that ``aws cloudformation deploy --s3-bucket`` makes locally)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = unquote(parts.path.lstrip("/"))
    if parts.scheme not in ("http", "https") or not host:
        raise validation("TemplateURL must be a supported URL.")
    if host in _LOOPBACK_HOSTS or host.startswith(("s3.", "s3-")) or host == "s3.amazonaws.com":
        bucket, _, key = path.partition("/")
    elif ".s3." in host or ".s3-" in host:
        bucket, key = host.split(".s3", 1)[0], path
    else:
        raise validation("TemplateURL must be a supported URL.")
    if not bucket or not key:
        raise validation("TemplateURL must be a supported URL.")
    try:
        body = (
            client("s3", region)
            .get_object(Bucket=bucket, Key=key)["Body"]
            .read(MAX_URL_TEMPLATE + 1)
        )
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "Access Denied")
        raise validation(f"S3 error: {message}") from None
    if len(body) > MAX_URL_TEMPLATE:
        raise validation(f"Template may not exceed {MAX_URL_TEMPLATE} bytes in size.")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise validation("Template format error: the template is not UTF-8 text") from None
