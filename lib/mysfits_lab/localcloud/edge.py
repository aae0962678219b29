"""The edge: one port for every AWS API call, routed to a provider or to moto.

A provider registers a handler for (service, operation) — or for a predicate over the request
when the protocol is REST-shaped. A handler receives the request and a ``forward`` callable that
asks moto; so it can replace an operation, or let moto record it and act on or amend the answer.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from .awsrequest import AwsRequest

log = logging.getLogger("mysfits_lab.localcloud.edge")

Forward = Callable[[], Response]
Handler = Callable[[AwsRequest, Forward], Response]
Matcher = Callable[[AwsRequest], bool]
ControlHandler = Callable[[Request], Any]

CONTROL_PREFIX = "/_localcloud/"


@dataclass
class Route:
    service: str
    matches: Matcher
    handler: Handler
    description: str


class Edge:
    """A WSGI application in front of moto's own WSGI application."""

    def __init__(self, moto_app: Callable, instance_id: str):
        self.moto_app = moto_app
        self.instance_id = instance_id
        self.routes: list[Route] = []
        self.control: dict[str, ControlHandler] = {}

    # -- registration -------------------------------------------------------------------
    def on(self, service: str, operation: str | Matcher, handler: Handler) -> None:
        if isinstance(operation, str):
            name = operation

            def matches(req: AwsRequest) -> bool:
                return req.operation == name

            description = f"{service}:{operation}"
        else:
            matches, description = operation, f"{service}:<{operation.__name__}>"
        self.routes.append(Route(service, matches, handler, description))

    def control_route(self, name: str, handler: ControlHandler) -> None:
        """A JSON endpoint under /_localcloud/<name> for the CLI, lib and tests."""
        self.control[name] = handler

    # -- serving ------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        body = _read_body(environ)
        req = AwsRequest.from_environ(environ, body)

        def forward() -> Response:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return Response.from_app(self.moto_app, environ, buffered=True)

        route = self._route_for(req)
        try:
            response = route.handler(req, forward) if route else forward()
        except Exception as exc:  # a provider bug must answer like AWS, not kill the edge
            log.error(
                "provider %s failed:\n%s",
                route.description if route else "moto",
                traceback.format_exc(),
            )
            response = json_error(500, "InternalFailure", f"local cloud provider error: {exc}")
        return response(environ, start_response)

    def _route_for(self, req: AwsRequest) -> Route | None:
        service = req.service
        for route in self.routes:
            if route.service == service and route.matches(req):
                return route
        return None

    def _control(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        name, _, _rest = request.path[len(CONTROL_PREFIX) :].partition("/")
        handler = self.control.get(name)
        if handler is None:
            response = Response(
                json.dumps({"message": f"no control endpoint {name!r}"}),
                404,
                mimetype="application/json",
            )
        else:
            try:
                payload = handler(request)
                response = (
                    payload
                    if isinstance(payload, Response)
                    else Response(json.dumps(payload, default=str), mimetype="application/json")
                )
            except LookupError as exc:
                response = Response(
                    json.dumps({"message": str(exc)}), 404, mimetype="application/json"
                )
        return response(environ, start_response)


def _read_body(environ: dict) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return stream.read()
    length = environ.get("CONTENT_LENGTH") or "0"
    return stream.read(int(length)) if int(length) > 0 else b""


def json_response(
    payload: Any, status: int = 200, content_type: str = "application/x-amz-json-1.1"
) -> Response:
    return Response(json.dumps(payload, default=str), status, content_type=content_type)


def json_error(status: int, code: str, message: str) -> Response:
    """An error in the AWS JSON protocol shape (botocore reads __type and message)."""
    response = json_response({"__type": code, "message": message}, status)
    response.headers["x-amzn-ErrorType"] = code
    return response
