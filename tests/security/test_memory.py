"""Bodies meant to exhaust the cloud's memory leave it flat: oversized ones (a declared
Content-Length, and chunked), JSON nested millions deep or millions wide, a "billion laughs"
YAML template.
Each is answered with its service's own 4xx, and the cloud process's resident memory
(``VmRSS`` in ``/proc/<pid>/status``) stays within 50 MB of where it was."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mysfits_lab.localcloud import control
from tests.security.wire import Answer, Wire, built, client, parsed_error, sample, send

MB = 1024 * 1024
ALLOWED_GROWTH_KB = 50 * 1024
LAUGHS = "\n".join(
    ["Resources:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(9)]
)


# Parsed, every 3 bytes of it become a Python object of 64: the edge must give them back.
WIDE = (
    b'{"taskDefinition": "web", "overrides": {"containerOverrides": ['
    + b",".join([b"{}"] * ((10 * MB - 100) // 3))
    + b"]}}"
)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def request(edge: str, service: str, operation: str, **params: object) -> Wire:
    api = client(service, edge)
    values = sample(api.meta.service_model.operation_model(operation).input_shape)
    return built(api, operation, {**values, **params})


def declared(port: int, wire: Wire, length: int, sent: int) -> Answer:
    """Announce ``length`` bytes, send ``sent`` of them, and read the answer."""
    head = [f"{wire.method} {wire.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{k}: {v}" for k, v in wire.headers.items()]
    head += [f"Content-Length: {length}", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join(head).encode("latin-1"))
        chunk = b"x" * MB
        try:
            for _ in range(sent // MB):
                sock.sendall(chunk)
        except OSError:
            pass  # the cloud may stop listening once it has answered
        response = http.client.HTTPResponse(sock, method=wire.method)
        response.begin()
        return Answer(response.status, dict(response.getheaders()), response.read())


def chunked(edge: str, wire: Wire, total: int) -> Answer:
    def pieces() -> Iterator[bytes]:
        for _ in range(total // MB):
            yield b"[" * MB

    headers = {k: v for k, v in wire.headers.items() if k.lower() != "content-length"}
    response = requests.request(
        wire.method, edge + wire.path, data=pieces(), headers=headers, timeout=120
    )
    return Answer(response.status_code, dict(response.headers), response.content)


@pytest.fixture(scope="module")
def edge(cloud) -> str:
    return control.status().edge_url


def test_bomb_bodies_are_refused_and_memory_stays_flat(edge):
    pid, port = control.status().pid, int(edge.rsplit(":", 1)[1])
    invoke = request(edge, "sagemaker-runtime", "InvokeEndpoint", EndpointName="knn", Body=b"x")
    lambda_invoke = request(edge, "lambda", "Invoke", FunctionName="f", Payload=b"{}")
    put_object = request(edge, "s3", "PutObject", Bucket="bombs", Key="k", Body=b"x")
    run_task = request(edge, "ecs", "RunTask", taskDefinition="web")
    put_item = request(edge, "dynamodb", "PutItem", TableName="t", Item={"k": {"S": "v"}})
    laughs = request(edge, "cloudformation", "CreateStack", StackName="s", TemplateBody=LAUGHS)
    for warm_up in (invoke, lambda_invoke, put_object, run_task, put_item, laughs):
        send(port, warm_up)  # each service answers once (loads its code) before the baseline
    bombs = [
        ("InvokeEndpoint: 8 GiB declared, 32 MiB sent", "sagemaker-runtime", "InvokeEndpoint",
         lambda: declared(port, invoke, 8 * 1024 * MB, 32 * MB)),
        ("Lambda Invoke: 7 MiB declared and sent", "lambda", "Invoke",
         lambda: declared(port, lambda_invoke, 7 * MB, 7 * MB)),
        ("S3 PutObject: 6 GiB declared, 8 MiB sent", "s3", "PutObject",
         lambda: declared(port, put_object, 6 * 1024 * MB, 8 * MB)),
        ("S3 PutObject: 64 MiB chunked", "s3", "PutObject",
         lambda: chunked(edge, put_object, 64 * MB)),
        ("ECS RunTask: 64 MiB chunked", "ecs", "RunTask",
         lambda: chunked(edge, run_task, 64 * MB)),
        ("InvokeEndpoint: 64 MiB chunked", "sagemaker-runtime", "InvokeEndpoint",
         lambda: chunked(edge, invoke, 64 * MB)),
        ("DynamoDB PutItem: JSON nested 9 million deep", "dynamodb", "PutItem",
         lambda: send(port, put_item.but(body=b"[" * (9 * MB)))),
        ("ECS RunTask: JSON nested 200 deep", "ecs", "RunTask",
         lambda: send(port, run_task.but(body=b'{"a":' * 200 + b"1" + b"}" * 200))),
        ("CloudFormation CreateStack: a billion laughs in YAML", "cloudformation", "CreateStack",
         lambda: send(port, laughs)),
        ("ECS RunTask: 10 MiB of 3.5 million empty objects", "ecs", "RunTask",
         lambda: send(port, run_task.but(body=WIDE))),
    ]  # fmt: skip
    baseline = rss_kb(pid)
    print(f"\ncloud VmRSS at the start: {baseline / 1024:.1f} MiB")
    for name, service, operation, bomb in bombs:
        model = client(service, edge).meta.service_model.operation_model(operation)
        before = rss_kb(pid)
        for _ in range(2):
            answer = bomb()
            assert 400 <= answer.status < 500, (name, answer.status, answer.body[:300])
        after = rss_kb(pid)
        code = parsed_error(model, answer).get("Code")
        print(
            f"{name} (x2): {answer.status} {code}; VmRSS {before / 1024:.1f} -> "
            f"{after / 1024:.1f} MiB, {(after - baseline) / 1024:+.1f} MiB since the start"
        )
        assert code and code != str(answer.status), (name, answer.body[:300])
        assert after - baseline <= ALLOWED_GROWTH_KB, f"{name}: +{(after - baseline) // 1024} MiB"
    assert control.status().running
