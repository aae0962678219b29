"""Stream records as boto3's GetRecords gives them, a fake stream and a fake invoker, and a
clock the tests move by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.event_sources.clients import IteratorLost, StreamGone
from mysfits_lab.localcloud.services.event_sources.delivery import InvokeResult
from mysfits_lab.localcloud.services.event_sources.records import StreamRecord, lambda_record

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/questions/stream/2026-01-01T00:00:00.000"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:process"
FIRST_SEQUENCE = 1100000000017454423009


def raw(
    number: int, key: str | None = None, fail: bool = False, created: float = 1.8e9
) -> dict[str, Any]:
    """The ``number``-th record of a shard, as boto3 parses GetRecords."""
    image: dict[str, Any] = {"id": {"S": key or f"k{number}"}}
    if fail:
        image["fail"] = {"BOOL": True}
    return {
        "eventID": f"{number:032x}",
        "eventName": "INSERT",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime.fromtimestamp(created, UTC),
            "Keys": {"id": image["id"]},
            "NewImage": image,
            "SequenceNumber": str(FIRST_SEQUENCE + number),
            "SizeBytes": 40,
            "StreamViewType": "NEW_IMAGE",
        },
    }


def records(*numbers: int, created: float = 1.8e9) -> list[StreamRecord]:
    return [lambda_record(raw(n, created=created), STREAM, "us-east-1") for n in numbers]


class ManualClock(Clock):
    def __init__(self, start: float = 100.0, epoch: float = 1.8e9):
        super().__init__()
        self.t = start
        self.epoch = epoch

    def monotonic(self) -> float:
        return self.t

    def now(self) -> float:
        return self.epoch + self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeStream:
    """Shards of records; iterators are ``shard|position`` tokens, as good as moto's."""

    def __init__(self, shards: tuple[str, ...] = ("shard-1",)):
        self.records: dict[str, list[dict[str, Any]]] = {s: [] for s in shards}
        self.gone = False
        self.lose_iterators = 0  # the next N reads fail as if the iterator expired
        self.reads = 0

    def put(self, *numbers: int, shard: str = "shard-1", fail: tuple[int, ...] = ()) -> None:
        for n in numbers:
            self.records[shard].append(raw(n, fail=n in fail))

    def shards(self, source_arn: str) -> list[str]:
        if self.gone:
            raise StreamGone(source_arn)
        return list(self.records)

    def iterator(self, source_arn: str, shard_id: str, kind: str, after: str | None = None) -> str:
        items = self.records[shard_id]
        if kind == "TRIM_HORIZON":
            position = 0
        elif kind == "LATEST":
            position = len(items)
        else:
            sequences = [r["dynamodb"]["SequenceNumber"] for r in items]
            position = sequences.index(after) + 1
        return f"{shard_id}|{position}"

    def read(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        self.reads += 1
        if self.lose_iterators:
            self.lose_iterators -= 1
            raise IteratorLost("ExpiredIteratorException")
        shard, position = iterator.split("|")
        found = self.records[shard][int(position) : int(position) + limit]
        return found, f"{shard}|{int(position) + len(found)}"


class FakeLambda:
    """Records every event; fails on records whose image has ``fail`` (as a function that
    raises), or answers what ``script`` says for the next calls."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.script: list[InvokeResult] = []

    def __call__(self, function_arn: str, payload: bytes) -> InvokeResult:
        event = json.loads(payload)
        self.events.append(event)
        if self.script:
            return self.script.pop(0)
        if any("fail" in r["dynamodb"].get("NewImage", {}) for r in event["Records"]):
            error = {"errorMessage": "bad record", "errorType": "ValueError"}
            return InvokeResult(function_error="Unhandled", payload=json.dumps(error).encode())
        return InvokeResult(payload=b"null")

    def batches(self) -> list[list[str]]:
        """The records' keys of each call, in order."""
        return [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]] for e in self.events]
