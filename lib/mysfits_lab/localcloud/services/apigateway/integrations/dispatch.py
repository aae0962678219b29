"""The integration types, one module each: ``HANDLERS[type](invocation, backends) -> Answer``.

``HTTP_PROXY`` and ``HTTP`` reach loopback backends and local load balancers, ``MOCK`` answers
itself, ``AWS`` calls a service's API (or a Lambda function without proxy), ``AWS_PROXY`` a
Lambda function with the proxy event. To add one, write ``integrations/<type>.py`` with
``invoke(invocation, backends)`` and add its line here.
"""

from __future__ import annotations

from ..answers import Answer, GatewayError
from . import aws, aws_proxy, http, http_proxy, mock
from .base import Backends, Handler, Invocation

HANDLERS: dict[str, Handler] = {
    "HTTP_PROXY": http_proxy.invoke,
    "HTTP": http.invoke,
    "MOCK": mock.invoke,
    "AWS": aws.invoke,
    "AWS_PROXY": aws_proxy.invoke,
}


def invoke(invocation: Invocation, backends: Backends) -> Answer:
    handler = HANDLERS.get(invocation.integration.type)
    if handler is None:
        raise GatewayError(
            "API_CONFIGURATION_ERROR",
            f"{invocation.integration.type} integrations do not run on the local cloud yet",
        )
    return handler(invocation, backends)
