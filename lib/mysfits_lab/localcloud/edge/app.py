"""The edge: one port for every AWS API call, routed to a provider or to moto.

A request's path through the edge (``../README.md`` tells it at length):
1. ``Host`` must be a loopback name; control routes (``/_localcloud/<provider>/...``) are served
   from a werkzeug ``Map``, to anyone but a web page (a browser tab may open the ``link``
   rules: the links in SNS's messages).
2. From the headers alone: the catalog resolves the service, operation and protocol
   (``catalog.py``); a web page is refused unless the cloud served it and the call is one a
   page makes without credentials, and preflights are answered (``cors.py``); a body larger
   than the service's limit is refused (``limits.py``).
3. The body is read, the request resolved again (a query ``Action`` may be in it), its
   escapes and signature checked, the few enum values AWS reads in any case put in their
   canonical case (``enum_case.py``), its parameters checked against the operation's input
   shape (``validation.py``) and against what moto would mishandle (``moto_guards.py``).
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
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..constants import CONTROL_PREFIX
from .catalog import Resolved, ServiceCatalog, service_model
from .cors import (
    BROWSER_SERVICES,
    JWKS_PATH,
    CorsPolicy,
    browser_may_call,
    loopback_host,
    opens_link,
)
from .direct import ask_moto
from .enum_case import canonical_request
from .limits import limit_for, read_body, return_large_buffers
from .moto_guards import disarm_python_yaml, guard, moto_failure, presigned_for_moto
from .protocols import ServiceError, error_response, parse_response, result_response
from .request import AwsRequest
from .validation import checked_params, unreadable_body, wire_problem

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
    """``path`` below ``/_localcloud/<provider>`` (werkzeug syntax, e.g. ``/<name>``).
    ``link``: a page the learner opens from a link in a message (SNS's "Confirm subscription"
    in the outbox), so a browser tab may GET it (``cors.opens_link``)."""

    path: str
    handler: ControlHandler
    methods: tuple[str, ...] = ("GET",)
    link: bool = False


@dataclass
class Call:
    """One AWS call handed to a provider."""

    request: AwsRequest
    service: str
    operation: str | None
    protocol: str
    region: str
    _forward: Callable[[], Response] = field(repr=False)
    _params: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as a boto3 caller passed them, checked against the input shape (the
        edge checked them already, but for an S3 body, read only when a provider asks)."""
        if self._params is None:
            self._params = (
                {}
                if self.operation is None
                else checked_params(self.service, self.operation, self.protocol, self.request)
            )
        return self._params

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
        self._links = Map(strict_slashes=False)  # control rules a browser tab may open
        for service in BROWSER_SERVICES:  # unsigned GETs of a user pool's JWKS
            self.catalog.add_path_rule(JWKS_PATH.pattern, service)
        disarm_python_yaml()
        return_large_buffers()

    # -- registration -------------------------------------------------------------------
    def ask_moto(
        self, service: str, operation: str, region: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """moto's own answer, past every provider route (see ``direct.py``)."""
        return ask_moto(self.moto_app, service, operation, region, params)

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
        if rule.link:
            self._links.add(Rule(path, endpoint=rule.handler, methods=["GET"]))

    def routes(self) -> list[str]:
        return sorted(r.description for r in [*self._routes.values(), *self._matchers])

    # -- serving ------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if not loopback_host(environ.get("HTTP_HOST")):
            response = Response("Forbidden: not a loopback host name\n", 403)
            return response(environ, start_response)
        head = AwsRequest.from_environ(environ, b"")  # what is known before the body is read
        if head.path.startswith(CONTROL_PREFIX):
            refused = self.cors.refusal(head, None)
            if refused and not (opens_link(head) and self._is_link(environ)):
                return _control_error(403, refused)(environ, start_response)
            return self._serve_control(environ, start_response)
        response = self._handle(environ, head)
        self.cors.decorate(head, response)
        return response(environ, start_response)

    def _handle(self, environ: dict, head: AwsRequest) -> Response:
        resolved = self.catalog.resolve(head)
        refused = self._browser_refusal(head, resolved)
        if refused is not None:
            return refused
        if self.cors.is_preflight(head):
            return Response(status=200)  # the grant itself is added by ``cors.decorate``
        limit = limit_for(resolved.service, resolved.operation, resolved.protocol, head)
        try:
            body = read_body(environ, limit)
        except ServiceError as exc:  # too large, or chunked where a length is required
            return _error(resolved.protocol, exc)
        except ValueError as exc:
            return _error(
                resolved.protocol, unreadable_body(resolved.service, resolved.protocol, exc)
            )
        req = AwsRequest.from_environ(environ, body)
        if body:  # a query request's Action and Version may be in the body
            resolved = self.catalog.resolve(req)
            refused = self._browser_refusal(req, resolved)
            if refused is not None:
                return refused
        problem = wire_problem(req, resolved.service, resolved.protocol)
        if problem is not None:
            return _error(resolved.protocol, problem)
        return self._answer(req, resolved, environ, body)

    def _browser_refusal(self, req: AwsRequest, resolved: Resolved) -> Response | None:
        refused = self.cors.refusal(req, resolved)
        if refused is None:
            return None
        code = "AccessDeniedException" if "json" in resolved.protocol else "AccessDenied"
        return error_response(resolved.protocol, code, refused, 403)

    def _answer(self, req: AwsRequest, resolved: Resolved, environ: dict, body: bytes) -> Response:
        if resolved.service is None:
            # moto would guess (an unsigned GET becomes S3 ListBuckets): say what is missing.
            return error_response(
                resolved.protocol,
                "UnrecognizedServiceException",
                "the local cloud cannot tell which AWS service this request is for: sign it "
                "with SigV4 (every AWS SDK does) or send X-Amz-Target",
                400,
            )
        if resolved.operation is not None:
            # Enum values AWS reads in any case, in their canonical case for everyone after.
            canonical = canonical_request(
                resolved.service, resolved.operation, resolved.protocol, req
            )
            if canonical is not None:
                req, body = canonical, canonical.body
        route = self._route_for(req, resolved)
        params = None
        try:
            if resolved.operation is not None:
                params = self._checked(req, resolved)
            elif route is None and not _left_to_moto(req, resolved):
                raise _unknown_operation(req, resolved)
        except ServiceError as exc:
            return _error(resolved.protocol, exc)

        def forward() -> Response:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is read: now it has a length
            presigned_for_moto(environ, req, resolved.service or "")
            try:
                return Response.from_app(self.moto_app, environ, buffered=True)
            except Exception:  # moto's Flask app lets its exceptions through
                log.exception("moto failed on %s:%s", resolved.service, resolved.operation)
                return moto_failure(resolved.protocol)

        if route is None:
            return forward()
        call = Call(
            request=req,
            service=resolved.service or route.service,
            operation=resolved.operation,
            protocol=resolved.protocol,
            region=req.signed_region or self.default_region,
            _forward=forward,
            _params=params if resolved.protocol != "rest-xml" else None,
        )
        try:
            answer = route.handler(call)
            return answer if isinstance(answer, Response) else call.respond(answer)
        except MotoFailed as failed:
            return failed.response
        except ServiceError as exc:
            return _error(resolved.protocol, exc)
        except Exception as exc:  # a provider bug must answer like AWS, not kill the edge
            log.error("provider %s failed:\n%s", route.description, traceback.format_exc())
            return error_response(
                resolved.protocol, "InternalFailure", f"local cloud provider error: {exc}", 500
            )

    @staticmethod
    def _checked(req: AwsRequest, resolved: Resolved) -> dict[str, Any]:
        """Every operation's input, checked before moto or a provider sees it. S3 bodies (an
        object, a policy) are left as they are: only the members around them are checked."""
        assert resolved.service is not None and resolved.operation is not None
        if resolved.operation not in service_model(resolved.service).operation_names:
            raise _unknown_operation(req, resolved)
        rest_xml = resolved.protocol == "rest-xml"
        params = checked_params(
            resolved.service, resolved.operation, resolved.protocol, req, payload=not rest_xml
        )
        guard(resolved.service, resolved.operation, params, req)
        return params

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

    def _is_link(self, environ: dict) -> bool:
        try:
            self._links.bind_to_environ(environ).match()
        except HTTPException:
            return False
        return True

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


def _error(protocol: str, exc: ServiceError) -> Response:
    return error_response(protocol, exc.code, exc.message, exc.status, exc.fields)


def _control_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status, mimetype="application/json")


def _left_to_moto(req: AwsRequest, resolved: Resolved) -> bool:
    """Requests of no modelled operation that moto still answers: an S3 browser form's POST
    upload and a user pool's JWKS."""
    return (resolved.protocol == "rest-xml" and req.method == "POST") or browser_may_call(
        resolved, req
    )


def _unknown_operation(req: AwsRequest, resolved: Resolved) -> ServiceError:
    name = resolved.operation
    if resolved.protocol in ("query", "ec2"):
        if not name:
            return ServiceError("MissingAction", "the request names no Action")
        return ServiceError(
            "InvalidAction", f"The action {name[:64]} is not valid for this web service."
        )
    if resolved.protocol == "rest-xml":
        return ServiceError(
            "MethodNotAllowed", "The specified method is not allowed against this resource.", 405
        )
    if resolved.protocol == "json":
        what = f"{name[:64]} is not an operation" if name else "X-Amz-Target names no operation"
        return ServiceError("UnknownOperationException", f"{what} of {resolved.service}")
    return ServiceError(
        "UnknownOperationException",
        f"no {resolved.service} operation at {req.method} {req.path[:128]}",
        404,
    )
