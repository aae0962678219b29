"""X-Ray segments leaving the cloud's services: trace and segment ids, and ``SegmentSender``,
which puts finished records' segment documents to X-Ray with ``PutTraceSegments`` from one
thread with a bounded queue, so the traced request never waits for X-Ray.

A service subclasses the sender with how its records become documents (``documents``) and its
thread's name, logger and batch size. Records carry the ``region`` their segments are put in.
Nothing is sent while the cloud has no X-Ray (``xray_running``): such records are counted as
dropped, silently.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

DAEMON_VARIABLE = "AWS_XRAY_DAEMON_ADDRESS"  # in ctx.extra_environment while X-Ray runs

MAX_PENDING = 1000  # finished records waiting to be sent; more are dropped
BATCH = 50  # documents per PutTraceSegments call
WARN_EVERY = 30.0  # seconds between warnings about segments X-Ray did not take


def new_trace_id(now: float | None = None) -> str:
    """``1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>``."""
    seconds = int(time.time() if now is None else now)
    return f"1-{seconds & 0xFFFFFFFF:08x}-{secrets.token_hex(12)}"


def new_id() -> str:
    """A segment or subsegment id: 64 random bits, 16 hex digits."""
    return secrets.token_hex(8)


def xray_running(environment: Mapping[str, str]) -> bool:
    """Whether the cloud has X-Ray now: its daemon's address is in the children's environment."""
    return DAEMON_VARIABLE in environment


class Traced(Protocol):
    region: str


R = TypeVar("R", bound=Traced)


class SegmentSender(Generic[R]):
    """Puts finished records' segments to X-Ray from a thread of its own (started on first
    use): the traced request only queues its record. A full queue drops the record, as the
    X-Ray daemon drops what it cannot send."""

    thread_name = "xray"
    per_call = BATCH  # records per PutTraceSegments call
    log = logging.getLogger("mysfits_lab.localcloud.xray")

    def __init__(
        self,
        client: Callable[[str, str], Any],
        enabled: Callable[[], bool],
        max_pending: int = MAX_PENDING,
    ):
        self._client = client  # (service, region) -> boto3 client
        self.enabled = enabled  # whether the cloud has X-Ray now
        self._queue: queue.Queue[R | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False
        self._warned_at = float("-inf")
        self.sent = 0  # documents X-Ray accepted
        self.dropped = 0  # records not sent: the queue was full, or X-Ray went away
        self.failed = 0  # documents X-Ray refused or could not be reached for

    def documents(self, record: R) -> list[dict[str, Any]]:
        """The segment documents of one record."""
        raise NotImplementedError

    def submit(self, record: R) -> None:
        if self._stopped:
            return
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name=self.thread_name, daemon=True
                    )
                    self._thread.start()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was sent (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def stop(self, timeout: float = 1.0) -> None:
        self._stopped = True
        if self._thread is not None:
            self.flush(timeout)
            with contextlib.suppress(queue.Full):  # a daemon thread: it dies with the process
                self._queue.put_nowait(None)
            self._thread.join(timeout)

    def status(self) -> dict[str, int]:
        return {
            "pending": self._queue.qsize(),
            "sent": self.sent,
            "dropped": self.dropped,
            "failed": self.failed,
        }

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while batch[-1] is not None and len(batch) < self.per_call:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            try:
                self._send(records)
            except Exception:  # a bug must not stop the thread
                self.log.exception("tracing: %d record(s) not sent", len(records))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if batch[-1] is None:
                return

    def _send(self, records: list[R]) -> None:
        if not records:
            return
        if not self.enabled():  # X-Ray stopped meanwhile (or was never there)
            self.dropped += len(records)
            return
        by_region: dict[str, list[str]] = {}
        for record in records:
            documents = by_region.setdefault(record.region, [])
            documents += [json.dumps(d) for d in self.documents(record)]
        for region, documents in by_region.items():
            try:
                answer = self._client("xray", region).put_trace_segments(
                    TraceSegmentDocuments=documents
                )
            except Exception as exc:  # X-Ray unreachable: these segments are lost
                self.failed += len(documents)
                self._warn("X-Ray did not take %d segment(s): %s", len(documents), exc)
                continue
            refused = answer.get("UnprocessedTraceSegments") or []
            self.sent += len(documents) - len(refused)
            if refused:
                self.failed += len(refused)
                self._warn("X-Ray refused %d segment(s): %s", len(refused), refused[0])

    def _warn(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            self.log.warning("tracing: " + message, *args)
