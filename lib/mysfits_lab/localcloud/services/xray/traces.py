"""One trace assembled from its documents: every segment and subsegment as an ``Entity`` hung
under its parent, the service each belongs to, and what each call came to (ok, error,
throttle, fault).

Services are X-Ray's: a segment's service is (its ``name``, its ``origin``); a subsegment in
the ``aws`` or ``remote`` namespace that no traced segment answered is an *inferred* service
(``dynamodb`` → ``DynamoDB``, type ``AWS::DynamoDB::Table``; a remote host → type ``remote``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .documents import Document

# botocore's endpoint prefixes (what the Python SDK names its subsegments) → X-Ray's node.
AWS_SERVICES: dict[str, tuple[str, str]] = {
    "dynamodb": ("DynamoDB", "AWS::DynamoDB::Table"),
    "sns": ("SNS", "AWS::SNS"),
    "sqs": ("SQS", "AWS::SQS::Queue"),
    "s3": ("S3", "AWS::S3::Bucket"),
    "lambda": ("Lambda", "AWS::Lambda"),
    "kinesis": ("Kinesis", "AWS::Kinesis::Stream"),
    "firehose": ("Firehose", "AWS::Kinesis::Firehose"),
    "runtime.sagemaker": ("SageMaker Runtime", "AWS::SageMaker::Endpoint"),
    "sagemaker": ("SageMaker", "AWS::SageMaker"),
    "cognito-idp": ("Cognito", "AWS::Cognito::UserPool"),
    "execute-api": ("API Gateway", "AWS::ApiGateway"),
    "sts": ("STS", "AWS::STS"),
    "logs": ("CloudWatch Logs", "AWS::Logs"),
}
INFERRED_NAMESPACES = ("aws", "remote")
# How deep documents may hang under each other (parent links, embedded or not).
MAX_DEPTH = 256


@dataclass(frozen=True)
class ServiceKey:
    name: str
    type: str | None  # a segment's origin; None for a service that says none

    def to_api(self, account_id: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = {"Name": self.name, "Names": [self.name]}
        if account_id:
            answer["AccountId"] = account_id
        if self.type:
            answer["Type"] = self.type
        return answer


CLIENT = ServiceKey("client", "client")


def inferred_service(body: dict[str, Any]) -> ServiceKey:
    name = str(body.get("name", ""))
    if body.get("namespace") == "remote":
        return ServiceKey(name, "remote")
    known = AWS_SERVICES.get(name.lower())
    if known:
        return ServiceKey(*known)
    return ServiceKey(name, f"AWS::{name}")


@dataclass(eq=False)
class Entity:
    """A segment or subsegment in a trace."""

    body: dict[str, Any]
    is_segment: bool
    parent: Entity | None = None
    segment: Entity | None = None  # the segment it belongs to (itself for a segment)
    children: list[Entity] = field(default_factory=list)
    linked: list[Entity] = field(default_factory=list)  # segments it called (by parent_id)
    service: ServiceKey | None = None  # its own service: segments and inferred calls

    @property
    def name(self) -> str:
        return str(self.body.get("name", ""))

    @property
    def id(self) -> str:
        return str(self.body.get("id", "")).lower()

    @property
    def start(self) -> float:
        return float(self.body.get("start_time", 0.0))

    @property
    def end(self) -> float | None:
        end = self.body.get("end_time")
        return float(end) if end is not None else None

    @property
    def duration(self) -> float | None:
        end = self.end
        return None if end is None else max(0.0, end - self.start)

    @property
    def status(self) -> int | None:
        response = _dict(_dict(self.body.get("http")).get("response"))
        status = response.get("status")
        return status if isinstance(status, int) and not isinstance(status, bool) else None

    @property
    def outcome(self) -> str:
        """``fault``, ``throttle``, ``error`` or ``ok``: the flags first, then the status."""
        status = self.status or 0
        if self.body.get("fault") is True or status >= 500:
            return "fault"
        if self.body.get("throttle") is True or status == 429:
            return "throttle"
        if self.body.get("error") is True or 400 <= status < 500:
            return "error"
        return "ok"

    def exceptions(self) -> list[dict[str, Any]]:
        cause = self.body.get("cause")
        found = _dict(cause).get("exceptions")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


class Trace:
    """A trace's documents put together. Documents may arrive in any order: a subsegment whose
    parent is not (yet) here stays an orphan, and a trace without any segment has no root."""

    def __init__(self, trace_id: str, documents: list[Document]):
        self.id = trace_id
        # In time order, so that what is built does not depend on the order of arrival.
        self.documents = sorted(documents, key=lambda d: (d.body["start_time"], d.id))
        self.entities: dict[str, Entity] = {}
        self.segments: list[Entity] = []
        self.orphans: list[Entity] = []
        tops: list[tuple[Document, Entity]] = []
        for document in self.documents:
            top = self._build(document.body, is_segment=not document.is_subsegment)
            tops.append((document, top))
        for document, top in tops:
            parent = self.entities.get(document.parent_id or "")
            if parent is not None and not _may_hang(top, parent):
                parent = None  # a cycle, or a chain deeper than any real trace
            if document.is_subsegment:
                if parent is None:
                    self.orphans.append(top)
                else:
                    self._attach(parent, top)
            elif parent is not None:
                parent.linked.append(top)
                top.parent = parent
        self.root = self._root()
        self._calls = self._find_calls()

    def _build(self, body: dict[str, Any], is_segment: bool) -> Entity:
        top = Entity(body, is_segment=is_segment)
        top.segment = top if is_segment else None
        if is_segment:
            top.service = ServiceKey(top.name, _origin(body))
            self.segments.append(top)
        self.entities.setdefault(top.id, top)
        stack = [top]
        while stack:
            entity = stack.pop()
            for child_body in entity.body.get("subsegments") or ():
                child = Entity(child_body, is_segment=False, parent=entity, segment=entity.segment)
                entity.children.append(child)
                self.entities.setdefault(child.id, child)
                stack.append(child)
        return top

    @staticmethod
    def _attach(parent: Entity, top: Entity) -> None:
        parent.children.append(top)
        top.parent = parent
        stack = [top]
        while stack:  # a streamed subtree now belongs to its parent's segment
            entity = stack.pop()
            entity.segment = parent.segment
            stack.extend(entity.children)

    def _root(self) -> Entity | None:
        tops = [s for s in self.segments if s.parent is None]
        return min(tops, key=lambda s: s.start) if tops else None

    # -- what it came to --------------------------------------------------------------------
    def all_entities(self) -> list[Entity]:
        """Every entity, each segment's and orphan's tree in order (depth first)."""
        found: list[Entity] = []
        stack = [*self.segments, *self.orphans][::-1]
        while stack:
            entity = stack.pop()
            found.append(entity)
            stack.extend(reversed(entity.children))
        return found

    def calls(self) -> list[tuple[ServiceKey, Entity]]:
        """(caller's service, callee) for every call in the trace: the client → each segment
        nobody traced calling, a segment → the segments it called, a segment → an inferred
        service (a downstream call no traced segment answered)."""
        return self._calls

    def _find_calls(self) -> list[tuple[ServiceKey, Entity]]:
        found: list[tuple[ServiceKey, Entity]] = []
        for segment in self.segments:
            caller = segment.parent.segment if segment.parent else None
            found.append((caller.service if caller and caller.service else CLIENT, segment))
        for entity in self.all_entities():
            if entity.is_segment or entity.linked or entity.segment is None:
                continue
            if _downstream(entity) and not _inside_downstream_call(entity):
                entity.service = inferred_service(entity.body)
                found.append((entity.segment.service or CLIENT, entity))
        return found

    def services(self) -> list[ServiceKey]:
        return list(dict.fromkeys(callee.service for _, callee in self.calls() if callee.service))

    def flags(self) -> set[str]:
        """Which of fault, error, throttle occurred anywhere in the trace."""
        return {e.outcome for e in self.all_entities()} - {"ok"}

    @property
    def start(self) -> float:
        return self.root.start if self.root else min(e.start for e in self.all_entities())

    @property
    def end(self) -> float | None:
        ends = [e.end for e in self.all_entities() if e.end is not None]
        return max(ends) if ends else None

    @property
    def duration(self) -> float | None:
        end = self.end
        return None if end is None else max(0.0, end - self.start)

    @property
    def partial(self) -> bool:
        return any(e.body.get("in_progress") is True for e in self.all_entities())

    def merged_documents(self) -> list[dict[str, str]]:
        """``Segments`` as BatchGetTraces returns them: one per segment, with the subsegments
        that were sent on their own put back in place; orphans as they came."""
        answer = []
        for top in [*self.segments, *self.orphans]:
            answer.append({"Id": top.id, "Document": json.dumps(_merged(top))})
        return answer


def _merged(top: Entity) -> dict[str, Any]:
    """``top``'s body with its children's, copied without recursion."""
    root: dict[str, Any] = {}
    stack = [(top, root)]
    while stack:
        entity, body = stack.pop()
        body.update((k, v) for k, v in entity.body.items() if k != "subsegments")
        if entity.children:
            body["subsegments"] = [{} for _ in entity.children]
            stack.extend(zip(entity.children, body["subsegments"], strict=True))
    return root


def _downstream(entity: Entity) -> bool:
    return not entity.is_segment and entity.body.get("namespace") in INFERRED_NAMESPACES


def _inside_downstream_call(entity: Entity) -> bool:
    """Whether a call is part of an outer one of its segment (the HTTP request under a
    DynamoDB call, when httplib is patched too): the outer call is the service."""
    parent = entity.parent
    while parent is not None and not parent.is_segment:
        if _downstream(parent):
            return True
        parent = parent.parent
    return False


def _may_hang(top: Entity, parent: Entity) -> bool:
    """Whether ``top`` may hang under ``parent``: not inside its own subtree (documents may
    name each other as parents), and not deeper than MAX_DEPTH."""
    hops, entity = 0, parent
    while entity is not None:
        if entity is top or hops >= MAX_DEPTH:
            return False
        entity, hops = entity.parent, hops + 1
    return True


def _origin(body: dict[str, Any]) -> str | None:
    origin = body.get("origin")
    return origin if isinstance(origin, str) and origin else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
