"""X-Ray tracing of a stage with ``tracingEnabled``, as API Gateway records it.

Every request on such a stage is sampled (the cloud's Default sampling rule samples all) unless
the caller's ``X-Amzn-Trace-Id`` says ``Sampled=0``. Its trace is the caller's ``Root``, else a
new one. A sampled request gives one segment (origin ``AWS::ApiGateway::Stage``, named
``<api name>/<stage>``, under the caller's ``Parent`` when there is one) with a subsegment per
integration call — ``Lambda`` (namespace ``aws``) for a function, the service's name for an
``AWS`` integration, the backend's host (namespace ``remote``) for ``HTTP`` and ``HTTP_PROXY``.
Each call carries ``X-Amzn-Trace-Id: Root=<trace>;Parent=<its subsegment>;Sampled=1``, so a
traced Lambda function's segments hang under the call that made them, as on AWS.

Segments leave from one thread with a bounded queue (``SegmentSender``, ``core/segments.py``): a
request only queues what its segment is made of; the document is written and put with
``PutTraceSegments`` later. Nothing is queued while the cloud has no X-Ray.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...constants import ACCOUNT_ID
from ...core import segments
from ...core.segments import new_id, new_trace_id

log = logging.getLogger("mysfits_lab.localcloud.apigateway")

ORIGIN = "AWS::ApiGateway::Stage"
HEADER = "X-Amzn-Trace-Id"
SAMPLING_RULE = "Default"

MAX_TEXT = 2048  # a URL or user agent is cut here: a document must stay under 64 KB
MAX_HEADER = 256  # a longer trace header is not read

_TRACE_ID = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_ENTITY_ID = re.compile(r"[0-9a-fA-F]{16}")
# What X-Ray accepts in a name: letters, digits, whitespace and _ . : / % & # = + \ - @.
_NOT_IN_NAME = re.compile(r"[^\w\s.:/%&#=+\\\-@]")


def entity_name(text: str, fallback: str) -> str:
    """``text`` with what X-Ray refuses in a name left out, at most 200 long."""
    return _NOT_IN_NAME.sub("", text)[:200] or fallback


def segment_name(api_name: str, stage: str) -> str:
    """``<api name>/<stage>``, as API Gateway names a stage's segment."""
    return entity_name(f"{api_name}/{stage}", stage)


# -- the trace header -------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceHeader:
    """``Root=1-...;Parent=<16 hex>;Sampled=1``; ``sampled`` None when the caller decided
    nothing (``Sampled=?`` or no field)."""

    root: str | None = None
    parent: str | None = None
    sampled: bool | None = None

    @classmethod
    def parse(cls, text: str | None) -> TraceHeader:
        """As X-Ray services read it: fields in any order, keys in any case, others
        (``Self``, ``Lineage``) ignored, an invalid root or parent left out."""
        if not text or len(text) > MAX_HEADER:
            return cls()
        fields: dict[str, str] = {}
        for part in text.split(";"):
            key, sep, value = part.partition("=")
            if sep:
                fields.setdefault(key.strip().lower(), value.strip())
        root, parent = fields.get("root", ""), fields.get("parent", "")
        return cls(
            root=root.lower() if _TRACE_ID.fullmatch(root) else None,
            parent=parent.lower() if _ENTITY_ID.fullmatch(parent) else None,
            sampled={"1": True, "0": False}.get(fields.get("sampled", "")),
        )

    def format(self) -> str:
        parts = [f"Root={self.root}"] if self.root else []
        if self.parent:
            parts.append(f"Parent={self.parent}")
        if self.sampled is not None:
            parts.append(f"Sampled={int(self.sampled)}")
        return ";".join(parts)


# -- one request ------------------------------------------------------------------------------
@dataclass
class Downstream:
    """One integration call: its trace header, and — in a sampled request — a subsegment."""

    name: str
    namespace: str  # "aws" or "remote"
    header: str  # X-Amzn-Trace-Id for the call
    recorded: bool = False
    id: str = field(default_factory=new_id)
    start: float = field(default_factory=time.time)
    end: float | None = None
    http_request: dict[str, Any] = field(default_factory=dict)
    aws: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    content_length: int | None = None
    fault: bool = False  # the integration failed: no answer, or one API Gateway refused

    def answered(self, status: int, content_length: int | None = None) -> None:
        self.status, self.content_length = status, content_length

    def failed(self) -> None:
        self.fault = True

    def document(self) -> dict[str, Any]:
        end = self.end if self.end is not None else time.time()
        body: dict[str, Any] = {
            "id": self.id,
            "name": entity_name(self.name, "integration"),
            "start_time": self.start,
            "end_time": max(end, self.start),
            "namespace": self.namespace,
        }
        http: dict[str, Any] = {}
        if self.http_request:
            http["request"] = self.http_request
        if self.status is not None:
            response: dict[str, Any] = {"status": self.status}
            if self.content_length is not None:
                response["content_length"] = self.content_length
            http["response"] = response
        if http:
            body["http"] = http
        if self.aws:
            body["aws"] = self.aws
        body.update(_flags(self.status, self.fault))
        return body


