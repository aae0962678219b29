"""``AWS``: an integration with an AWS service's API — Firehose ``PutRecord`` in the workshop's
clickstream (``arn:aws:apigateway:<region>:firehose:action/PutRecord``), a Lambda function
without proxy (``lambda:path/2015-03-31/functions/<arn>/invocations``).

The request template (``templates.py``, chosen by Content-Type, with ``passthroughBehavior``) makes
the body; ``integration.request.header.*`` / ``querystring.*`` mappings are added; then:

- ``action/<Action>`` of a JSON service (Firehose, DynamoDB, Kinesis, ...): ``POST /`` with
  ``X-Amz-Target: <prefix>.<Action>`` and the rendered body as the operation's input
  (``Content-Type`` the mapped one, else ``application/x-amz-json-<version>``); of a query
  service (SNS, ...): ``?Action=<Action>&Version=<version>`` with the rendered form body.
- ``path/<path>``: that path of the service's REST API, ``{name}``s filled from
  ``integration.request.path.*``, the rendered body as it is.
- a Lambda function's ``invocations`` path: Invoke with the rendered body as the payload.

It goes through the cloud's own AWS API on the edge (``service_calls.py``), signed with the
cloud's dummy credentials. The integration's ``credentials`` role is recorded with the API but
not enforced here: the call is made whatever the role allows (the local cloud does not evaluate
IAM policies).

The answer selects an integration response by the service's HTTP status as a string
(``"200"``, ``"400"``: a service error is answered, not raised) — for Lambda by the
``errorMessage`` of a function error, else ``"200"`` — whose parameters and templates make the
method response; without a template the service's raw answer passes through, as on AWS. The
integration's timeout (``timeoutInMillis``, 29 s by default) is a 504 "Endpoint request timed
out"; an unknown service or URI a 500. On a stage with ``tracingEnabled`` the call is a
subsegment named for the service (``Firehose``, ``DynamoDB``, ``Lambda``) and carries its
``X-Amzn-Trace-Id`` (``tracing.py``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from botocore.exceptions import ClientError

from ....edge.catalog import ServiceInfo, service_index, service_model
from ..answers import Answer, GatewayError
from ..tracing import HEADER as TRACE_HEADER
from ..tracing import downstream
from .base import Backends, Invocation
from .parameters import fill_uri, mapped
from .selection import method_answer, select
from .service_calls import AwsServices, Invoked, Timeout, Unreachable
from .templates import request_payload

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

_URI = re.compile(r"^arn:aws[\w-]*:apigateway:([a-z0-9-]+):([\w.-]+):(action|path)/(.*)$")
_FUNCTION = re.compile(r"^(?:[\d-]+/)?functions/([^/]+)/invocations/?$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(\w+)\}")
# URI service names (endpoint prefixes) that are not botocore's service names
_ALIASES = {"states": "stepfunctions", "monitoring": "cloudwatch", "email": "ses"}
# botocore's service names -> the names X-Ray gives their calls (and their nodes)
XRAY_NAMES = {
    "dynamodb": "DynamoDB",
    "firehose": "Firehose",
    "kinesis": "Kinesis",
    "lambda": "Lambda",
    "s3": "S3",
    "sns": "SNS",
    "sqs": "SQS",
}


@dataclass(frozen=True)
class ServiceUri:
    region: str
    service: str  # as the URI names it: "firehose", "lambda", "states"
    kind: str  # "action" or "path"
    rest: str  # "PutRecord", "2015-03-31/functions/<arn>/invocations"

    @property
    def function(self) -> str | None:
        """The function of a Lambda ``invocations`` URI."""
        if self.service != "lambda" or self.kind != "path":
            return None
        found = _FUNCTION.match(self.rest)
        return found.group(1) if found else None


def parse_uri(invocation: Invocation) -> ServiceUri:
    """The integration's URI, its ``${stageVariables.x}`` and ``{name}`` parts filled."""
    uri = invocation.integration.uri or ""
    uri = _STAGE_VARIABLE.sub(lambda m: invocation.stage_variables.get(m.group(1), ""), uri)
    found = _URI.match(fill_uri(uri, invocation))
    if found is None:
        raise GatewayError("API_CONFIGURATION_ERROR", f"not an AWS service URI: {uri!r}")
    return ServiceUri(*found.groups())


