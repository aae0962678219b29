"""Segment documents as X-Ray accepts them — through PutTraceSegments or the daemon's UDP port —
checked the way X-Ray checks them, and the daemon's datagram framing.

A document is a segment (``name``, ``id``, ``trace_id``, ``start_time``, ``end_time`` or
``in_progress``, optional ``parent_id``, embedded ``subsegments``) or a subsegment sent on its
own (``"type": "subsegment"`` plus ``trace_id`` and ``parent_id``), as the SDK streams them out of
a Lambda function. A refused document is answered as X-Ray answers it: an
``UnprocessedTraceSegment`` with the document's id, an error code and ``Invalid segment.
ErrorCode: <code>`` as its message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# X-Ray's limit on one document; also the daemon's receive buffer (Socket.BufferSizeKB: 64).
MAX_DOCUMENT = 64 * 1024
# Subsegments inside subsegments: more than any SDK nests, few enough for a recursive walk.
MAX_NESTING = 64

TRACE_ID = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
ENTITY_ID = re.compile(r"[0-9a-fA-F]{16}")
# Unicode letters and digits, whitespace and _ . : / % & # = + \ - @ ; at most 200 characters.
NAME = re.compile(r"[\w\s.:/%&#=+\\\-@]{1,200}")

# What the daemon's header line must say (case-insensitive format, as the daemon reads it).
HEADER_FORMAT = "json"
HEADER_VERSION = 1


class InvalidSegment(ValueError):
    """A document X-Ray does not accept: ``code`` is X-Ray's ``ErrorCode``."""

    def __init__(self, code: str, segment_id: str | None = None, subsegment: bool = False):
        kind = "subsegment" if subsegment else "segment"
        super().__init__(f"Invalid {kind}. ErrorCode: {code}")
        self.code = code
        self.segment_id = segment_id

    def to_api(self) -> dict[str, str]:
        answer = {"ErrorCode": self.code, "Message": str(self)}
        if self.segment_id:
            answer["Id"] = self.segment_id
        return answer


class BadDatagram(ValueError):
    """A datagram the daemon drops before any document is read (its header is wrong)."""


@dataclass(frozen=True)
class Document:
    """One accepted document: its identity, where it hangs, and its body."""

    trace_id: str
    id: str
    parent_id: str | None
    is_subsegment: bool  # sent on its own, to be hung under ``parent_id``
    body: dict[str, Any]
    size: int  # characters of its JSON text, for the store's memory bound


def parse_datagram(data: bytes) -> str:
    """The document in one daemon datagram: a JSON header line ``{"format": "json",
    "version": 1}``, a newline, then the document. ``BadDatagram`` when the daemon would drop
    it without reading the document."""
    if len(data) > MAX_DOCUMENT:
        raise BadDatagram(f"datagram of {len(data)} bytes is larger than {MAX_DOCUMENT}")
    header, separator, payload = data.partition(b"\n")
    if not separator or not payload.strip():
        raise BadDatagram("missing header or segment")
    try:
        fields = json.loads(header)
    except (ValueError, RecursionError):
        raise BadDatagram("the header is not JSON") from None
    if (
        not isinstance(fields, dict)
        or not isinstance(fields.get("format"), str)
        or fields["format"].lower() != HEADER_FORMAT
        or fields.get("version") != HEADER_VERSION
        or isinstance(fields.get("version"), bool)
    ):
        raise BadDatagram(f"invalid header {header[:80]!r}")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadDatagram("the segment is not UTF-8") from None


def parse_document(text: str) -> Document:
    """A document's JSON text, checked; ``InvalidSegment`` with X-Ray's error code if refused."""
    if len(text) > MAX_DOCUMENT:
        raise InvalidSegment("SegmentTooLarge", _sniff_id(text))
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidSegment("InvalidJson", _sniff_id(text)) from None
    if not isinstance(body, dict):
        raise InvalidSegment("MissingId")  # what X-Ray answers for ``[]``
    is_subsegment = body.get("type") == "subsegment"
    segment_id = _check_entity(body, top=True, subsegment=is_subsegment)
    parent_id = body.get("parent_id")
    if is_subsegment and parent_id is None:
        raise InvalidSegment("MissingParentId", segment_id, subsegment=True)
    _check_children(body, segment_id)
    return Document(
        trace_id=body["trace_id"].lower(),
        id=segment_id.lower(),
        parent_id=parent_id.lower() if isinstance(parent_id, str) else None,
        is_subsegment=is_subsegment,
        body=body,
        size=len(text),
    )


def _check_entity(entity: dict[str, Any], top: bool, subsegment: bool) -> str:
    """The entity's id once its own fields are valid (not its children's)."""
    entity_id = entity.get("id")
    if entity_id is None:
        raise InvalidSegment("MissingId", subsegment=subsegment)
    if not isinstance(entity_id, str) or not ENTITY_ID.fullmatch(entity_id):
        raise InvalidSegment("InvalidId", subsegment=subsegment)

    def refuse(code: str) -> InvalidSegment:
        return InvalidSegment(code, entity_id, subsegment)

    if top:
        trace_id = entity.get("trace_id")
        if trace_id is None:
            raise refuse("MissingTraceId")
        if not isinstance(trace_id, str) or not TRACE_ID.fullmatch(trace_id):
            raise refuse("InvalidTraceId")
    name = entity.get("name")
    if name is None:
        raise refuse("MissingName")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise refuse("InvalidName")
    start = entity.get("start_time")
    if start is None:
        raise refuse("MissingStartTime")
    if not _is_time(start):
        raise refuse("InvalidStartTime")
    end = entity.get("end_time")
    if end is None:
        if entity.get("in_progress") is not True:
            raise refuse("MissingEndTime")
    elif not _is_time(end) or end < start:
        raise refuse("InvalidEndTime")
    parent_id = entity.get("parent_id")
    if parent_id is not None and (
        not isinstance(parent_id, str) or not ENTITY_ID.fullmatch(parent_id)
    ):
        raise refuse("InvalidParentId")
    return entity_id


def _check_children(root: dict[str, Any], root_id: str) -> None:
    """Every embedded subsegment, without recursion (a datagram may nest deeply)."""
    stack: list[tuple[dict[str, Any], int]] = [(root, 0)]
    while stack:
        entity, depth = stack.pop()
        children = entity.get("subsegments")
        if children is None:
            continue
        if not isinstance(children, list) or depth >= MAX_NESTING:
            raise InvalidSegment("InvalidSubsegments", root_id, subsegment=True)
        for child in children:
            if not isinstance(child, dict):
                raise InvalidSegment("InvalidSubsegments", root_id, subsegment=True)
            try:
                _check_entity(child, top=False, subsegment=True)
            except InvalidSegment as refused:
                raise InvalidSegment(refused.code, root_id, subsegment=True) from None
            stack.append((child, depth + 1))


def _is_time(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


_ID_IN_TEXT = re.compile(r'"id"\s*:\s*"([0-9a-fA-F]{16})"')


def _sniff_id(text: str) -> str | None:
    """The id of a document that cannot be read whole, if one shows near its start."""
    found = _ID_IN_TEXT.search(text[:4096])
    return found.group(1) if found else None
