"""One deployed stage of a REST API as a WSGI application: ``http://127.0.0.1:<port>/<stage>/...``.

A request is matched against the stage's deployment (``routing.py``), authorized
(``authorizer.py``), and handed to its integration (``integrations/dispatch.py``); what goes
wrong is answered with the deployment's gateway responses (``gateway_responses.py``). Every
answer carries ``x-amzn-RequestId`` and ``x-amz-apigw-id`` (also the request's
``extendedRequestId``); an answer of an ``AWS``, ``AWS_PROXY`` or ``HTTP`` integration also the
request's ``X-Amzn-Trace-Id``, as API Gateway sends it. The stage's variables and
``tracingEnabled`` are set by the provider (``configure``) and apply at once, as on AWS: while
tracing is on and the cloud has X-Ray, each request is a segment (``tracing.py``), queued for
X-Ray once its answer has been sent.

The stage's port is on the learner's laptop, next to their browser, so — unlike on AWS:

- the ``Host`` must be a loopback name (no DNS rebinding), else 403;
- a body over 10 MB (API Gateway's limit) is refused with 413 before it is read, or as soon as
  a chunked one passes the limit;
- CORS grants the API itself makes (a MOCK preflight's ``Access-Control-Allow-*`` headers, the
  backend's flask_cors headers, a gateway response's) reach the browser only when the request
  comes from one of the local cloud's own origins (its websites and stages) or has no
  ``Origin``; for any other page they are removed, so a site on the internet cannot read the
  learner's local APIs even when the API says ``Access-Control-Allow-Origin: *``.
"""

from __future__ import annotations

import base64
import http
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ...edge.cors import loopback_host
from ...edge.limits import BodyLimit, BodyTooLarge, read_body
from . import gateway_responses
from .answers import Answer, GatewayError, error_answer, json_answer
from .authorizer import CognitoAuthorizer, KeysUnavailable, Unauthorized
from .integrations import dispatch
from .integrations.base import Backends, Invocation, Request
from .models import ApiSnapshot
from .routing import Match, Router
from .tracing import HEADER as TRACE_HEADER
from .tracing import RequestTrace, SegmentSender, StageSegment

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

PAYLOAD_LIMIT = 10 * 1024 * 1024
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token
_LIMIT = BodyLimit(PAYLOAD_LIMIT, "RequestTooLong", 413, "Request Too Long")
# Integrations whose answers carry the request's X-Amzn-Trace-Id (not HTTP_PROXY's: the
# backend's headers are the answer's; not MOCK's).
_TRACE_ANSWERED = frozenset({"AWS", "AWS_PROXY", "HTTP"})