def invoke(invocation: Invocation, backends: Backends) -> Answer:
    integration = invocation.integration
    target = parse_uri(invocation)
    services = services_of(backends)
    payload, content_type = request_payload(invocation)
    timeout = integration.timeout_ms / 1000
    if target.function is not None:
        with downstream(invocation.trace, invocation.trace_id, *lambda_call(target)) as call:
            result = call_function(services, target, payload, timeout, call.header)
            call.answered(200, len(result.payload))
            if result.function_error:
                call.failed()
        chosen = select(integration, _lambda_selection(result))
        return method_answer(chosen, invocation, result.payload, {}, "application/json")
    info = _service(target.service)
    method, path, headers = _service_request(invocation, target, info, content_type)
    traced = downstream(
        invocation.trace,
        invocation.trace_id,
        XRAY_NAMES.get(info.name, target.service),
        "aws",
        {"url": f"https://{target.service}.{target.region}.amazonaws.com{path}", "method": method},
        {"operation": target.rest.partition("&")[0], "region": target.region},
    )
    with traced as call:
        headers = [(n, v) for n, v in headers if n.lower() != TRACE_HEADER.lower()]
        if call.header:
            headers.append((TRACE_HEADER, call.header))
        try:
            answer = services.call(
                info.signing_name, target.region, method, path, headers, payload, timeout
            )
        except Timeout as exc:
            raise GatewayError("INTEGRATION_TIMEOUT", f"{target.service}: {exc}") from None
        except Unreachable as exc:
            raise GatewayError("INTEGRATION_FAILURE", f"{target.service}: {exc}") from None
        call.answered(answer.status, len(answer.body))
    if answer.status >= 400:
        log.info(
            "%s %s: %s answered %s", invocation.stage, target.rest, target.service, answer.status
        )
    chosen = select(integration, str(answer.status))
    return method_answer(chosen, invocation, answer.body, answer.headers, "application/json")


def _service_request(
    invocation: Invocation, target: ServiceUri, info: ServiceInfo, content_type: str | None
) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, path with query, headers) of the call an integration request makes."""
    method = invocation.integration.http_method or "POST"
    if method == "ANY":
        method = invocation.http_method
    headers = mapped(invocation, "header")
    query = mapped(invocation, "querystring")
    if target.kind == "action":
        action, _, extra = target.rest.partition("&")
        path = "/"
        if info.protocol == "json":
            version = service_model(info.name).metadata.get("jsonVersion", "1.0")
            _default(headers, "X-Amz-Target", f"{info.target_prefix}.{action}")
            _default(headers, "Content-Type", f"application/x-amz-json-{version}")
        elif info.protocol in ("query", "ec2"):
            query = [("Action", action), ("Version", info.api_version), *query]
            _default(headers, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        else:
            raise GatewayError(
                "API_CONFIGURATION_ERROR",
                f"{target.service} speaks {info.protocol}: integrate with its path/ URIs",
            )
        for pair in filter(None, extra.split("&")):  # action/GetObject&Bucket=b
            name, _, value = pair.partition("=")
            query.append((name, value))
    else:
        path = "/" + quote(target.rest, safe="/-_.~!$&'()*+,;=:@%")
        if content_type:
            _default(headers, "Content-Type", content_type)
    if query:
        path += "?" + urlencode(query)
    return method, path, headers


def call_function(
    services: AwsServices,
    target: ServiceUri,
    payload: bytes,
    timeout: float,
    trace_id: str | None = None,
) -> Invoked:
    """Invoke the URI's function (shared with ``AWS_PROXY``), API Gateway's errors raised."""
    try:
        return services.invoke(target.region, target.function or "", payload, timeout, trace_id)
    except Timeout as exc:
        raise GatewayError("INTEGRATION_TIMEOUT", f"{target.function}: {exc}") from None
    except Unreachable as exc:
        raise GatewayError("INTEGRATION_FAILURE", f"{target.function}: {exc}") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        why = f"{target.function}: Lambda {error.get('Code')}: {error.get('Message')}"
        if error.get("Code") in ("ResourceNotFoundException", "AccessDeniedException"):
            raise GatewayError("API_CONFIGURATION_ERROR", why) from None
        raise GatewayError("DEFAULT_5XX", why, "Internal server error", 502) from None


def lambda_call(target: ServiceUri) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """(name, namespace, http request, aws facts) of an Invoke as API Gateway's subsegment
    describes it."""
    function = target.function or ""
    name = function.split(":")[6] if function.startswith("arn:") else function
    url = f"https://lambda.{target.region}.amazonaws.com/{target.rest}"
    facts = {
        "function_name": name,
        "region": target.region,
        "operation": "Invoke",
        "resource_names": [name],
    }
    return "Lambda", "aws", {"url": url, "method": "POST"}, facts


def _lambda_selection(result: Invoked) -> str:
    """A function error's ``errorMessage`` (what selection patterns match for Lambda)."""
    if not result.function_error:
        return "200"
    try:
        data = json.loads(result.payload or b"{}")
    except ValueError:
        return ""
    message = data.get("errorMessage") if isinstance(data, dict) else None
    return message if isinstance(message, str) else ""


def services_of(backends: Backends) -> AwsServices:
    if backends.aws is None:
        raise GatewayError("API_CONFIGURATION_ERROR", "no AWS API to call on this cloud")
    return backends.aws


def _service(name: str) -> ServiceInfo:
    index = service_index()
    info = index.get(_ALIASES.get(name, name))
    if info is None:
        info = next((i for i in index.values() if i.signing_name == name), None)
    if info is None:
        raise GatewayError("API_CONFIGURATION_ERROR", f"unknown AWS service {name!r}")
    return info


def _default(headers: list[tuple[str, str]], name: str, value: str) -> None:
    if not any(n.lower() == name.lower() for n, _ in headers):
        headers.append((name, value))
