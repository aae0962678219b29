"""Stand-ins for what the firehose engine talks to: a clock the test moves, S3, and Lambda."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.firehose.models import Destination, Processor, Record, Stream
from mysfits_lab.localcloud.services.firehose.sinks import Invocation, SinkError

EPOCH = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:processor"


class FakeClock(Clock):
    """Wall and monotonic time that move only when the test says."""

    def __init__(self, scale: float = 0.1):
        super().__init__(scale=scale)
        self.wall = EPOCH
        self.mono = 100.0

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


class FakeS3:
    """Objects by key; ``fail`` names keys (by prefix) that fail with ``S3.NoSuchBucket``."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.fail: tuple[str, ...] = ()

    def __call__(self, region: str, bucket: str, key: str, body: bytes) -> None:
        self.calls.append(key)
        if key.startswith(self.fail):
            raise SinkError("S3.NoSuchBucket", "The specified bucket does not exist")
        self.objects[key] = body

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def lines(self, prefix: str) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for key in self.keys(prefix)
            for line in self.objects[key].decode().splitlines()
        ]


Answer = Callable[[dict[str, Any]], Invocation]


class FakeLambda:
    """Invocations recorded as events; ``answer`` builds each invocation's result."""

    def __init__(self, answer: Answer | None = None):
        self.events: list[dict[str, Any]] = []
        self.answer = answer or transform_like_the_test_function

    def __call__(self, region: str, function_arn: str, payload: bytes) -> Invocation:
        event = json.loads(payload)
        self.events.append(event)
        return self.answer(event)


def transform_like_the_test_function(event: dict[str, Any]) -> Invocation:
    """Upper-case each record; drop those holding "drop"; fail those holding "fail"."""
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if b"drop" in data:
            out.append({"recordId": record["recordId"], "result": "Dropped"})
        elif b"fail" in data:
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed"})
        else:
            encoded = base64.b64encode(data.upper()).decode()
            out.append({"recordId": record["recordId"], "result": "Ok", "data": encoded})
    return Invocation(json.dumps({"records": out}).encode())


def answer_with(body: Any, function_error: str | None = None) -> Answer:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda _event: Invocation(payload, function_error)


def destination(**changes: Any) -> Destination:
    settings: dict[str, Any] = {"bucket": "clicks", "prefix": "firehose/", "interval_seconds": 60}
    settings.update(changes)
    return Destination(**settings)


def processor(**changes: Any) -> Processor:
    return Processor(LAMBDA_ARN, **changes)


def stream(dest: Destination | None = None, name: str = "clicks", version: str = "1") -> Stream:
    return Stream(name, "us-east-1", ARN, version, dest or destination(), active_at=0.0)


def records(*data: bytes, arrival_ms: int = int(EPOCH * 1000)) -> list[Record]:
    return [Record(f"id-{i}", item, arrival_ms + i) for i, item in enumerate(data)]