class StageGateway:
    def __init__(
        self,
        stage: str,
        snapshot: ApiSnapshot,
        cognito: CognitoAuthorizer,
        backends: Backends,
        allows_origin: Callable[[str], bool],
        tracer: SegmentSender | None = None,
    ):
        self.stage = stage
        self._prefix = f"/{stage}"
        self._cognito = cognito
        self._backends = backends
        self._allows_origin = allows_origin
        self._current = (snapshot, Router(snapshot.resources))
        self._tracer = tracer
        self.variables: dict[str, str] = {}  # the stage's variables (UpdateStage: no deployment)
        self.tracing = False  # tracingEnabled
        self.api_name = ""  # the API's name: its segments are "<api name>/<stage>"
        self.closed = False

    @property
    def snapshot(self) -> ApiSnapshot:
        return self._current[0]

    def deploy(self, snapshot: ApiSnapshot) -> None:
        """Serve another deployment from now on (the router is built before the swap)."""
        self._current = (snapshot, Router(snapshot.resources))

    def configure(self, variables: dict[str, str], tracing: bool, api_name: str = "") -> None:
        """The stage's own settings, which apply at once (no deployment needed)."""
        self.variables = dict(variables)
        self.tracing = tracing
        self.api_name = api_name or self.api_name

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        current = self._current  # one deployment for the whole request
        progress = _Progress(str(uuid.uuid4()), base64.b64encode(os.urandom(11)).decode())
        progress.trace = self._begin_trace(environ)
        failed = True
        try:
            answer = self._answer(environ, current, progress)
            failed = False
        except GatewayError as exc:
            if exc.response_type.startswith(("API_", "AUTHORIZER_", "INTEGRATION_", "DEFAULT")):
                log.warning("%s %s: %s", self.stage, exc.response_type, exc)
            answer = self._error(exc, current[0], progress.request)
        except Exception:  # a bug of ours must still answer as API Gateway does
            log.exception("stage %s failed on %s", self.stage, environ.get("PATH_INFO"))
            answer = self._error(GatewayError("DEFAULT_5XX"), current[0], progress.request)
        headers = self._finish(answer, environ.get("HTTP_ORIGIN"), progress, failed)
        start_response(f"{answer.status} {_reason(answer.status)}", headers)
        trace = progress.trace
        if trace is None or not trace.sampled:
            return answer.body
        declared = answer.header("Content-Length")
        return _TracedBody(
            answer.body,
            lambda sent: self._record(environ, progress, trace, answer.status, declared, sent),
        )

    # -- tracing ------------------------------------------------------------------------------
    def _begin_trace(self, environ: dict[str, Any]) -> RequestTrace | None:
        """The request's place in its trace, while tracing is on and the cloud has X-Ray."""
        if not self.tracing or self._tracer is None or not self._tracer.enabled():
            return None
        return RequestTrace.begin(environ.get("HTTP_X_AMZN_TRACE_ID"), time.time())

    def _record(
        self,
        environ: dict[str, Any],
        progress: _Progress,
        trace: RequestTrace,
        status: int,
        declared: str | None,
        sent: int,
    ) -> None:
        """Queue the finished request's segment (its document is written by the sender)."""
        assert self._tracer is not None
        forwarded = (environ.get("HTTP_X_FORWARDED_FOR") or "").split(",")[0].strip()
        path, query = _target(environ)
        snapshot = self.snapshot
        self._tracer.submit(
            StageSegment(
                trace=trace,
                api_id=snapshot.api_id,
                api_name=self.api_name,
                stage=self.stage,
                region=snapshot.region,
                request_id=progress.request_id,
                extended_request_id=progress.apigw_id,
                method=environ.get("REQUEST_METHOD", "GET").upper(),
                url=f"http://{environ.get('HTTP_HOST', '')}{path}" + (f"?{query}" if query else ""),
                client_ip=forwarded or environ.get("REMOTE_ADDR", ""),
                user_agent=environ.get("HTTP_USER_AGENT"),
                forwarded=bool(forwarded),
                status=status,
                content_length=int(declared) if declared and declared.isdigit() else sent,
                end=time.time(),
            )
        )

    @staticmethod
    def _error(error: GatewayError, snapshot: ApiSnapshot, request: Request | None) -> Answer:
        """The gateway response for ``error`` as the deployed API configures it."""
        try:
            answer = gateway_responses.answer(error, snapshot.gateway_responses, request)
        except Exception:
            log.exception("gateway response %s failed", error.response_type)
            answer = error_answer(error.response_type, error.message, error.status)
        if error.response_type == "REQUEST_TOO_LARGE":
            answer.headers.append(("Connection", "close"))  # the unread body must not be parsed
        return answer

    def _finish(
        self, answer: Answer, origin: str | None, progress: _Progress, failed: bool
    ) -> list:
        headers = [(k, v) for k, v in answer.headers if _HEADER_NAME.match(k) and _one_line(v)]
        if len(headers) < len(answer.headers):
            log.warning("%s: headers that HTTP cannot carry were dropped", self.stage)
        if origin and not self._allows_origin(origin):
            headers = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        request = progress.request
        if (
            not failed
            and progress.integration in _TRACE_ANSWERED
            and request is not None
            and request.trace_id
            and answer.header(TRACE_HEADER) is None
        ):
            headers.append((TRACE_HEADER, request.trace_id))
        return [
            *headers,
            ("x-amzn-RequestId", progress.request_id),
            ("x-amz-apigw-id", progress.apigw_id),
        ]

    # -- one request --------------------------------------------------------------------------
    def _answer(
        self, environ: dict[str, Any], current: tuple[ApiSnapshot, Router], progress: _Progress
    ) -> Answer:
        if self.closed:
            return json_answer(403, {"message": "Forbidden"}, [("Connection", "close")])
        if not loopback_host(environ.get("HTTP_HOST")):
            return json_answer(403, {"message": "Forbidden: not a loopback host name"})
        snapshot, router = current
        path, query = _target(environ)
        headers = _headers(environ)
        below = path[len(self._prefix) :] or "/"
        request = progress.request = Request(
            request_id=progress.request_id,
            extended_request_id=progress.apigw_id,
            api_id=snapshot.api_id,
            stage=self.stage,
            region=snapshot.region,
            deployment_id=snapshot.deployment_id,
            http_method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=below,
            query_string=query,
            headers=headers,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            stage_variables=self.variables,
            request_time_ms=int(time.time() * 1000),
            protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.1",
            host=environ.get("HTTP_HOST", ""),
            trace_id=(
                progress.trace.header
                if progress.trace is not None
                else _trace_id(environ.get("HTTP_X_AMZN_TRACE_ID"))
            ),
            trace=progress.trace if progress.trace is not None and progress.trace.sampled else None,
            binary_media_types=snapshot.binary_media_types,
        )
        if path != self._prefix and not path.startswith(self._prefix + "/"):
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        match = router.match(request.http_method, below)
        if match is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        request.resource_path = match.resource.path
        request.resource_id = match.resource.id
        request.path_parameters = match.path_parameters
        request.greedy = match.greedy
        if _declared_length(environ) > PAYLOAD_LIMIT:
            raise GatewayError("REQUEST_TOO_LARGE")
        request.claims = self._authorize(snapshot, match, request.header_map)
        try:
            request.body = read_body(environ, _LIMIT)
        except BodyTooLarge:
            raise GatewayError("REQUEST_TOO_LARGE") from None
        except ValueError as exc:
            raise GatewayError("BAD_REQUEST_BODY", str(exc)) from None
        integration = match.method.integration
        if integration is None:  # a deployment needs one on every method; moto's may lack it
            raise GatewayError("API_CONFIGURATION_ERROR", "method without integration")
        progress.integration = integration.type
        invocation = Invocation.of(request, match.method, integration)
        return dispatch.invoke(invocation, self._backends)

    def _authorize(
        self, snapshot: ApiSnapshot, match: Match, headers: dict[str, str]
    ) -> dict[str, Any] | None:
        method = match.method
        kind = method.authorization_type
        claims = None
        if kind == "COGNITO_USER_POOLS":
            authorizer = snapshot.authorizers.get(method.authorizer_id or "")
            if authorizer is None:
                raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "authorizer not found")
            try:
                claims = self._cognito.verify(authorizer, headers, method.scopes)
            except Unauthorized as exc:
                log.info("%s %s: 401 (%s)", self.stage, match.resource.path, exc)
                raise GatewayError("UNAUTHORIZED", str(exc), exc.message) from None
            except KeysUnavailable as exc:
                raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", str(exc)) from None
        elif kind == "CUSTOM":
            raise GatewayError(
                "AUTHORIZER_CONFIGURATION_ERROR",
                "Lambda (CUSTOM) authorizers do not run on the local cloud: refused",
            )
        elif kind == "AWS_IAM":
            log.info("%s: AWS_IAM methods are refused on the local cloud", self.stage)
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        if method.api_key_required:  # no usage plans here: no key can be valid
            raise GatewayError("ACCESS_DENIED", "API keys are not checked on the local cloud")
        return claims


