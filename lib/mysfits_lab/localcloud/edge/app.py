"""The edge: one port for every AWS API call, routed to a provider or to moto.

A request's path through the edge:
1. ``Host`` must be a loopback name; control routes (``/_localcloud/<provider>/...``) are served
   from a werkzeug ``Map``.
2. The catalog resolves the service, operation and protocol (``catalog.py``).
3. A page the cloud did not serve is refused; CORS preflights are answered (``cors.py``).
4. A provider route for (service, operation) — or a matcher over the request — gets a ``Call``;
   otherwise moto answers. A provider may answer itself, let moto record the call and amend the
   parsed answer (``call.moto()``), or act after it.
5. Errors are serialized in the service's protocol; CORS headers are set for trusted origins.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..constants import CONTROL_PREFIX
from .catalog import Resolved, ServiceCatalog
from .cors import CorsPolicy, loopback_host
from .protocols import (
    ServiceError,
    checked_params,
    error_response,
    parse_response,
    result_response,
)
from .request import AwsRequest

log = logging.getLogger("mysfits_lab.localcloud.edge")

Handler = Callable[["Call"], "Response | dict[str, Any]"]
Matcher = Callable[[AwsRequest], bool]
ControlHandler = Callable[..., Any]


class MotoFailed(Exception):  # noqa: N818 - a signal, not an error of ours
    """moto refused the call: its answer goes back to the caller unchanged."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


@dataclass
class Route:
    service: str  # botocore's service name (``elbv2``, ``cognito-idp``, ``sagemaker-runtime``)
    operation: str | None  # None: ``matcher`` decides
    handler: Handler
    matcher: Matcher | None = None
    owner: str = ""

    @property
    def description(self) -> str:
        what = self.operation or getattr(self.matcher, "__name__", "<matcher>")
        return f"{self.service}:{what} ({self.owner})"


@dataclass
class ControlRule:
    """``path`` below ``/_localcloud/<provider>`` (werkzeug syntax, e.g. ``/<name>``)."""

    path: str
    handler: ControlHandler
    methods: tuple[str, ...] = ("GET",)


@dataclass
class Call:
    """One AWS call handed to a provider."""

    request: AwsRequest
    service: str
    operation: str | None
    protocol: str
    region: str
    _forward: Callable[[], Response] = field(repr=False)

    @cached_property
    def params(self) -> dict[str, Any]:
        """The parameters as a boto3 caller passed them, checked against the input shape."""
        if self.operation is None:
            return {}
        return checked_params(self.service, self.operation, self.protocol, self.request)

    def forward(self) -> Response:
        """moto's raw answer to this very request."""
        return self._forward()

    def moto(self) -> dict[str, Any]:
        """moto's answer parsed as boto3 would; its errors go back to the caller as they are."""
        response = self._forward()
        if response.status_code >= 300:
            raise MotoFailed(response)
        assert self.operation is not None
        return parse_response(self.service, self.operation, self.protocol, response)

    def respond(self, data: dict[str, Any], status: int | None = None) -> Response:
        assert self.operation is not None
        return result_response(self.service, self.operation, self.protocol, data, status)


