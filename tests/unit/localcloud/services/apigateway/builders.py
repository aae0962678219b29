"""Requests, integrations and fake AWS services for the integration tests without a cloud."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mysfits_lab.localcloud.services.apigateway.integrations.base import (
    Backends,
    Invocation,
    Request,
)
from mysfits_lab.localcloud.services.apigateway.integrations.service_calls import (
    Invoked,
    ServiceAnswer,
    Timeout,
)
from mysfits_lab.localcloud.services.apigateway.models import (
    Integration,
    MappedResponse,
    Method,
)

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:PostQuestion"
LAMBDA_URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"
REQUEST_TIME_MS = 1_700_000_000_123  # Tue, 14 Nov 2023 22:13:20.123 UTC


def request(**fields: Any) -> Request:
    values: dict[str, Any] = {
        "request_id": "c0ffee00-0000-4000-8000-000000000001",
        "extended_request_id": "Ab12Cd34Ef56Gh=",
        "api_id": "a1b2c3d4e5",
        "stage": "prod",
        "region": "us-east-1",
        "deployment_id": "dep123",
        "http_method": "POST",
        "resource_path": "/questions",
        "resource_id": "res123",
        "path": "/questions",
        "query_string": "",
        "headers": [("Host", "127.0.0.1:5000"), ("Content-Type", "application/json")],
        "body": b"",
        "source_ip": "127.0.0.1",
        "request_time_ms": REQUEST_TIME_MS,
        "host": "127.0.0.1:5000",
        "trace_id": "Root=1-655400a0-0123456789abcdef01234567",
    }
    return Request(**(values | fields))


def invocation(integration: Integration, **fields: Any) -> Invocation:
    return Invocation.of(request(**fields), Method(http_method="POST"), integration)


def response(status: str, pattern: str | None = None, **extra: Any) -> MappedResponse:
    return MappedResponse(
        status_code=status,
        selection_pattern=pattern,
        parameters=extra.get("parameters", {}),
        templates=extra.get("templates", {}),
    )


@dataclass
class FakeServices:
    """AwsServices without a cloud: records the calls, answers what it is told."""

    answer: ServiceAnswer = field(
        default_factory=lambda: ServiceAnswer(200, {}, b'{"RecordId":"r-1","Encrypted":false}')
    )
    invoked: Invoked = field(default_factory=lambda: Invoked(b"{}"))
    timeout: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)

    def call(self, signing_name, region, method, path, headers, body, timeout_s) -> ServiceAnswer:
        self.calls.append(
            {
                "signing_name": signing_name,
                "region": region,
                "method": method,
                "path": path,
                "headers": dict(headers),
                "body": body,
                "timeout_s": timeout_s,
            }
        )
        if self.timeout:
            raise Timeout("read timed out")
        return self.answer

    def invoke(self, region, function, payload, timeout_s, trace_id=None) -> Invoked:
        self.calls.append(
            {
                "region": region,
                "function": function,
                "payload": payload,
                "timeout_s": timeout_s,
                "trace_id": trace_id,
            }
        )
        if self.timeout:
            raise Timeout("read timed out")
        return self.invoked

    def event(self) -> dict[str, Any]:
        return json.loads(self.calls[-1]["payload"])


def backends(services: FakeServices) -> Backends:
    return Backends(http=None, endpoints=None, aws=services)  # type: ignore[arg-type]
