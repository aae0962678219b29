"""A stage as a WSGI application, in front of a real loopback backend: what a client sees —
answers passed through, API Gateway's own errors, the local safety rules."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.test import Client, EnvironBuilder

from mysfits_lab.localcloud.services.apigateway.authorizer import (
    CognitoAuthorizer,
    TokenExpired,
    Unauthorized,
)
from mysfits_lab.localcloud.services.apigateway.gateway import PAYLOAD_LIMIT, StageGateway
from mysfits_lab.localcloud.services.apigateway.integrations.base import Backends
from mysfits_lab.localcloud.services.apigateway.integrations.endpoints import Endpoints
from mysfits_lab.localcloud.services.apigateway.integrations.transport import HttpClient
from mysfits_lab.localcloud.services.apigateway.models import (
    ApiSnapshot,
    Authorizer,
    Integration,
    MappedResponse,
    Method,
    Resource,
)
from tests.helpers import free_port

OWN_ORIGIN = "http://127.0.0.1:5555"


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Backend.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        data = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the slow request's client (the gateway) gave up: a broken pipe, expected


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = QuietServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _clear() -> None:
    Backend.seen.clear()


class FakeCognito(CognitoAuthorizer):
    """Accepts the token "good", calls "old" expired, refuses anything else."""

    def __init__(self) -> None:
        pass

    def verify(self, authorizer, headers, scopes=()):
        token = headers.get(authorizer.header.lower())
        if token == "good":
            return {"sub": "ana"}
        if token == "old":
            raise TokenExpired()
        raise Unauthorized()


def _proxy(uri: str, mapped: bool = False, timeout_ms: int = 29_000) -> Integration:
    return Integration(
        type="HTTP_PROXY",
        http_method="ANY",
        uri=uri,
        request_parameters={"integration.request.path.id": "method.request.path.id"}
        if mapped
        else {},
        timeout_ms=timeout_ms,
    )


def _snapshot(port: int, deployment: str = "d1", prefix: str = "") -> ApiSnapshot:
    base = f"http://127.0.0.1:{port}{prefix}"
    preflight = Integration(
        type="MOCK",
        request_templates={"application/json": '{"statusCode": 200}'},
        responses=(
            MappedResponse(
                "200",
                None,
                {"method.response.header.Access-Control-Allow-Origin": "'*'"},
                {"application/json": "{}"},
            ),
        ),
    )
    resources = [
        Resource(
            "r1",
            "/items",
            {
                "GET": Method("GET", integration=_proxy(f"{base}/items")),
                "OPTIONS": Method("OPTIONS", integration=preflight),
            },
        ),
        Resource(
            "r2",
            "/items/{id}",
            {
                "GET": Method("GET", integration=_proxy(f"{base}/items/{{id}}", mapped=True)),
            },
        ),
        Resource(
            "r3",
            "/items/{id}/like",
            {
                "POST": Method(
                    "POST",
                    authorization_type="COGNITO_USER_POOLS",
                    authorizer_id="a1",
                    integration=_proxy(f"{base}/items/{{id}}/like", mapped=True),
                ),
            },
        ),
        Resource(
            "r4",
            "/slow",
            {
                "GET": Method("GET", integration=_proxy(f"{base}/slow", timeout_ms=200)),
            },
        ),
        Resource(
            "r5",
            "/gone",
            {
                "GET": Method("GET", integration=_proxy(f"http://127.0.0.1:{free_port()}/gone")),
            },
        ),
        Resource(
            "r6",
            "/lambda-authorized",
            {
                "GET": Method(
                    "GET", authorization_type="CUSTOM", authorizer_id="a2", integration=preflight
                ),
            },
        ),
        Resource(
            "r8",
            "/mapped/{id}",
            {
                "GET": Method(
                    "GET",
                    request_parameters={"method.request.header.X-User": False},
                    integration=Integration(
                        type="HTTP",
                        http_method="POST",
                        uri=f"{base}/items/{{id}}",
                        request_parameters={
                            "integration.request.path.id": "method.request.path.id",
                            "integration.request.header.X-Caller": "method.request.header.X-User",
                            "integration.request.querystring.stage": "'prod'",
                        },
                        request_templates={"application/json": '{"from": "template"}'},
                        responses=(
                            MappedResponse(
                                "200",
                                None,
                                {
                                    "method.response.header.X-Backend-Type": (
                                        "integration.response.header.Content-Type"
                                    ),
                                },
                                {},
                            ),
                            MappedResponse("502", "5\\d\\d", {}, {}),
                        ),
                    ),
                ),
            },
        ),
        Resource(
            "r7",
            "/keyed",
            {
                "GET": Method("GET", api_key_required=True, integration=preflight),
            },
        ),
    ]
    authorizers = {
        "a1": Authorizer("a1", "Pool", "COGNITO_USER_POOLS", ("arn:aws:cognito-idp:...",)),
        "a2": Authorizer("a2", "Lambda", "TOKEN"),
    }
    return ApiSnapshot("api1", "us-east-1", deployment, tuple(resources), authorizers)


@pytest.fixture
def gateway(backend: int) -> StageGateway:
    def no_listings() -> dict:
        raise LookupError("no load balancers")

    backends = Backends(HttpClient(), Endpoints(lambda r, i: {}, no_listings))
    return StageGateway(
        "prod", _snapshot(backend), FakeCognito(), backends, lambda o: o == OWN_ORIGIN
    )


@pytest.fixture
def client(gateway: StageGateway) -> Client:
    return Client(gateway)


def test_a_get_reaches_the_backend_with_its_path_parameters_and_query(client):
    response = client.get("/prod/items/a%20b?filter=GoodEvil&value=Good", headers={"X-Extra": "1"})

    assert response.status_code == 200
    assert response.json == {"path": "/items/a%20b?filter=GoodEvil&value=Good"}
    (seen,) = Backend.seen
    assert seen["headers"]["Host"].startswith("127.0.0.1:")
    assert seen["headers"]["X-Extra"] == "1"
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["x-amz-apigw-id"]


def test_an_http_integration_sends_what_it_maps_and_maps_the_answer(client):
    response = client.get(
        "/prod/mapped/9?ignored=1", headers={"X-User": "ana", "X-Other": "not passed"}
    )
    assert response.status_code == 200
    assert response.headers["X-Backend-Type"] == "application/json"
    assert response.json == {"path": "/items/9?stage=prod"}
    (seen,) = Backend.seen
    assert seen["method"] == "POST"
    assert seen["body"] == b'{"from": "template"}'
    assert seen["headers"]["X-Caller"] == "ana"
    assert "X-Other" not in seen["headers"]


def test_a_body_is_passed_through(client):
    headers = {"Authorization": "good"}
    response = client.post("/prod/items/7/like", data=b'{"n": 1}', headers=headers)
    assert response.status_code == 200
    assert Backend.seen[0]["body"] == b'{"n": 1}'
    assert Backend.seen[0]["method"] == "POST"


@pytest.mark.parametrize(
    "path", ["/prod", "/prod/", "/prod/nothing", "/dev/items", "/", "/prodx/items"]
)
def test_unknown_routes_are_missing_authentication_token(client, path):
    response = client.get(path)
    assert response.status_code == 403
    assert response.json == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.headers["x-amzn-RequestId"]
    assert Backend.seen == []


def test_an_unknown_method_is_missing_authentication_token(client):
    assert client.delete("/prod/items/1").status_code == 403


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "Unauthorized"), ("forged", "Unauthorized"), ("old", "The incoming token has expired")],
)
def test_refused_tokens_never_reach_the_backend(client, token, message):
    headers = {"Authorization": token} if token else {}
    response = client.post("/prod/items/7/like", headers=headers)
    assert response.status_code == 401
    assert response.json == {"message": message}
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert Backend.seen == []


def test_methods_whose_checks_do_not_run_here_are_refused(client):
    assert client.get("/prod/lambda-authorized").status_code == 500
    keyed = client.get("/prod/keyed")
    assert (keyed.status_code, keyed.json) == (403, {"message": "Forbidden"})


def test_the_integration_timeout(client):
    response = client.get("/prod/slow")
    assert response.status_code == 504
    assert response.json == {"message": "Endpoint request timed out"}


def test_an_unreachable_backend_is_an_internal_server_error(client):
    response = client.get("/prod/gone")
    assert response.status_code == 500
    assert response.json == {"message": "Internal server error"}
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


def test_a_host_that_is_not_loopback_is_refused(client):
    response = client.get("/prod/items", headers={"Host": "evil.example.com"})
    assert response.status_code == 403
    assert Backend.seen == []


def test_a_declared_body_over_10_mb_is_refused_unread(gateway):
    builder = EnvironBuilder(path="/prod/items", method="GET", headers={"Host": "127.0.0.1"})
    environ = builder.get_environ()
    environ["CONTENT_LENGTH"] = str(PAYLOAD_LIMIT + 1)
    stream = CountingStream(PAYLOAD_LIMIT + 1)
    environ["wsgi.input"] = stream
    status, headers, body = _call(gateway, environ)
    assert status.startswith("413")
    assert json.loads(body) == {"message": "Request Too Long"}
    assert ("Connection", "close") in headers
    assert stream.read_bytes == 0
    assert Backend.seen == []


def test_a_chunked_body_is_refused_once_it_passes_10_mb(gateway):
    builder = EnvironBuilder(path="/prod/items", method="GET", headers={"Host": "127.0.0.1"})
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    stream = CountingStream(50 * 1024 * 1024)
    environ["wsgi.input"] = stream
    status, _headers, body = _call(gateway, environ)
    assert status.startswith("413")
    assert stream.read_bytes <= PAYLOAD_LIMIT + 1024 * 1024
    assert Backend.seen == []


@pytest.mark.parametrize(
    ("origin", "granted"), [(None, True), (OWN_ORIGIN, True), ("https://evil.example.com", False)]
)
def test_cors_grants_reach_only_the_clouds_own_pages(client, origin, granted):
    headers = {"Origin": origin} if origin else {}
    preflight = client.options(
        "/prod/items", headers=headers | {"Access-Control-Request-Method": "GET"}
    )
    proxied = client.get("/prod/items", headers=headers)
    for response in (preflight, proxied):
        assert response.status_code == 200
        assert ("Access-Control-Allow-Origin" in response.headers) is granted


def test_a_new_deployment_is_served_from_then_on(gateway, client, backend):
    assert client.get("/prod/items").json == {"path": "/items"}
    gateway.deploy(_snapshot(backend, "d2", prefix="/v2"))
    assert client.get("/prod/items").json == {"path": "/v2/items"}
    assert gateway.snapshot.deployment_id == "d2"


def test_a_closed_stage_answers_nothing_more(gateway, client):
    gateway.closed = True
    assert client.get("/prod/items").status_code == 403
    assert Backend.seen == []


class CountingStream(io.RawIOBase):
    def __init__(self, size: int):
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        self.read_bytes += n
        return b"x" * n

    def readline(self, size: int = -1) -> bytes:  # what a dechunking reader would call
        return self.read(size if size > 0 else 1024)


def _call(app: StageGateway, environ: dict) -> tuple[str, list, bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list) -> None:
        captured.update(status=status, headers=headers)

    body = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], body
