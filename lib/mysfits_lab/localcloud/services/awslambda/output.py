"""A worker's output: its log stream, opened while the process starts, and its stdout and
stderr read line by line into the log and into the current invocation's excerpt (for Tail).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

from . import formats

log = logging.getLogger("mysfits_lab.localcloud.lambda")

TAIL_KEEP = 2 * formats.TAIL_BYTES  # characters of an invocation's log kept for Tail


class LogSink(Protocol):
    def write(self, message: str) -> None: ...


class DeferredSink:
    """The worker's log stream, opened on a thread of its own (two API calls) while the process
    starts; lines written meanwhile wait, at most ``MAX_WAITING`` of them."""

    MAX_WAITING = 1000

    def __init__(self, opener: Callable[[], LogSink | None]):
        self._lock = threading.Lock()
        self._sink: LogSink | None = None
        self._waiting: list[str] | None = []
        self._opened = threading.Event()
        threading.Thread(target=self._open, args=(opener,), name="lambda-log", daemon=True).start()

    def _open(self, opener: Callable[[], LogSink | None]) -> None:
        try:
            sink = opener()
        except Exception:  # the function runs without its log, as the engine reports
            log.exception("opening a log stream failed")
            sink = None
        with self._lock:
            waiting, self._waiting, self._sink = self._waiting or [], None, sink
            if sink is not None:
                for line in waiting:
                    sink.write(line)
        self._opened.set()

    def write(self, message: str) -> None:
        with self._lock:
            if self._waiting is None:
                if self._sink is not None:
                    self._sink.write(message)
            elif len(self._waiting) < self.MAX_WAITING:
                self._waiting.append(message)

    def wait_open(self, timeout: float) -> bool:
        return self._opened.wait(timeout)


class Output:
    """The worker's stdout and stderr, line by line: each line to the log stream and to the
    current invocation's excerpt; the bootstrap's marker lines set the events waiting on them."""

    def __init__(self, sink: LogSink | None, marker: str):
        self.sink = sink
        self.marker = marker
        self._lock = threading.Lock()
        self._lines: deque[str] = deque()
        self._chars = 0
        self._marks: dict[str, threading.Event] = {}

    def expect(self, ident: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._marks[ident] = event
        return event

    def on_line(self, line: str) -> None:
        if line.startswith(self.marker):
            with self._lock:
                event = self._marks.pop(line[len(self.marker) :], None)
            if event is not None:
                event.set()
            return
        self.add(line)

    def add(self, line: str) -> None:
        if self.sink is not None:
            self.sink.write(line)
        with self._lock:
            self._lines.append(line[-TAIL_KEEP:])
            self._chars += len(self._lines[-1])
            while self._chars > TAIL_KEEP and len(self._lines) > 1:
                self._chars -= len(self._lines.popleft())

    def begin(self) -> None:
        with self._lock:
            self._lines.clear()
            self._chars = 0

    def excerpt(self) -> list[str]:
        with self._lock:
            return list(self._lines)
