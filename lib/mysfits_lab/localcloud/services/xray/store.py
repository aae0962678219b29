"""The one store of segment documents, fed by PutTraceSegments and the daemon alike.

Bounded twice — by documents and by their JSON size — and the oldest documents go first, so
whatever a client sends, memory stays flat. A document sent again under the same trace and id
(an in-progress segment, then the completed one) replaces the earlier one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from .documents import Document

MAX_DOCUMENTS = 5000
MAX_BYTES = 4 * 1024 * 1024  # of JSON text; parsed, a document takes a few times as much


class SegmentStore:
    def __init__(self, max_documents: int = MAX_DOCUMENTS, max_bytes: int = MAX_BYTES):
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        # (trace id, document id) → document, oldest first.
        self._documents: OrderedDict[tuple[str, str], Document] = OrderedDict()
        self._by_trace: dict[str, dict[str, Document]] = {}
        self._bytes = 0
        self.dropped = 0  # documents pushed out by newer ones
        self._lock = threading.Lock()

    def put(self, document: Document) -> None:
        key = (document.trace_id, document.id)
        with self._lock:
            if key in self._documents:
                self._remove(key)
            self._documents[key] = document
            self._by_trace.setdefault(document.trace_id, {})[document.id] = document
            self._bytes += document.size
            while len(self._documents) > self.max_documents or (
                self._bytes > self.max_bytes and len(self._documents) > 1
            ):
                self._remove(next(iter(self._documents)))
                self.dropped += 1

    def _remove(self, key: tuple[str, str]) -> None:
        document = self._documents.pop(key)
        self._bytes -= document.size
        trace = self._by_trace[key[0]]
        del trace[key[1]]
        if not trace:
            del self._by_trace[key[0]]

    def traces(self, trace_ids: Iterable[str] | None = None) -> dict[str, list[Document]]:
        """Trace id → its documents (a copy), for every trace or the ones asked for."""
        with self._lock:
            if trace_ids is None:
                return {tid: list(docs.values()) for tid, docs in self._by_trace.items()}
            return {
                tid: list(self._by_trace[tid].values())
                for tid in dict.fromkeys(t.lower() for t in trace_ids)
                if tid in self._by_trace
            }

    def counts(self) -> tuple[int, int]:
        """(documents, traces) held now."""
        with self._lock:
            return len(self._documents), len(self._by_trace)
