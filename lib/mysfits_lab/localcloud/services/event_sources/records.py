"""Stream records as a Lambda function receives them, and the record Lambda sends an on-failure
destination about a discarded batch. Pure functions; no I/O.

GetRecords (as boto3 parses it) differs from what Lambda delivers: Lambda's records carry
``eventVersion`` 1.1, the mapping's region, the stream's ARN as ``eventSourceARN``, the creation
time as epoch seconds and binary attributes as base64 text.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

# Lambda's synchronous payload limit: a batch is cut before its event would pass it.
MAX_PAYLOAD = 6 * 1024 * 1024
_ENVELOPE = len('{"Records": []}')


class StreamRecord(NamedTuple):
    record: dict[str, Any]  # as the function receives it
    sequence: str
    arrival: float  # epoch seconds: ApproximateCreationDateTime
    size: int  # bytes of the record in the event


def lambda_record(raw: dict[str, Any], source_arn: str, region: str) -> StreamRecord:
    """One GetRecords record as an element of the event's ``Records``."""
    stream = raw.get("dynamodb") or {}
    arrival = _epoch(stream.get("ApproximateCreationDateTime"))
    body: dict[str, Any] = {"ApproximateCreationDateTime": float(int(arrival))}
    for image in ("Keys", "NewImage", "OldImage"):
        if image in stream:
            body[image] = {name: _wire(value) for name, value in stream[image].items()}
    body["SequenceNumber"] = str(stream.get("SequenceNumber", ""))
    body["SizeBytes"] = stream.get("SizeBytes", 0)
    body["StreamViewType"] = stream.get("StreamViewType", "")
    record: dict[str, Any] = {
        "eventID": raw.get("eventID", ""),
        "eventName": raw.get("eventName", ""),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": body,
        "eventSourceARN": source_arn,
    }
    if raw.get("userIdentity"):  # deletions by TTL
        record["userIdentity"] = raw["userIdentity"]
    size = len(json.dumps(record)) + 2  # and its separator in the list
    return StreamRecord(record, body["SequenceNumber"], arrival, size)


def event_payload(records: list[StreamRecord]) -> bytes:
    return json.dumps({"Records": [r.record for r in records]}).encode()


def take_batch(
    buffered: list[StreamRecord], batch_size: int, max_payload: int = MAX_PAYLOAD
) -> list[StreamRecord]:
    """The records of the next batch: at most ``batch_size``, and an event within
    ``max_payload`` bytes (one record always goes, whatever its size)."""
    total, count = _ENVELOPE, 0
    for record in buffered[:batch_size]:
        if count and total + record.size > max_payload:
            break
        total += record.size
        count += 1
    return buffered[:count]


def failure_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    response: dict[str, Any],
    now: float,
    shard_id: str,
    records: list[StreamRecord],
    stream_arn: str,
) -> dict[str, Any]:
    """What an SQS or SNS on-failure destination receives about a discarded batch: metadata
    only, as Lambda sends it (the records stay in the stream)."""
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(now, millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0].sequence,
            "endSequenceNumber": records[-1].sequence,
            "approximateArrivalOfFirstRecord": _iso(records[0].arrival),
            "approximateArrivalOfLastRecord": _iso(records[-1].arrival),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _iso(epoch: float, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if millis:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=UTC).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _wire(value: Any) -> Any:
    """An attribute value as DynamoDB JSON: boto3 gives binaries as bytes; events carry base64."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "B" and isinstance(inner, bytes | bytearray):
            out[kind] = base64.b64encode(inner).decode()
        elif kind == "BS" and isinstance(inner, list):
            out[kind] = [
                base64.b64encode(b).decode() if isinstance(b, bytes | bytearray) else b
                for b in inner
            ]
        elif kind == "M" and isinstance(inner, dict):
            out[kind] = {name: _wire(v) for name, v in inner.items()}
        elif kind == "L" and isinstance(inner, list):
            out[kind] = [_wire(v) for v in inner]
        else:
            out[kind] = inner
    return out
