"""Module 4's API on the local cloud: GET through a deployed API Gateway stage (HTTP_PROXY to a
loopback backend) vs straight to that backend, 32 keep-alive clients; and latency at a steady
200 requests/s, each on a new connection. `python -m benchmarks apigateway_bench`."""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmarks.common import isolated_cloud, percentile, wait_until_warm
from benchmarks.health import paced_load
from benchmarks.load import LoadResult, run_load

ITEM = json.dumps({"mysfitId": "42", "name": "Evangeline", "species": "Chimera"}).encode()


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of new connections is queued, not dropped
    daemon_threads = True


class _Backend(BaseHTTPRequestHandler):
    """The service behind the API: a small JSON answer, kept-alive connections."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ITEM)))
        self.end_headers()
        self.wfile.write(ITEM)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(ports: Any) -> None:
    server = _Server(("127.0.0.1", 0), _Backend)
    ports.put(server.server_port)
    server.serve_forever()


@contextmanager
def backend() -> Iterator[str]:
    """The backend in a process of its own, as the service's task is."""
    ports: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=10)}"
    finally:
        process.terminate()
        process.join(timeout=5)


def _document(backend_url: str) -> dict[str, Any]:
    integration = {
        "type": "http_proxy",
        "httpMethod": "GET",
        "uri": f"{backend_url}/mysfits/{{mysfitId}}",
        "requestParameters": {"integration.request.path.mysfitId": "method.request.path.mysfitId"},
    }
    return {
        "openapi": "3.0.1",
        "info": {"title": "BenchApi", "version": "1"},
        "paths": {
            "/mysfits/{mysfitId}": {
                "get": {
                    "parameters": [{"name": "mysfitId", "in": "path", "required": True}],
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": integration,
                }
            }
        },
    }


def _stage_url(backend_url: str) -> str:
    import boto3

    from mysfits_lab.localcloud import control
    from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS

    edge = control.up().edge_url
    wait_until_warm(edge)
    gateway = boto3.client(
        "apigateway", endpoint_url=edge, region_name="us-east-1", **DUMMY_CREDENTIALS
    )
    api = gateway.import_rest_api(body=json.dumps(_document(backend_url)).encode())
    gateway.create_deployment(restApiId=api["id"], stageName="prod")
    return control.control_get(f"apigateway/{api['id']}/prod")["url"]


def _summary(result: LoadResult) -> str:
    return result.summary()


def run() -> list[tuple[str, str]]:
    figures = []
    with isolated_cloud(), backend() as backend_url:
        stage = _stage_url(backend_url)
        through_url, direct_url = f"{stage}/mysfits/42", f"{backend_url}/mysfits/42"
        run_load(through_url, clients=8, total=400)  # warm both paths
        run_load(direct_url, clients=8, total=400)
        through = run_load(through_url)
        direct = run_load(direct_url)
        figures.append(("GET through the stage, 32 clients", _summary(through)))
        figures.append(("GET direct to the backend, 32 clients", _summary(direct)))
        figures.append(("stage throughput / direct", f"{through.rps / direct.rps:.2f}"))
        p50 = percentile(through.latencies_ms, 50) / percentile(direct.latencies_ms, 50)
        p99 = percentile(through.latencies_ms, 99) / percentile(direct.latencies_ms, 99)
        figures.append(("stage p50 / direct p50", f"{p50:.2f}"))
        figures.append(("stage p99 / direct p99", f"{p99:.2f}"))
        paced = paced_load(through_url, rate=200.0, seconds=10.0)
        figures.append(("through the stage at 200 req/s, new connections", paced.summary()))
        paced = paced_load(direct_url, rate=200.0, seconds=10.0)
        figures.append(("direct at 200 req/s, new connections", paced.summary()))
    return figures


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["apigateway_bench"]))
