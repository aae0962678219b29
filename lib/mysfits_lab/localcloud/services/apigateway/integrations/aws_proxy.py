"""``AWS_PROXY``: a Lambda function answers the request itself. The request becomes the REST
proxy event (``proxy_format.event``), the function is invoked through the cloud's Lambda API
(``Invoke``, its URI's function, ``integrationHttpMethod`` POST as AWS requires), and its answer
is the method response (``proxy_format.answer``).

As API Gateway answers them: a function error (an exception, ``Sandbox.Timedout`` past the
function's own timeout) or a malformed answer is 502 ``{"message": "Internal server error"}``
(the ``DEFAULT_5XX`` gateway response, its status 502); the integration's timeout
(``timeoutInMillis``, 29 s by default) a 504 ``{"message": "Endpoint request timed out"}`` — the
function runs on. The integration's ``credentials`` role is recorded, not enforced (the local
cloud does not evaluate IAM), nor is a resource policy of the function needed. The request's
``X-Amzn-Trace-Id`` (or a new one) is in the event's headers and goes with the Invoke call; on a
stage with ``tracingEnabled`` the call is a ``Lambda`` subsegment of the stage's segment, and
the Invoke names it as the parent (``tracing.py``).
"""

from __future__ import annotations

import json
import logging

from ..answers import Answer, GatewayError
from ..tracing import downstream
from . import proxy_format
from .aws import call_function, lambda_call, parse_uri, services_of
from .base import Backends, Invocation

log = logging.getLogger("mysfits_lab.localcloud.apigateway")


def invoke(invocation: Invocation, backends: Backends) -> Answer:
    integration = invocation.integration
    target = parse_uri(invocation)
    if target.function is None:
        raise GatewayError(
            "API_CONFIGURATION_ERROR",
            f"AWS_PROXY integrations invoke Lambda functions: {integration.uri!r} is none",
        )
    if (integration.http_method or "POST") != "POST":
        raise GatewayError(
            "API_CONFIGURATION_ERROR", "a Lambda proxy integration's httpMethod must be POST"
        )
    payload = json.dumps(proxy_format.event(invocation)).encode()
    timeout = integration.timeout_ms / 1000
    services = services_of(backends)
    with downstream(invocation.trace, invocation.trace_id, *lambda_call(target)) as call:
        result = call_function(services, target, payload, timeout, call.header)
        call.answered(200, len(result.payload))
        if result.function_error:
            detail = result.payload[:500].decode("utf-8", "replace")
            raise GatewayError(
                "DEFAULT_5XX",
                f"Lambda execution failed with a {result.function_error} function error: {detail}",
                "Internal server error",
                502,
            )
        return proxy_format.answer(result.payload, invocation)  # a malformed one fails the call
