"""What every integration gets: the ``Invocation`` (the method request, matched and authorized)
and the ``Backends`` it may use; it returns an ``Answer`` or raises ``GatewayError``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..answers import Answer
from ..models import Integration, Method

if TYPE_CHECKING:
    from ..tracing import RequestTrace
    from .endpoints import Endpoints
    from .service_calls import AwsServices
    from .transport import HttpClient


@dataclass(kw_only=True)
class Request:
    """What API Gateway knows of a request: from its arrival (ids, method, path, headers), once
    routed (resource, path parameters), authorized (claims) and read (body)."""

    request_id: str
    api_id: str
    stage: str
    region: str
    http_method: str  # the method request's
    path: str  # below the stage, as sent: "/mysfits/abc%20d"
    query_string: str  # as sent
    headers: list[tuple[str, str]]  # as sent, in order
    source_ip: str
    body: bytes = b""
    resource_path: str = ""  # "/mysfits/{mysfitId}", once routed
    resource_id: str = ""
    path_parameters: dict[str, str] = field(default_factory=dict)
    greedy: str | None = None  # the greedy path parameter's name, when one matched
    claims: dict[str, Any] | None = None  # a Cognito authorizer's verified claims
    stage_variables: dict[str, str] = field(default_factory=dict)
    extended_request_id: str = ""
    deployment_id: str = ""
    request_time_ms: int = 0  # epoch milliseconds of its arrival
    protocol: str = "HTTP/1.1"
    host: str = ""  # the Host it was sent to
    trace_id: str = ""  # X-Amzn-Trace-Id: the caller's, or one made for it
    trace: RequestTrace | None = None  # on a stage with tracingEnabled: its X-Ray segment
    binary_media_types: tuple[str, ...] = ()

    @cached_property
    def header_map(self) -> dict[str, str]:
        """Lower-cased names; repeated headers joined with commas, as HTTP allows."""
        found: dict[str, str] = {}
        for name, value in self.headers:
            key = name.lower()
            found[key] = f"{found[key]},{value}" if key in found else value
        return found

    def header(self, name: str) -> str | None:
        return self.header_map.get(name.lower())

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    @property
    def content_type(self) -> str | None:
        value = self.header("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None


@dataclass(kw_only=True)
class Invocation(Request):
    """A request routed to a method with an integration: what an integration is given."""

    method: Method
    integration: Integration

    @classmethod
    def of(cls, request: Request, method: Method, integration: Integration) -> Invocation:
        known = {f.name: getattr(request, f.name) for f in fields(Request)}
        return cls(**known, method=method, integration=integration)


@dataclass
class Backends:
    """What integrations reach the world with."""

    http: HttpClient
    endpoints: Endpoints
    # a boto3 client of the cloud, (service, region) -> client
    aws_client: Callable[[str, str], Any] | None = None
    # the cloud's AWS API as AWS and AWS_PROXY integrations call it (raw calls, Lambda Invoke)
    aws: AwsServices | None = None


Handler = Callable[[Invocation, Backends], Answer]
