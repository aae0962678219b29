"""One batch of a shard, from its first invocation until each of its records was delivered or
given up — Lambda's error handling for stream sources. Pure logic: the invocation and the
clocks are passed in.

- The function returns an error (or a call Lambda cannot retry into success, such as a payload
  too large): with ``BisectBatchOnFunctionError`` a batch of several records is split in two
  halves, the first retried first (splitting does not consume the retry quota); otherwise the
  batch is retried after a short backoff until ``MaximumRetryAttempts`` (-1: forever), then
  discarded ("RetryAttemptsExhausted").
- The call never reached the function (throttled, function not found, service error): retried
  without consuming the quota, until the records are too old.
- Records older than ``MaximumRecordAgeInSeconds`` (-1: the stream's 24-hour retention) are
  discarded before an attempt ("RecordAgeExceeded").
- With ``ReportBatchItemFailures`` the function may name the first failed record
  (``batchItemFailures``): the records before it are done, the rest is retried as a failure.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import Settings
from .records import StreamRecord, event_payload

FUNCTION_BACKOFF = (0.25, 4.0)  # seconds: first retry, longest wait (doubling between them)
CALL_BACKOFF = (0.5, 8.0)  # the same for calls that never reached the function
RETRY_EXHAUSTED = "RetryAttemptsExhausted"
AGE_EXCEEDED = "RecordAgeExceeded"


@dataclass(frozen=True)
class InvokeResult:
    status: int = 200
    function_error: str | None = None  # "Unhandled" or "Handled", as X-Amz-Function-Error
    payload: bytes = b""
    executed_version: str = "$LATEST"
    error: str | None = None  # the Invoke call itself failed: why
    reached_function: bool = True  # False: throttled, not found, unreachable, a service error

    @property
    def ok(self) -> bool:
        return self.error is None and self.function_error is None

    def response_context(self) -> dict[str, Any]:
        context: dict[str, Any] = {
            "statusCode": self.status,
            "executedVersion": self.executed_version,
        }
        if self.function_error:
            context["functionError"] = self.function_error
        return context

    def describe(self) -> str:
        if self.error:
            return self.error
        if self.function_error:
            return f"the function returned an error: {_error_text(self.payload)}"
        return "the function reported failed records (batchItemFailures)"


Invoker = Callable[[str, bytes], InvokeResult]  # (function ARN, event) -> what Invoke answered


@dataclass
class Outcome:
    delivered: bool
    records: list[StreamRecord]
    condition: str | None = None  # why records were discarded
    invoke_count: int = 0
    last: InvokeResult | None = None


@dataclass
class _Part:
    records: list[StreamRecord]
    attempts: int = 0  # failed invocations that count against MaximumRetryAttempts
    invokes: int = 0
    waits: int = 0  # calls that never reached the function, in a row
    last: InvokeResult | None = None


class BatchRun:
    """A batch in delivery; ``step`` makes one attempt when ``due`` (monotonic seconds)."""

    def __init__(self, records: list[StreamRecord], settings: Settings, now: float = 0.0):
        self.settings = settings
        self._parts: deque[_Part] = deque([_Part(list(records))])
        self.due = now
        self.failing = False  # the last attempt failed

    @property
    def done(self) -> bool:
        return not self._parts

    def step(self, invoke: Invoker, epoch: float, now: float) -> list[Outcome]:
        """One attempt at the first unfinished part; what finished (delivered or discarded)."""
        part = self._parts[0]
        outcomes: list[Outcome] = []
        expired = _expired(part.records, self.settings.record_age_limit(), epoch)
        if expired:
            too_old = part.records[:expired]
            outcomes.append(Outcome(False, too_old, AGE_EXCEEDED, part.invokes, part.last))
            part.records = part.records[expired:]
            if not part.records:
                self._finish(now)
                return outcomes
        result = invoke(self.settings.function_arn, event_payload(part.records))
        part.invokes += 1
        part.last = result
        self.failing = not result.ok
        if result.ok:
            failed_from = (
                first_failed(result.payload, part.records)
                if self.settings.reports_item_failures
                else None
            )
            if failed_from is None:
                outcomes.append(Outcome(True, part.records, None, part.invokes, result))
                self._finish(now)
                return outcomes
            self.failing = True
            if failed_from:
                done = part.records[:failed_from]
                outcomes.append(Outcome(True, done, None, part.invokes, result))
                part.records = part.records[failed_from:]
        elif not result.reached_function:
            part.waits += 1
            self.due = now + _backoff(CALL_BACKOFF, part.waits)
            return outcomes
        elif self.settings.bisect and len(part.records) > 1:
            half = len(part.records) // 2
            self._parts.popleft()
            self._parts.extendleft(
                [
                    _Part(part.records[half:], attempts=part.attempts),
                    _Part(part.records[:half], attempts=part.attempts),
                ]
            )
            self.due = now
            return outcomes
        part.attempts += 1
        part.waits = 0
        retries = self.settings.max_retries
        if 0 <= retries < part.attempts:
            outcomes.append(Outcome(False, part.records, RETRY_EXHAUSTED, part.invokes, result))
            self._finish(now)
        else:
            self.due = now + _backoff(FUNCTION_BACKOFF, part.attempts)
        return outcomes

    def _finish(self, now: float) -> None:
        self._parts.popleft()
        self.due = now


def first_failed(payload: bytes, records: list[StreamRecord]) -> int | None:
    """Where a partial batch response says processing failed (an index into ``records``), or
    None when it reports no failure. A response Lambda cannot read fails the whole batch."""
    if not payload.strip():
        return None
    try:
        response = json.loads(payload)
    except ValueError:
        return 0
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    positions = {record.sequence: index for index, record in enumerate(records)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return 0
        found.append(positions[identifier])
    return min(found)


def _expired(records: list[StreamRecord], limit: int, epoch: float) -> int:
    """How many of the (oldest first) records are older than ``limit`` seconds."""
    count = 0
    for record in records:
        if record.arrival and epoch - record.arrival > limit:
            count += 1
        else:
            break
    return count


def _backoff(bounds: tuple[float, float], attempt: int) -> float:
    first, longest = bounds
    return min(longest, first * 2 ** max(0, attempt - 1))


def _error_text(payload: bytes, limit: int = 300) -> str:
    """``ValueError: the message`` from the runtime's error payload, else the payload itself."""
    try:
        error = json.loads(payload)
    except ValueError:
        error = None
    if isinstance(error, dict) and "errorMessage" in error:
        text = f"{error.get('errorType', 'Error')}: {error['errorMessage']}"
    else:
        text = payload.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "…"
