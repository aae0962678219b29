"""The one thread that delivers every mapping's records.

Each pass, for each mapping: its -ing state is settled (a new or re-enabled mapping becomes
Enabled once its shard iterators exist, so LATEST means "written after it became Enabled");
then each shard of an enabled mapping reads (GetRecords) into a small buffer, cuts a batch when
it is full, would pass the payload limit, or the batching window has passed, and delivers it
(``delivery.BatchRun``). A shard's next batch waits until the previous one was delivered or
given up; a batch waiting to be retried does not hold up other shards or mappings.

A shard that keeps answering records is read again at once; an idle one less and less often,
down to once a second. A disabled mapping keeps its position: re-enabled, it resumes after the
last record it delivered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ...core.clock import Clock
from .clients import IteratorLost, StreamGone
from .delivery import BatchRun, Invoker, Outcome
from .filters import matches_any
from .models import DISABLED, ENABLED
from .records import MAX_PAYLOAD, StreamRecord, lambda_record, take_batch
from .store import MappingStore, View

log = logging.getLogger("mysfits_lab.localcloud.eventsources")

# Seconds between reads of an idle shard, first and longest: Lambda reads a DynamoDB stream's
# shards four times a second.
IDLE_POLL = (0.1, 0.25)
WINDOW_CAP = 3.0  # seconds: a longer MaximumBatchingWindowInSeconds is shortened to this
READ_AHEAD = 100  # records a shard may buffer beyond a smaller BatchSize
SHARD_BUDGET = 0.5  # seconds one shard may work before the others get a turn
DESCRIBE_EVERY = 30.0  # seconds between looks for new shards
RETRY_DESCRIBE = 2.0  # seconds before looking again for a stream that was not found


class Reader(Protocol):
    def shards(self, source_arn: str) -> list[str]: ...

    def iterator(
        self, source_arn: str, shard_id: str, kind: str, after: str | None = None
    ) -> str: ...

    def read(self, iterator: str, limit: int) -> tuple[list[dict], str | None]: ...


Discarded = Callable[[View, str, Outcome], None]


@dataclass
class _Shard:
    shard_id: str
    initial: bool  # there when the mapping was enabled: read from its StartingPosition
    iterator: str | None = None
    closed: bool = False
    read_after: str | None = None  # sequence number of the last record read
    done_through: str | None = None  # ... of the last record delivered or given up
    buffer: list[StreamRecord] = field(default_factory=list)
    buffered_since: float = 0.0
    run: BatchRun | None = None
    next_read: float = 0.0
    idle: float = 0.0


@dataclass
class _Cursor:
    shards: dict[str, _Shard] | None = None
    next_describe: float = 0.0
    missing: bool = False  # the stream was not found at the last look


class Poller:
    def __init__(
        self,
        store: MappingStore,
        reader_for: Callable[[str], Reader],
        invoker: Callable[[], Invoker],
        discarded: Discarded,
        clock: Clock | None = None,
    ):
        self.store = store
        self._reader_for = reader_for
        self._make_invoker = invoker
        self._invoke: Invoker | None = None
        self._discarded = discarded
        self.clock = clock or Clock()
        self._cursors: dict[str, _Cursor] = {}
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the thread -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="event-source-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """A mapping changed: look at it now rather than after an idle wait."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                delay = self.tick()
            except Exception:  # the poller must outlive any one bad pass
                log.exception("event source poller pass failed")
                delay = 1.0
            self._wake.wait(max(0.01, delay))
            self._wake.clear()

    # -- one pass -------------------------------------------------------------------------
    def tick(self) -> float:
        """Work every mapping once; seconds until something is due."""
        views = self.store.views()
        for gone in self._cursors.keys() - {view.uuid for view in views}:
            del self._cursors[gone]
        delay = IDLE_POLL[1]
        for view in views:
            if self._stopped.is_set():
                break
            try:
                delay = min(delay, self._mapping(view))
            except Exception:
                log.exception("event source mapping %s: pass failed", view.uuid)
        return delay

    def _mapping(self, view: View) -> float:
        cursor = self._cursors.setdefault(view.uuid, _Cursor())
        if not view.enabled:
            self._pause(cursor)
            if view.state != DISABLED:
                self.store.settle(view.uuid, view.generation)
            return IDLE_POLL[1]
        now = self.clock.monotonic()
        ready = self._prepare(view, cursor, now)
        if view.state != ENABLED:
            if not ready:
                return RETRY_DESCRIBE
            self.store.settle(view.uuid, view.generation)
        delay = IDLE_POLL[1]
        for shard in list((cursor.shards or {}).values()):
            delay = min(delay, self._work(view, shard))
        return delay

    def _prepare(self, view: View, cursor: _Cursor, now: float) -> bool:
        """Shards known and each open one with an iterator: whether the mapping can read."""
        reader = self._reader_for(view.region)
        if cursor.shards is None or now >= cursor.next_describe:
            try:
                found = reader.shards(view.source_arn)
            except StreamGone as exc:
                if not cursor.missing:
                    log.warning("event source mapping %s: stream not found: %s", view.uuid, exc)
                cursor.missing = True
                cursor.next_describe = now + RETRY_DESCRIBE
                return False
            first = cursor.shards is None
            cursor.shards = cursor.shards if cursor.shards is not None else {}
            for shard_id in found:
                cursor.shards.setdefault(shard_id, _Shard(shard_id, initial=first))
            cursor.missing = False
            cursor.next_describe = now + DESCRIBE_EVERY
        ready = True
        for shard in cursor.shards.values():
            if shard.iterator is None and not shard.closed:
                if shard.read_after:
                    kind, after = "AFTER_SEQUENCE_NUMBER", shard.read_after
                else:
                    kind = view.starting_position if shard.initial else "TRIM_HORIZON"
                    after = None
                try:
                    shard.iterator = reader.iterator(view.source_arn, shard.shard_id, kind, after)
                except StreamGone as exc:
                    log.warning("event source mapping %s: no iterator: %s", view.uuid, exc)
                    cursor.next_describe = now + RETRY_DESCRIBE
                    ready = False
        return ready

    def _pause(self, cursor: _Cursor) -> None:
        """Disabled: forget what was read but not delivered, to read it again once enabled."""
        for shard in (cursor.shards or {}).values():
            if shard.buffer or shard.run is not None:
                shard.buffer, shard.run = [], None
                shard.iterator, shard.read_after = None, shard.done_through

    # -- one shard ------------------------------------------------------------------------
    def _work(self, view: View, shard: _Shard) -> float:
        """Read, batch and deliver until the shard must wait; seconds until it is due again."""
        started = self.clock.monotonic()
        settings = view.settings
        window = min(float(settings.window), WINDOW_CAP)
        while not self._stopped.is_set():
            if not self.store.current(view.uuid, view.generation):
                return 0.0  # deleted or updated meanwhile: the next pass sees what it is now
            now = self.clock.monotonic()
            busy = now - started > SHARD_BUDGET
            if shard.run is not None:
                shard.run.settings = settings  # an update applies to the next attempt
                if now < shard.run.due:
                    return shard.run.due - now
                if busy:
                    return 0.0
                self._step(view, shard, now)
                continue
            if shard.buffer:
                batch = take_batch(shard.buffer, settings.batch_size)
                full = len(batch) < len(shard.buffer) or len(batch) >= settings.batch_size
                if full or now - shard.buffered_since >= window:
                    del shard.buffer[: len(batch)]
                    shard.buffered_since = now
                    shard.run = BatchRun(batch, settings, now)
                    continue
            waiting = shard.buffered_since + window - now if shard.buffer else IDLE_POLL[1]
            if shard.iterator is None or not self._room(shard, settings.batch_size):
                return waiting
            if now < shard.next_read:
                return min(waiting, shard.next_read - now)
            if busy:
                return 0.0
            self._read(view, shard, now)
        return 0.0

    @staticmethod
    def _room(shard: _Shard, batch_size: int) -> bool:
        target = max(batch_size, READ_AHEAD)
        return len(shard.buffer) < target and sum(r.size for r in shard.buffer) < MAX_PAYLOAD

    def _read(self, view: View, shard: _Shard, now: float) -> None:
        assert shard.iterator is not None
        limit = max(view.settings.batch_size, READ_AHEAD) - len(shard.buffer)
        try:
            raws, shard.iterator = self._reader_for(view.region).read(shard.iterator, limit)
        except IteratorLost as exc:
            log.info("mapping %s: new iterator for %s (%s)", view.uuid, shard.shard_id, exc)
            shard.iterator = None  # made again from read_after on the next pass
            shard.next_read = now + IDLE_POLL[0]
            return
        shard.closed = shard.iterator is None
        for raw in raws:
            record = lambda_record(raw, view.source_arn, view.region)
            shard.read_after = record.sequence
            if matches_any(view.settings.patterns, record.record):
                if not shard.buffer:
                    shard.buffered_since = now
                shard.buffer.append(record)
            elif not shard.buffer and shard.run is None:
                shard.done_through = record.sequence  # filtered out: nothing left before it
        if raws:
            shard.idle, shard.next_read = 0.0, now
        else:
            shard.idle = min(IDLE_POLL[1], max(IDLE_POLL[0], shard.idle * 2))
            shard.next_read = now + shard.idle

    def _step(self, view: View, shard: _Shard, now: float) -> None:
        assert shard.run is not None
        if self._invoke is None:
            self._invoke = self._make_invoker()
        run = shard.run
        for outcome in run.step(self._invoke, self.clock.now(), now):
            shard.done_through = outcome.records[-1].sequence
            if outcome.delivered:
                self.store.delivered(view.uuid, len(outcome.records))
            else:
                self.store.failed(view.uuid, discarded=True)
                self._discarded(view, shard.shard_id, outcome)
        if run.done:
            shard.run = None
        elif run.failing:
            self.store.failed(view.uuid, discarded=False)