@dataclass
class _Progress:
    """What is known of a request so far (its gateway response may need it)."""

    request_id: str
    apigw_id: str  # x-amz-apigw-id, also the request's extendedRequestId
    request: Request | None = None
    trace: RequestTrace | None = None  # on a traced stage
    integration: str | None = None  # the matched method's integration type


class _TracedBody:
    """The answer's body as the server sends it; once it is done (WSGI ``close``), the
    request's segment is recorded with what was sent."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]):
        self._body = body
        self._done: Callable[[int], None] | None = done
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        done, self._done = self._done, None
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if done is not None:
                try:
                    done(self.sent)
                except Exception:  # tracing must never break an answer
                    log.exception("the segment of a request was not recorded")


def _one_line(value: str) -> bool:
    return isinstance(value, str) and "\r" not in value and "\n" not in value


def _trace_id(incoming: str | None) -> str:
    """The caller's X-Amzn-Trace-Id, or a new one (``Root=1-<epoch hex>-<24 hex>``)."""
    if incoming and "Root=" in incoming and len(incoming) <= 256:
        return incoming
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def _target(environ: dict[str, Any]) -> tuple[str, str]:
    """(path, query) as the client sent them, still percent-encoded."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        raw = quote(environ.get("PATH_INFO", "/"))
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    if not raw.startswith("/"):  # absolute-form request target
        parts = urlsplit(raw)
        return parts.path or "/", parts.query
    path, _, query = raw.partition("?")
    return path, query


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            found.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            found.append((key.replace("_", "-").title(), value))
    return found


def _declared_length(environ: dict[str, Any]) -> int:
    text = (environ.get("CONTENT_LENGTH") or "0").strip()
    return int(text) if text.isascii() and text.isdigit() else 0


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
