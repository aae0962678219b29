"""One CloudWatch Logs writer for everything the local cloud runs (tasks, builds, training jobs,
endpoints, functions): lines are queued per stream, stamped in order, and sent in batches from
one background thread, so a chatty process never waits on the logs API.

Inside the cloud the batches go straight to moto's logs backend (``moto_sender``): through an
SDK client, serializing a few hundred events held the interpreter for several milliseconds
five times a second, and every request the cloud was answering meanwhile waited."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .clock import Clock

log = logging.getLogger("mysfits_lab.localcloud.logs")

FLUSH_SECONDS = 0.2
BATCH_EVENTS = 500  # PutLogEvents takes at most 10,000 events and 1 MiB; stay well below
MAX_MESSAGE = 256 * 1024 - 26  # CloudWatch's limit per event, less its per-event overhead

LogsClient = Callable[[str], Any]  # region -> a boto3 ``logs`` client
# (region, group, stream, events) -> None; LogsRejected when the logs service refuses them
Sender = Callable[[str, str, str, list[dict[str, Any]]], None]


class LogsRejected(Exception):
    """The logs service refused a batch (its group or stream was deleted meanwhile)."""


def moto_sender(account: str) -> Sender:
    """Batches written into the in-process moto's logs backend of ``account``."""
    from moto.logs.exceptions import LogsClientError
    from moto.logs.models import logs_backends

    def send(region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        try:
            logs_backends[account][region].put_log_events(group, stream, events)
        except LogsClientError as exc:
            raise LogsRejected(str(exc)) from None

    return send


@dataclass
class _Stream:
    region: str
    group: str
    name: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    last_stamp: int = 0


class LogStream:
    """Where one process's lines go; ``write`` never blocks on the network."""

    def __init__(self, writer: LogWriter, stream: _Stream):
        self._writer = writer
        self._stream = stream

    @property
    def group(self) -> str:
        return self._stream.group

    @property
    def name(self) -> str:
        return self._stream.name

    def write(self, message: str) -> None:
        self._writer._append(self._stream, message)

    def flush(self) -> None:
        self._writer.flush()


class LogWriter:
    def __init__(self, client: LogsClient, clock: Clock | None = None, send: Sender | None = None):
        self._client = client
        self._put = send or self._put_with_client
        self._clock = clock or Clock()
        self._streams: dict[tuple[str, str, str], _Stream] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-logs", daemon=True)
        self._thread.start()

    def open(self, region: str, group: str, stream: str, create_group: bool = False) -> LogStream:
        """Create the stream (and the group when asked); raises ``ClientError`` as the logs API
        does, e.g. ``ResourceNotFoundException`` for a missing group."""
        key = (region, group, stream)
        with self._lock:
            known = self._streams.get(key)
        if known is None:
            client = self._client(region)
            if create_group:
                with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                    client.create_log_group(logGroupName=group)
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
            with self._lock:
                known = self._streams.setdefault(key, _Stream(region, group, stream))
        return LogStream(self, known)

    def _append(self, stream: _Stream, message: str) -> None:
        if not message.strip():
            return  # CloudWatch rejects empty messages
        with self._lock:
            # Non-decreasing timestamps per stream: PutLogEvents wants them in order.
            stream.last_stamp = max(stream.last_stamp, self._clock.epoch_millis())
            stream.pending.append(
                {"timestamp": stream.last_stamp, "message": message[:MAX_MESSAGE]}
            )

    def flush(self) -> None:
        """Send everything queued so far (in order, per stream)."""
        with self._send_lock:
            with self._lock:
                batches = [(s, s.pending) for s in self._streams.values() if s.pending]
                for stream, _ in batches:
                    stream.pending = []
            for stream, events in batches:
                self._send(stream, events)

    def _send(self, stream: _Stream, events: list[dict[str, Any]]) -> None:
        try:
            for start in range(0, len(events), BATCH_EVENTS):
                self._put(
                    stream.region, stream.group, stream.name, events[start : start + BATCH_EVENTS]
                )
        except (ClientError, BotoCoreError, LogsRejected) as exc:
            # a deleted group must not fail the process
            log.debug(
                "dropping %d log events for %s/%s: %s", len(events), stream.group, stream.name, exc
            )

    def _put_with_client(
        self, region: str, group: str, stream: str, events: list[dict[str, Any]]
    ) -> None:
        self._client(region).put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=events
        )

    def _run(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self.flush()