class Edge:
    """A WSGI application in front of moto's own WSGI application."""

    def __init__(self, moto_app: Callable, default_region: str, cors: CorsPolicy | None = None):
        self.moto_app = moto_app
        self.default_region = default_region
        self.catalog = ServiceCatalog()
        self.cors = cors or CorsPolicy()
        self._routes: dict[tuple[str, str], Route] = {}
        self._matchers: list[Route] = []
        self._control = Map(strict_slashes=False)

    # -- registration -------------------------------------------------------------------
    def add_route(self, route: Route) -> None:
        if route.operation is None:
            self._matchers.append(route)
            return
        key = (route.service, route.operation)
        if key in self._routes:
            raise ValueError(
                f"{route.service}:{route.operation} is handled twice: by "
                f"{self._routes[key].owner} and by {route.owner}"
            )
        self._routes[key] = route

    def add_control(self, provider: str, rule: ControlRule) -> None:
        path = f"{CONTROL_PREFIX}{provider}{rule.path}".rstrip("/") or "/"
        self._control.add(Rule(path, endpoint=rule.handler, methods=list(rule.methods)))

    def routes(self) -> list[str]:
        return sorted(r.description for r in [*self._routes.values(), *self._matchers])

    # -- serving ------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if not loopback_host(environ.get("HTTP_HOST")):
            response = Response("Forbidden: not a loopback host name\n", 403)
            return response(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self._serve_control(environ, start_response)
        try:
            body = _read_body(environ)
        except ValueError:
            response = Response("Bad Request: Content-Length is not a number\n", 400)
            return response(environ, start_response)
        req = AwsRequest.from_environ(environ, body)
        resolved = self.catalog.resolve(req)
        response = self._answer(req, resolved, environ, body)
        self.cors.decorate(req, response)
        return response(environ, start_response)

    def _answer(self, req: AwsRequest, resolved: Resolved, environ: dict, body: bytes) -> Response:
        if self.cors.foreign(req):
            return error_response(
                resolved.protocol,
                "AccessDeniedException",
                f"requests from pages at {req.origin} are not accepted by the local cloud",
                403,
            )
        if self.cors.is_preflight(req):
            return Response(status=200)  # the grant itself is added by ``cors.decorate``
        if resolved.service is None:
            # moto would guess (an unsigned GET becomes S3 ListBuckets): say what is missing.
            return error_response(
                resolved.protocol,
                "UnrecognizedServiceException",
                "the local cloud cannot tell which AWS service this request is for: sign it "
                "with SigV4 (every AWS SDK does) or send X-Amz-Target",
                400,
            )

        def forward() -> Response:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return Response.from_app(self.moto_app, environ, buffered=True)

        route = self._route_for(req, resolved)
        if route is None:
            return forward()
        call = Call(
            request=req,
            service=resolved.service or route.service,
            operation=resolved.operation,
            protocol=resolved.protocol,
            region=req.signed_region or self.default_region,
            _forward=forward,
        )
        try:
            answer = route.handler(call)
            return answer if isinstance(answer, Response) else call.respond(answer)
        except MotoFailed as failed:
            return failed.response
        except ServiceError as exc:
            return error_response(resolved.protocol, exc.code, exc.message, exc.status, exc.fields)
        except Exception as exc:  # a provider bug must answer like AWS, not kill the edge
            log.error("provider %s failed:\n%s", route.description, traceback.format_exc())
            return error_response(
                resolved.protocol, "InternalFailure", f"local cloud provider error: {exc}", 500
            )

    def _route_for(self, req: AwsRequest, resolved: Resolved) -> Route | None:
        if resolved.service is None:
            return None
        if resolved.operation is not None:
            route = self._routes.get((resolved.service, resolved.operation))
            if route is not None:
                return route
        for route in self._matchers:
            if route.service == resolved.service and route.matcher and route.matcher(req):
                return route
        return None

    def _serve_control(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        try:
            handler, values = self._control.bind_to_environ(environ).match()
            payload = handler(request, **values)
            response = (
                payload
                if isinstance(payload, Response)
                else Response(json.dumps(payload, default=str), mimetype="application/json")
            )
        except LookupError as exc:
            response = _control_error(404, str(exc).strip("'\""))
        except HTTPException as exc:
            message = f"no control endpoint {request.path!r}" if exc.code == 404 else exc.name
            response = _control_error(exc.code or 400, message)
        except ServiceError as exc:
            response = _control_error(exc.status, exc.message)
        return response(environ, start_response)


def _control_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status, mimetype="application/json")


def _read_body(environ: dict) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return stream.read()
    size = int(environ.get("CONTENT_LENGTH") or "0")  # ValueError: a 400
    return stream.read(size) if size > 0 else b""
