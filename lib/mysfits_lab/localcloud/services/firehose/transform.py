"""Data transformation through a Lambda processor, as AWS's "Data transformation and status
model" defines it: the event Firehose invokes the function with, the function's answer read
back, and the error record written for each record that fails. Pure; no I/O.

The event: ``{"invocationId", "deliveryStreamArn", "region", "records": [{"recordId",
"approximateArrivalTimestamp" (epoch ms), "data" (base64)}]}``, at most the processor's
``BufferSizeInMBs`` of data and Lambda's 6 MB request limit per invocation. The answer must
return every recordId once, each with ``result`` Ok (with base64 ``data``), Dropped or
ProcessingFailed; an answer that does not is a failed invocation (``Lambda.MissingRecordId``,
``Lambda.DuplicatedRecordId``, ``Lambda.JsonProcessingException``), retried like one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .models import MIB, Record

INVOKE_LIMIT = 6 * MIB  # Lambda's synchronous request (and response) payload
_EVENT_OVERHEAD = 1024  # the event's own members, an ARN and a region
_RECORD_OVERHEAD = 256  # one record's members, its id and timestamp
PROCESSING_FAILED_STATUS = (
    "Lambda.ProcessingFailedStatus",
    "ProcessingFailed status set for record",
)


def _encoded(size: int) -> int:
    return 4 * ((size + 2) // 3)


def invocation_batches(records: list[Record], buffer_bytes: int) -> Iterator[list[Record]]:
    """``records`` in order, cut into invocations of at most ``buffer_bytes`` of data whose
    event stays within Lambda's request limit (a lone record always fits: it is ≤ 1,000 KiB)."""
    batch: list[Record] = []
    data = payload = 0
    for record in records:
        size = len(record.data)
        cost = _encoded(size) + _RECORD_OVERHEAD
        if batch and (
            data + size > buffer_bytes or payload + cost > INVOKE_LIMIT - _EVENT_OVERHEAD
        ):
            yield batch
            batch, data, payload = [], 0, 0
        batch.append(record)
        data += size
        payload += cost
    if batch:
        yield batch


def transformation_event(
    invocation_id: str, stream_arn: str, region: str, records: list[Record]
) -> dict[str, Any]:
    return {
        "invocationId": invocation_id,
        "deliveryStreamArn": stream_arn,
        "region": region,
        "records": [
            {
                "recordId": record.record_id,
                "approximateArrivalTimestamp": record.arrival_ms,
                "data": base64.b64encode(record.data).decode(),
            }
            for record in records
        ],
    }


class InvalidResponse(Exception):  # noqa: N818 - a failed invocation, named as AWS names it
    """The function answered, but not in the status model: the whole invocation failed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Outcome:
    """The records of one invocation, by result (in the order they were sent)."""

    ok: list[tuple[Record, bytes]] = field(default_factory=list)
    dropped: list[Record] = field(default_factory=list)
    failed: list[Record] = field(default_factory=list)


def interpret(payload: bytes, records: list[Record]) -> Outcome:
    """The function's answer to ``records`` (InvalidResponse when it is not one)."""
    try:
        answer = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise _json_error("the answer is not JSON") from None
    returned = answer.get("records") if isinstance(answer, dict) else None
    if not isinstance(returned, list):
        raise _json_error('the answer has no "records" list')
    sent = {record.record_id: record for record in records}
    results: dict[str, tuple[str, bytes]] = {}
    for item in returned:
        record_id = item.get("recordId") if isinstance(item, dict) else None
        if record_id not in sent:
            raise _json_error(f"a returned record has the unknown recordId {str(record_id)[:80]!r}")
        if record_id in results:
            raise InvalidResponse(
                "Lambda.DuplicatedRecordId",
                "Multiple records were returned with the same record ID. Ensure that the Lambda "
                "function returns unique record IDs for each record.",
            )
        results[record_id] = _result(item)
    missing = len(sent) - len(results)
    if missing:
        raise InvalidResponse(
            "Lambda.MissingRecordId",
            f"One or more record IDs were not returned ({missing} of {len(sent)}). Ensure that "
            "the Lambda function returns all received record IDs.",
        )
    outcome = Outcome()
    for record in records:
        result, data = results[record.record_id]
        if result == "Ok":
            outcome.ok.append((record, data))
        elif result == "Dropped":
            outcome.dropped.append(record)
        else:
            outcome.failed.append(record)
    return outcome


def _result(item: dict[str, Any]) -> tuple[str, bytes]:
    result = item.get("result")
    if result not in ("Ok", "Dropped", "ProcessingFailed"):
        raise _json_error(
            f"result must be Ok, Dropped or ProcessingFailed, not {str(result)[:40]!r}"
        )
    if result != "Ok":
        return result, b""
    data = item.get("data")
    if not isinstance(data, str):
        raise _json_error('a record with result Ok has no base64 "data"')
    try:
        return result, base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _json_error('a record\'s "data" is not base64') from None


def _json_error(detail: str) -> InvalidResponse:
    return InvalidResponse(
        "Lambda.JsonProcessingException",
        "There was an error parsing returned records from the Lambda function: "
        f"{detail}. Ensure that the returned records follow the status model required by "
        "Firehose.",
    )


def error_record(
    record: Record, attempts: int, code: str, message: str, ended_ms: int, lambda_arn: str | None
) -> dict[str, Any]:
    """One line of a ``processing-failed`` object (AWS's documented shape)."""
    line: dict[str, Any] = {
        "attemptsMade": attempts,
        "arrivalTimestamp": record.arrival_ms,
        "errorCode": code,
        "errorMessage": message,
        "attemptEndingTimestamp": ended_ms,
        "rawData": base64.b64encode(record.data).decode(),
    }
    if lambda_arn is not None:
        line["lambdaArn"] = lambda_arn
    return line
