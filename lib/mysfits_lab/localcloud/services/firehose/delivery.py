"""One sealed buffer's way to S3: through the Lambda processor when there is one, then into
objects of concatenated record data (no separator added, as AWS), and failed records into
objects of JSON lines under the error output prefix.

- A processor invocation that fails (an API error, a FunctionError, an answer outside the status
  model) is retried ``NumberOfRetries`` times (3 by default); then each of its records is
  written as failed, with ``attemptsMade`` = invocations made. ProcessingFailed records are
  written as failed at once (``Lambda.ProcessingFailedStatus``); Dropped ones are counted only.
- A failed S3 write is retried a few times over a few seconds (AWS retries for up to 24 hours,
  then drops the data). Its records then go, as error records with the S3 error code, under the
  error output prefix with the error output type ``s3-failed`` (a local name: AWS has none for
  S3), once; if that fails too the stream's ``last_error`` says so.
- Delivered objects stay within the size hint (transformed data may grow: it is cut again), so a
  delivery holds at most a size hint and one Lambda answer at a time.
"""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ...core.clock import Clock
from .keys import PROCESSING_FAILED, error_key, object_key
from .models import Batch, Record, Report
from .sinks import Invocation, SinkError
from .transform import (
    PROCESSING_FAILED_STATUS,
    InvalidResponse,
    error_record,
    interpret,
    invocation_batches,
    transformation_event,
)

log = logging.getLogger("mysfits_lab.localcloud.firehose")

Writer = Callable[[str, str, str, bytes], None]  # (region, bucket, key, body); raises SinkError
Invoker = Callable[[str, str, bytes], Invocation]  # (region, function ARN, payload)
Wait = Callable[[float], bool]  # sleep; True when the provider is stopping

S3_FAILED = "s3-failed"
S3_ATTEMPTS = 4
S3_BACKOFF = 0.25  # seconds, doubled after each failed attempt
INVOKE_BACKOFF = 0.2


