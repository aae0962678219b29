"""The segment store: replaced on resend, bounded by documents and by bytes, oldest out first."""

from __future__ import annotations

import json

from mysfits_lab.localcloud.services.xray.documents import parse_document
from mysfits_lab.localcloud.services.xray.store import SegmentStore

from .samples import T0, entity_id, trace_id


def segment(trace: int, n: int, pad: int = 0, **extra: object):
    body = {
        "name": "svc",
        "id": entity_id(trace, n),
        "trace_id": trace_id(trace),
        "start_time": T0,
        "end_time": T0 + 1,
        **extra,
    }
    if pad:
        body["metadata"] = {"default": {"pad": "x" * pad}}
    return parse_document(json.dumps(body))


def test_a_segment_sent_again_replaces_the_in_progress_one():
    store = SegmentStore()
    first = segment(1, 1, end_time=None, in_progress=True)
    assert first.body["in_progress"] is True
    store.put(first)
    store.put(segment(1, 1))
    (documents,) = store.traces().values()
    assert len(documents) == 1 and "in_progress" not in documents[0].body
    assert store.counts() == (1, 1)


def test_the_oldest_documents_go_first_when_full():
    store = SegmentStore(max_documents=3)
    for n in range(5):
        store.put(segment(n, 0))
    assert sorted(store.traces()) == [trace_id(2), trace_id(3), trace_id(4)]
    assert store.dropped == 2


def test_bytes_are_bounded_too():
    store = SegmentStore(max_bytes=10_000)
    for n in range(10):
        store.put(segment(1, n, pad=3000))
    documents, traces = store.counts()
    assert traces == 1 and documents == 3  # each ~3.2 KB
    kept = [d.id for d in store.traces()[trace_id(1)]]
    assert kept == [entity_id(1, n) for n in (7, 8, 9)]


def test_traces_are_read_by_id_in_any_case():
    store = SegmentStore()
    store.put(segment(1, 0))
    store.put(segment(2, 0))
    assert list(store.traces([trace_id(2).upper(), "1-00000000-000000000000000000000000"])) == [
        trace_id(2)
    ]