class RequestTrace:
    """A request's place in its trace, decided on arrival: its segment id, and whether it is
    sampled; the integration calls it made."""

    def __init__(self, root: str, caller: str | None, sampled: bool, start: float):
        self.root = root
        self.caller = caller  # the caller's entity: the segment's parent
        self.sampled = sampled
        self.start = start
        self.segment_id = new_id()
        self.calls: list[Downstream] = []

    @classmethod
    def begin(cls, incoming: str | None, now: float) -> RequestTrace:
        """The caller's decision stands; a request that comes without one is sampled."""
        caller = TraceHeader.parse(incoming)
        sampled = caller.sampled if caller.sampled is not None else True
        return cls(caller.root or new_trace_id(now), caller.parent, sampled, now)

    @property
    def header(self) -> str:
        """X-Amzn-Trace-Id for the integration and the answer: a sampled request names its
        segment as the parent; an unsampled one passes the caller's decision on."""
        parent = self.segment_id if self.sampled else self.caller
        return TraceHeader(self.root, parent, self.sampled).format()

    @contextlib.contextmanager
    def call(
        self,
        name: str,
        namespace: str,
        http_request: dict[str, Any] | None = None,
        aws: dict[str, Any] | None = None,
    ) -> Iterator[Downstream]:
        """An integration call; an exception out of it is its fault (and passes on)."""
        made = Downstream(name, namespace, "", self.sampled, http_request=http_request or {})
        made.aws = aws or {}
        parent = made.id if self.sampled else self.caller
        made.header = TraceHeader(self.root, parent, self.sampled).format()
        try:
            yield made
        except BaseException:
            made.fault = True
            raise
        finally:
            made.end = time.time()
            if self.sampled:
                self.calls.append(made)


@contextlib.contextmanager
def downstream(
    trace: RequestTrace | None,
    header: str,
    name: str,
    namespace: str,
    http_request: dict[str, Any] | None = None,
    aws: dict[str, Any] | None = None,
) -> Iterator[Downstream]:
    """An integration call of a request, traced or not: an untraced one carries ``header``
    (the request's own trace header) and records nothing."""
    if trace is None:
        yield Downstream(name, namespace, header)
        return
    with trace.call(name, namespace, http_request, aws) as made:
        yield made


# -- the segment ------------------------------------------------------------------------------
@dataclass
class StageSegment:
    """What a finished, sampled request's segment is made of (epoch seconds)."""

    trace: RequestTrace
    api_id: str
    api_name: str
    stage: str
    region: str
    request_id: str
    extended_request_id: str
    method: str
    url: str
    client_ip: str
    user_agent: str | None
    forwarded: bool  # client_ip is the X-Forwarded-For's
    status: int
    content_length: int | None
    end: float


def segment_document(record: StageSegment) -> dict[str, Any]:
    """The stage's segment with its integration calls embedded."""
    trace = record.trace
    request: dict[str, Any] = {
        "method": record.method,
        "url": record.url[:MAX_TEXT],
        "client_ip": record.client_ip,
    }
    if record.user_agent:
        request["user_agent"] = record.user_agent[:MAX_TEXT]
    if record.forwarded:
        request["x_forwarded_for"] = True
    response: dict[str, Any] = {"status": record.status}
    if record.content_length is not None:
        response["content_length"] = record.content_length
    document: dict[str, Any] = {
        "name": segment_name(record.api_name or record.api_id, record.stage),
        "id": trace.segment_id,
        "trace_id": trace.root,
        "start_time": trace.start,
        "end_time": max(record.end, trace.start),
        "origin": ORIGIN,
        "resource_arn": (
            f"arn:aws:apigateway:{record.region}::/restapis/{record.api_id}/stages/{record.stage}"
        ),
        "http": {"request": request, "response": response},
        "aws": {
            "xray": {"sampling_rule_name": SAMPLING_RULE},
            "api_gateway": {
                "account_id": ACCOUNT_ID,
                "rest_api_id": record.api_id,
                "stage": record.stage,
                "request_id": record.request_id,
            },
        },
        "annotations": {"aws:api_id": record.api_id, "aws:api_stage": record.stage},
        "metadata": {
            "default": {
                "extended_request_id": record.extended_request_id,
                "request_id": record.request_id,
            }
        },
    }
    if trace.caller:
        document["parent_id"] = trace.caller
    document.update(_flags(record.status, False))
    if trace.calls:
        document["subsegments"] = [call.document() for call in trace.calls]
    return document


def _flags(status: int | None, fault: bool) -> dict[str, bool]:
    """X-Ray's flags for an answer: 5xx (or a failure) a fault, 429 a throttle, 4xx an error."""
    if fault or (status is not None and status >= 500):
        return {"fault": True}
    if status == 429:
        return {"error": True, "throttle": True}
    if status is not None and 400 <= status < 500:
        return {"error": True}
    return {}


# -- sending ----------------------------------------------------------------------------------
class SegmentSender(segments.SegmentSender[StageSegment]):
    """Puts finished requests' segments to X-Ray (``core/segments.py``): one each."""

    thread_name = "apigateway-xray"
    log = log

    def documents(self, record: StageSegment) -> list[dict[str, Any]]:
        return [segment_document(record)]
