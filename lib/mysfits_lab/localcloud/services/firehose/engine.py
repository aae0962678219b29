"""The firehose engine: the managed streams, their buffers, and the threads that deliver them.

A record joins its stream's buffer; a buffer is sealed when the next record would take it past
``SizeInMBs`` (it is never larger) or when it reaches it, and by one timer thread when a lone
record's wait on AWS has passed since its first record: ``IntervalInSeconds``, plus the Lambda
processor's ``BufferIntervalInSeconds`` when there is one (AWS buffers for the function, then
for the destination) — AWS time, scaled by the cloud's clock (never under ``MIN_INTERVAL``:
60 s is 6 s at the default scale). Sealed buffers are delivered by a few worker threads
(``delivery.py``), so a put never waits for S3 or Lambda.

Memory is bounded: every record held (buffered or being delivered) counts its size plus a fixed
overhead against ``HELD_LIMIT``; past it, records are refused as AWS refuses them when throttled
(``ServiceUnavailableException``, "Slow down.") until deliveries catch up.

``stop()`` seals nothing more: the timer ends, queued deliveries are dropped and running ones
stop at their next retry.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...core.clock import Clock
from .delivery import Delivery, Invoker, Writer
from .models import MIB, Batch, Destination, Record, Report, Stream, new_record_id

log = logging.getLogger("mysfits_lab.localcloud.firehose")

HELD_LIMIT = 256 * MIB
RECORD_OVERHEAD = 256  # what a buffered record costs beyond its data
MIN_INTERVAL = 1.0  # seconds
IDLE_WAIT = 5.0  # the timer's sleep when no buffer waits
WORKERS = 4

Key = tuple[str, str]  # (region, stream name)


class DeliveryEngine:
    def __init__(
        self,
        clock: Clock,
        writer: Writer,
        invoker: Invoker,
        *,
        inline: bool = False,  # deliver on the calling thread (tests)
        held_limit: int = HELD_LIMIT,
    ):
        self._clock = clock
        self._writer, self._invoker = writer, invoker
        self._held_limit = held_limit
        self._held = 0
        self._streams: dict[Key, Stream] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._timer = threading.Thread(target=self._run, name="firehose-timer", daemon=True)
        self._pool = None if inline else ThreadPoolExecutor(WORKERS, "firehose-delivery")

    # -- streams ------------------------------------------------------------------------------
    def add(self, stream: Stream) -> Stream:
        """Manage ``stream`` (the one already managed under its name and region wins)."""
        with self._lock:
            return self._streams.setdefault((stream.region, stream.name), stream)

    def get(self, region: str, name: str) -> Stream | None:
        with self._lock:
            return self._streams.get((region, name))

    def remove(self, region: str, name: str) -> None:
        """Forget a stream and discard its buffer (DeleteDeliveryStream deletes the data too)."""
        with self._lock:
            stream = self._streams.pop((region, name), None)
            if stream is not None:
                self._held -= sum(_cost(r) for r in stream.take())

    def update(self, region: str, name: str, destination: Destination, version: str) -> None:
        """New settings for new data: what is buffered is delivered now, as it was buffered."""
        with self._lock:
            stream = self._streams.get((region, name))
            if stream is None:
                return
            batch = self._seal(stream)
            stream.destination, stream.version = destination, version
        self._submit([batch])

    def interval(self, destination: Destination) -> float:
        """How long a buffer waits here from its first record (see the module docstring)."""
        return self._clock.scaled(destination.latency_seconds, MIN_INTERVAL)

    # -- records ------------------------------------------------------------------------------
    def put(self, region: str, name: str, data: list[bytes]) -> list[str | None]:
        """Buffer records; each one's RecordId, or None when refused for lack of memory.
        LookupError when the stream is not (or no longer) managed."""
        arrival = self._clock.epoch_millis()
        ids: list[str | None] = []
        sealed: list[Batch | None] = []
        with self._lock:
            stream = self._streams.get((region, name))
            if stream is None:
                raise LookupError(name)
            now = self._clock.monotonic()
            was_empty = not stream.records
            for item in data:
                cost = len(item) + RECORD_OVERHEAD
                if self._held + cost > self._held_limit or self._stopping.is_set():
                    ids.append(None)
                    continue
                if stream.overflows(len(item)):
                    sealed.append(self._seal(stream))
                record = Record(new_record_id(), item, arrival)
                stream.append(record, now)
                self._held += cost
                ids.append(record.record_id)
                if stream.full():
                    sealed.append(self._seal(stream))
            if was_empty and stream.records:
                self._wake.set()  # a new buffer: the timer learns its deadline
        self._submit(sealed)
        return ids

    def _seal(self, stream: Stream) -> Batch | None:
        """Take a stream's buffer for delivery (under the lock)."""
        if not stream.records:
            return None
        records = stream.take()
        held = sum(_cost(r) for r in records)
        return Batch(stream, stream.version, stream.destination, records, held)

    def flush_due(self) -> float:
        """Seal the buffers whose interval has passed; how long until the next one is due."""
        due: list[Batch | None] = []
        wait = IDLE_WAIT
        with self._lock:
            now = self._clock.monotonic()
            for stream in self._streams.values():
                if stream.started is None:
                    continue
                left = stream.started + self.interval(stream.destination) - now
                if left <= 0:
                    due.append(self._seal(stream))
                else:
                    wait = min(wait, left)
        self._submit(due)
        return wait

    # -- delivery -----------------------------------------------------------------------------
    def _submit(self, batches: list[Batch | None]) -> None:
        for batch in batches:
            if batch is None:
                continue
            if self._pool is None:
                self._deliver(batch)
            else:
                try:
                    self._pool.submit(self._deliver, batch)
                except RuntimeError:  # the pool is shut down: the cloud is stopping
                    self._release(batch, Report())

    def _deliver(self, batch: Batch) -> None:
        report = Report()
        try:
            report = Delivery(batch, self._writer, self._invoker, self._clock, self._wait).run()
        except Exception as exc:  # a bug must not lose the accounting
            log.exception("delivering %d records of %s", len(batch.records), batch.stream.name)
            report = Report(failed=len(batch.records), last_error=f"InternalError: {exc}")
        finally:
            self._release(batch, report)

    def _release(self, batch: Batch, report: Report) -> None:
        with self._lock:
            self._held -= batch.held
            report.apply(batch.stream)

    def _wait(self, seconds: float) -> bool:
        return self._stopping.wait(seconds)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._timer.is_alive():
            self._timer.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = self.flush_due()
            except Exception:  # keep timing the other streams
                log.exception("firehose timer")
                wait = IDLE_WAIT
            self._wake.wait(wait)
            self._wake.clear()

    # -- what it did --------------------------------------------------------------------------
    def stats(self, region: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            now = self._clock.monotonic()
            return [
                stream.to_api(now)
                for (stream_region, _), stream in sorted(self._streams.items())
                if region is None or stream_region == region
            ]

    @property
    def held(self) -> int:
        with self._lock:
            return self._held


def _cost(record: Record) -> int:
    return len(record.data) + RECORD_OVERHEAD
