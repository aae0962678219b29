"""The outbox on disk: one JSON line per message, so a cloud that sends many emails keeps none
of them in memory. The file keeps at most ``limit`` messages (plus a tenth, rewritten away in
one go, so a send is not a rewrite); readers see only the newest ``limit``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .models import Message, Query

DEFAULT_LIMIT = 5000


class MessageStore:
    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT):
        if limit < 1:
            raise ValueError(f"an outbox keeps at least one message (got {limit})")
        self.path = path
        self.limit = limit
        self._slack = max(1, limit // 10)
        self._lock = threading.Lock()
        self._count = sum(1 for _ in self._lines())
        self._end_last_line()

    def _end_last_line(self) -> None:
        """A line cut short (a crash mid-write) must not swallow the next message."""
        try:
            with self.path.open("rb") as file:
                file.seek(-1, os.SEEK_END)
                ended = file.read(1) == b"\n"
        except (FileNotFoundError, OSError):  # no file, or an empty one
            return
        if not ended:
            with self.path.open("a", encoding="utf-8") as file:
                file.write("\n")

    def _lines(self) -> list[str]:
        try:
            with self.path.open(encoding="utf-8") as file:
                return [line for line in file if line.strip()]
        except FileNotFoundError:
            return []

    def append(self, message: Message) -> None:
        line = json.dumps(message.to_api(), ensure_ascii=False) + "\n"
        with self._lock:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
            self._count += 1
            if self._count > self.limit + self._slack:
                self._compact()

    def _compact(self) -> None:
        kept = self._lines()[-self.limit :]
        partial = self.path.with_suffix(".partial")
        partial.write_text("".join(kept), encoding="utf-8")
        os.replace(partial, self.path)  # readers see the old file or the new one, never half
        self._count = len(kept)

    def read(self, query: Query | None = None) -> list[Message]:
        """The newest ``limit`` messages that match, oldest first."""
        with self._lock:
            lines = self._lines()[-self.limit :]
        found = []
        for line in lines:
            try:
                message = Message.from_api(json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut short by a crash is not a message
            if query is None or query.matches(message):
                found.append(message)
        return found

    def __len__(self) -> int:
        with self._lock:
            return min(self._count, self.limit)
