"""X-Ray tracing of invocations, as the Lambda service records it.

A function with ``TracingConfig: Active`` is traced unless its caller decided not to sample
(``Sampled=0``); a ``PassThrough`` function only when its caller's trace header says
``Sampled=1``. A traced invocation gives two segments, put to X-Ray through its API:

* the Lambda service's (origin ``AWS::Lambda``): the call as the service saw it, under the
  caller's ``Parent`` when there was one;
* the function's (origin ``AWS::Lambda::Function``), under the service's, with an
  ``Initialization`` subsegment on a cold start, an ``Invocation`` subsegment, and a fault
  with its cause when the handler raised, timed out or crashed.

The handler sees ``_X_AMZN_TRACE_ID=Root=<trace>;Parent=<function segment>;Sampled=1``, so the
X-Ray SDK inside streams its subsegments to the daemon under the function's segment. Every
invocation gets a header — ``Sampled=0`` when it is not traced — as on AWS: the SDK keeps its
segment until the root changes, so an untraced invocation without a header of its own would
hang its subsegments in the previous invocation's trace.

Segments leave from one thread with a bounded queue (``SegmentSender``, ``core/segments.py``),
so an invocation never waits for X-Ray.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...constants import ACCOUNT_ID
from ...core import segments
from ...core.segments import new_id, new_trace_id

log = logging.getLogger("mysfits_lab.localcloud.lambda")

HEADER = "x-amzn-trace-id"  # the HTTP header a caller passes its trace in (lower case)
ACTIVE = "Active"
PASS_THROUGH = "PassThrough"
SERVICE_ORIGIN = "AWS::Lambda"
FUNCTION_ORIGIN = "AWS::Lambda::Function"
TIMEOUT_TYPE = "Sandbox.Timedout"


_TRACE_ID = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_ENTITY_ID = re.compile(r"[0-9a-fA-F]{16}")
# A frame of a formatted traceback (traceback.format_list): path, line and function.
_FRAME = re.compile(r'File "(?P<path>[^"]*)", line (?P<line>\d+), in (?P<label>[^\n]*)')


# -- the trace header -------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceHeader:
    """``Root=1-...;Parent=<16 hex>;Sampled=1``: which trace a call belongs to, the entity that
    made it, and whether it is sampled (None: no decision yet, ``Sampled=?`` or absent)."""

    root: str | None = None
    parent: str | None = None
    sampled: bool | None = None

    @classmethod
    def parse(cls, text: str | None) -> TraceHeader | None:
        """The header as X-Ray services read it: fields in any order, keys in any case, other
        fields (``Self``, ``Lineage``) ignored; an invalid root or parent is left out."""
        if not text:
            return None
        fields: dict[str, str] = {}
        for part in text.split(";"):
            key, sep, value = part.partition("=")
            if sep:
                fields.setdefault(key.strip().lower(), value.strip())
        root = fields.get("root")
        parent = fields.get("parent")
        sampled = {"1": True, "0": False}.get(fields.get("sampled", ""))
        return cls(
            root=root.lower() if root and _TRACE_ID.fullmatch(root) else None,
            parent=parent.lower() if parent and _ENTITY_ID.fullmatch(parent) else None,
            sampled=sampled,
        )

    def format(self) -> str:
        parts = []
        if self.root:
            parts.append(f"Root={self.root}")
        if self.parent:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={1 if self.sampled else 0}")
        return ";".join(parts)


def decide(mode: str, upstream: TraceHeader | None, now: float, enabled: bool) -> TraceHeader:
    """Whether an invocation is traced, in which trace, under which caller: the caller's
    decision stands when it made one; otherwise an Active function samples (every request, as
    the cloud's Default sampling rule does), a PassThrough one does not. Nothing is sampled
    while the cloud has no X-Ray. The answer always has a root (the caller's, else a new one)."""
    upstream = upstream or TraceHeader()
    sampled = upstream.sampled if upstream.sampled is not None else mode == ACTIVE
    return TraceHeader(
        root=upstream.root or new_trace_id(now),
        parent=upstream.parent,
        sampled=bool(sampled and enabled),
    )


@dataclass(frozen=True)
class TraceContext:
    """One invocation's place in its trace: the ids of the two segments Lambda records."""

    root: str
    sampled: bool
    caller: str | None  # the caller's entity, the service segment's parent
    service_id: str
    function_id: str

    @classmethod
    def begin(cls, decided: TraceHeader) -> TraceContext:
        assert decided.root is not None
        return cls(decided.root, bool(decided.sampled), decided.parent, new_id(), new_id())

    def environment(self) -> str:
        """``_X_AMZN_TRACE_ID`` for the handler: its parent is the function's segment."""
        return TraceHeader(self.root, self.function_id, self.sampled).format()


# -- segment documents ------------------------------------------------------------------------
@dataclass
class TracedInvocation:
    """What the segments of one sampled invocation are made of (epoch seconds throughout)."""

    trace: TraceContext
    region: str
    name: str
    arn: str  # as invoked (qualified when it was)
    request_id: str
    received: float  # the service got the call
    finished: float  # the service answered
    started: float | None = None  # the handler was called; None when it never was
    ended: float | None = None
    init_span: tuple[float, float] | None = None  # a cold start's initialization
    error: bytes | None = None  # the error payload, when the function failed
    working_directory: str = ""
    status: int = 200  # what the service answered
    throttled: bool = False  # no function ran: the call was throttled


def segment_documents(record: TracedInvocation) -> list[dict[str, Any]]:
    """The Lambda service's segment and, if the function ran, the function's."""
    trace = record.trace
    service: dict[str, Any] = {
        "name": record.name,
        "id": trace.service_id,
        "trace_id": trace.root,
        "start_time": record.received,
        "end_time": max(record.finished, record.received),
        "origin": SERVICE_ORIGIN,
        "resource_arn": record.arn,
        "http": {"response": {"status": record.status}},
        "aws": {"request_id": record.request_id},
    }
    if trace.caller:
        service["parent_id"] = trace.caller
    if record.throttled:
        service.update(error=True, throttle=True)
        return [service]
    subsegments = []
    begin = record.started if record.started is not None else record.finished
    if record.init_span is not None:
        init_start, init_end = record.init_span
        subsegments.append(_subsegment("Initialization", init_start, init_end))
        begin = min(begin, init_start)
    end = record.ended if record.ended is not None else record.finished
    if record.started is not None:
        subsegments.append(_subsegment("Invocation", record.started, max(end, record.started)))
    function: dict[str, Any] = {
        "name": record.name,
        "id": trace.function_id,
        "trace_id": trace.root,
        "parent_id": trace.service_id,
        "start_time": begin,
        "end_time": max(end, begin),
        "origin": FUNCTION_ORIGIN,
        "resource_arn": record.arn,
        "aws": {
            "account_id": ACCOUNT_ID,
            "function_arn": record.arn,
            "resource_names": [record.name],
        },
        "subsegments": subsegments,
    }
    if record.error is not None:
        function["fault"] = True
        function["cause"] = fault_cause(_json(record.error), record.working_directory)
    return [service, function]


def _subsegment(name: str, start: float, end: float) -> dict[str, Any]:
    return {"name": name, "id": new_id(), "start_time": start, "end_time": max(end, start)}


def fault_cause(error: Any, working_directory: str) -> dict[str, Any]:
    """A function error as the runtime reports it to X-Ray: the exception's type, message and
    frames (``{path, line, label}``, outermost first, as the traceback lists them)."""
    error = error if isinstance(error, dict) else {}
    stack = list(frames(error.get("stackTrace")))
    exception = {
        "id": new_id(),
        "type": str(error.get("errorType") or "Unhandled"),
        "message": str(error.get("errorMessage") or ""),
        "stack": stack,
    }
    return {
        "working_directory": working_directory,
        "exceptions": [exception],
        "paths": list(dict.fromkeys(frame["path"] for frame in stack)),
    }


def frames(trace: Any) -> Iterable[dict[str, Any]]:
    """``stackTrace`` entries of an error payload (``  File "p", line 3, in f\\n    code``) as
    X-Ray stack frames; entries in another shape are skipped."""
    if not isinstance(trace, list):
        return
    for entry in trace:
        found = _FRAME.search(entry) if isinstance(entry, str) else None
        if found:
            yield {
                "path": found["path"],
                "line": int(found["line"]),
                "label": found["label"].strip(),
            }


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


# -- sending ----------------------------------------------------------------------------------
class SegmentSender(segments.SegmentSender[TracedInvocation]):
    """Puts traced invocations' segments to X-Ray (``core/segments.py``): two each at most, so
    half as many records go in one ``PutTraceSegments`` call."""

    thread_name = "lambda-xray"
    per_call = segments.BATCH // 2
    log = log

    def documents(self, record: TracedInvocation) -> list[dict[str, Any]]:
        return segment_documents(record)