class Delivery:
    def __init__(self, batch: Batch, writer: Writer, invoker: Invoker, clock: Clock, wait: Wait):
        self.batch = batch
        self.destination = batch.destination
        self.stream = batch.stream
        self._writer, self._invoker, self._clock, self._wait = writer, invoker, clock, wait
        self.report = Report()
        self._ok: list[tuple[Record, bytes]] = []
        self._ok_size = 0
        # Failed records by error output type: (record, its error line), and their size.
        self._errors: dict[str, list[tuple[Record, str]]] = {}
        self._errors_size: dict[str, int] = {}

    def run(self) -> Report:
        processor = self.destination.processor
        if processor is None:
            for record in self.batch.records:
                self._add_ok(record, record.data)
        else:
            for records in invocation_batches(self.batch.records, processor.buffer_bytes):
                if not self._process(records, processor.lambda_arn, processor.retries):
                    return self.report  # stopping
        self._flush_ok()
        self._flush_errors(PROCESSING_FAILED)
        return self.report

    # -- processing ---------------------------------------------------------------------------
    def _process(self, records: list[Record], arn: str, retries: int) -> bool:
        region = arn.split(":")[3] if arn.startswith("arn:") and arn.count(":") >= 5 else None
        event = transformation_event(
            str(uuid.uuid4()), self.stream.arn, self.stream.region, records
        )
        payload = json.dumps(event).encode()
        del event
        attempts, code, message = 0, "", ""
        while attempts <= retries:
            if attempts and self._wait(INVOKE_BACKOFF * attempts):
                return False
            attempts += 1
            try:
                invocation = self._invoker(region or self.stream.region, arn, payload)
                if invocation.function_error:
                    code, message = "Lambda.FunctionError", _function_error(invocation.payload)
                    continue
                outcome = interpret(invocation.payload, records)
            except (SinkError, InvalidResponse) as exc:
                code, message = exc.code, exc.message
                continue
            for record, data in outcome.ok:
                self._add_ok(record, data)
            self.report.dropped += len(outcome.dropped)
            for record in outcome.failed:
                self._add_error(PROCESSING_FAILED, record, attempts, *PROCESSING_FAILED_STATUS, arn)
            return True
        log.warning("stream %s: processor %s failed: %s %s", self.stream.name, arn, code, message)
        self.report.last_error = f"{code}: {message}"
        for record in records:
            self._add_error(PROCESSING_FAILED, record, attempts, code, message, arn)
        return True

    # -- objects ------------------------------------------------------------------------------
    def _add_ok(self, record: Record, data: bytes) -> None:
        if self._ok and self._ok_size + len(data) > self.destination.size_bytes:
            self._flush_ok()
        self._ok.append((record, data))
        self._ok_size += len(data)

    def _add_error(
        self,
        error_type: str,
        record: Record,
        attempts: int,
        code: str,
        message: str,
        arn: str | None,
    ) -> None:
        line = error_record(record, attempts, code, message, self._clock.epoch_millis(), arn)
        text = json.dumps(line, separators=(",", ":")) + "\n"
        pending = self._errors.setdefault(error_type, [])
        size = self._errors_size.get(error_type, 0)
        if pending and size + len(text) > self.destination.size_bytes:
            self._flush_errors(error_type)
            pending, size = self._errors.setdefault(error_type, []), 0
        pending.append((record, text))
        self._errors_size[error_type] = size + len(text)

    def _flush_ok(self) -> None:
        if not self._ok:
            return
        entries, self._ok, self._ok_size = self._ok, [], 0
        body = b"".join(data for _, data in entries)
        if self.destination.compression == "GZIP":
            body = gzip.compress(body)
        records = [record for record, _ in entries]
        key = object_key(
            self.destination.prefix,
            self.stream.name,
            self.batch.version,
            _oldest(records),
            self._now(),
            self.destination.extension,
        )
        failure = self._put(key, body)
        if failure is None:
            self.report.objects += 1
            self.report.records += len(records)
            return
        self.report.last_error = f"{failure.code}: {failure.message}"
        log.warning("stream %s: writing %s failed: %s", self.stream.name, key, failure)
        for record in records:
            self._add_error(S3_FAILED, record, S3_ATTEMPTS, failure.code, failure.message, None)
        self._flush_errors(S3_FAILED)

    def _flush_errors(self, error_type: str) -> None:
        entries = self._errors.pop(error_type, [])
        self._errors_size.pop(error_type, None)
        if not entries:
            return
        records = [record for record, _ in entries]
        key = error_key(
            self.destination.prefix,
            self.destination.error_prefix,
            error_type,
            self.stream.name,
            self.batch.version,
            _oldest(records),
            self._now(),
        )
        self.report.failed += len(records)
        failure = self._put(key, "".join(text for _, text in entries).encode())
        if failure is not None:
            self.report.last_error = (
                f"{failure.code}: {failure.message} (writing {len(records)} failed records to "
                f"{key}; they are lost)"
            )
            log.warning("stream %s: %s", self.stream.name, self.report.last_error)

    def _put(self, key: str, body: bytes) -> SinkError | None:
        failure = SinkError("InternalError", "not attempted")
        for attempt in range(S3_ATTEMPTS):
            if attempt and self._wait(S3_BACKOFF * 2 ** (attempt - 1)):
                break
            try:
                self._writer(self.stream.region, self.destination.bucket, key, body)
                return None
            except SinkError as exc:
                failure = exc
        return failure

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)


def _oldest(records: list[Record]) -> datetime:
    return datetime.fromtimestamp(min(r.arrival_ms for r in records) / 1000, UTC)


def _function_error(payload: bytes) -> str:
    """Lambda's error answer (``{"errorType", "errorMessage"}``) in a sentence."""
    detail = ""
    try:
        error = json.loads(payload)
        if isinstance(error, dict):
            detail = ": ".join(str(error[k]) for k in ("errorType", "errorMessage") if k in error)
    except (ValueError, UnicodeDecodeError):
        detail = payload[:200].decode("utf-8", "replace")
    sentence = "The Lambda function was successfully invoked but it returned an error result"
    return f"{sentence}: {detail[:1000]}" if detail else f"{sentence}."
