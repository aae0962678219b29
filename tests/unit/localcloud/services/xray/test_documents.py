"""Segment documents checked as X-Ray checks them, and the daemon's datagram framing."""

from __future__ import annotations

import json

import pytest

from mysfits_lab.localcloud.services.xray.documents import (
    MAX_DOCUMENT,
    MAX_NESTING,
    BadDatagram,
    InvalidSegment,
    parse_datagram,
    parse_document,
)

from .samples import T0, trace_id

SEGMENT = {
    "name": "mysfits-service",
    "id": "70de5b6f19ff9a0a",
    "trace_id": trace_id(1),
    "start_time": T0,
    "end_time": T0 + 0.5,
}


def refused(body: object) -> InvalidSegment:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(InvalidSegment) as error:
        parse_document(text)
    return error.value


def test_a_segment_and_a_streamed_subsegment_are_accepted():
    document = parse_document(json.dumps(SEGMENT))
    assert (document.trace_id, document.id) == (trace_id(1), SEGMENT["id"])
    assert document.parent_id is None
    assert not document.is_subsegment
    streamed = parse_document(
        json.dumps(
            {
                "type": "subsegment",
                "name": "hangingException",
                "id": "1111111111111111",
                "trace_id": trace_id(1),
                "parent_id": SEGMENT["id"],
                "start_time": T0,
                "in_progress": True,
            }
        )
    )
    assert streamed.is_subsegment and streamed.parent_id == SEGMENT["id"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"id": None}, "MissingId"),
        ({"id": "xyz"}, "InvalidId"),
        ({"trace_id": None}, "MissingTraceId"),
        ({"trace_id": "1-abc-def"}, "InvalidTraceId"),
        ({"name": None}, "MissingName"),
        ({"name": "mysql at RouteBinding:?"}, "InvalidName"),  # '?' is not allowed
        ({"name": "x" * 201}, "InvalidName"),
        ({"start_time": None}, "MissingStartTime"),
        ({"start_time": "yesterday"}, "InvalidStartTime"),
        ({"start_time": True}, "InvalidStartTime"),
        ({"end_time": None}, "MissingEndTime"),
        ({"end_time": T0 - 1}, "InvalidEndTime"),
        ({"end_time": None, "in_progress": "true"}, "MissingEndTime"),
        ({"parent_id": 7}, "InvalidParentId"),
        ({"subsegments": {"name": "x"}}, "InvalidSubsegments"),
        ({"subsegments": ["x"]}, "InvalidSubsegments"),
    ],
)
def test_invalid_segments_get_x_rays_error_codes(change, code):
    body = {k: v for k, v in (SEGMENT | change).items() if v is not None}
    error = refused(body)
    assert error.code == code
    api = error.to_api()
    assert api["ErrorCode"] == code
    kind = "subsegment" if code == "InvalidSubsegments" else "segment"
    assert api["Message"] == f"Invalid {kind}. ErrorCode: {code}"
    if "id" in body and code != "InvalidId":
        assert api["Id"] == SEGMENT["id"]


def test_what_is_not_a_json_object_is_refused():
    assert refused([]).to_api() == {
        "ErrorCode": "MissingId",
        "Message": "Invalid segment. ErrorCode: MissingId",
    }
    broken = refused('{"id": "70de5b6f19ff9a0a", "name": ')
    assert (broken.code, broken.segment_id) == ("InvalidJson", "70de5b6f19ff9a0a")
    assert refused("[" * 100_000 + "]" * 100_000).code in ("InvalidJson", "SegmentTooLarge")


def test_a_streamed_subsegment_needs_its_parent():
    error = refused(SEGMENT | {"type": "subsegment"})
    assert error.code == "MissingParentId"
    assert str(error) == "Invalid subsegment. ErrorCode: MissingParentId"


def test_an_invalid_nested_subsegment_refuses_the_document_under_its_id():
    child = {"name": "dynamodb", "id": "2222222222222222", "start_time": T0}  # no end
    error = refused(SEGMENT | {"subsegments": [{**child, "end_time": T0, "subsegments": [child]}]})
    assert (error.code, error.segment_id) == ("MissingEndTime", SEGMENT["id"])
    assert str(error) == "Invalid subsegment. ErrorCode: MissingEndTime"


def test_nesting_and_size_are_bounded():
    body: dict = dict(SEGMENT)
    inner = body
    for n in range(MAX_NESTING + 1):
        child = {"name": f"s{n}", "id": f"{n:016x}", "start_time": T0, "end_time": T0}
        inner["subsegments"] = [child]
        inner = child
    assert refused(body).code == "InvalidSubsegments"
    big = json.dumps(SEGMENT | {"metadata": {"default": {"blob": "x" * MAX_DOCUMENT}}})
    assert refused(big).code == "SegmentTooLarge"
    assert refused(big).segment_id == SEGMENT["id"]


# -- the daemon's datagrams ---------------------------------------------------------------------
def test_the_sdks_datagram_is_read():
    document = json.dumps(SEGMENT)
    sdk = b'{"format":"json","version":1}\n' + document.encode()  # the Python SDK's header
    documented = b'{"format": "json", "version": 1}\n' + document.encode()
    upper = b'{"format": "JSON", "version": 1}\n' + document.encode()  # the daemon ignores case
    assert parse_datagram(sdk) == parse_datagram(documented) == parse_datagram(upper) == document


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b'{"format":"json","version":1}',  # no newline, no document
        b'{"format":"json","version":1}\n',
        b'{"format":"json","version":1}\n   ',
        json.dumps(SEGMENT).encode(),  # a document without the header
        b'{"format":"xml","version":1}\n{}',
        b'{"format":"json","version":2}\n{}',
        b'{"format":"json","version":true}\n{}',
        b'{"format":"json","version":"1"}\n{}',
        b'["json", 1]\n{}',
        b"not json\n{}",
        b'{"format":"json","version":1}\n\xff\xfe',
        b'{"format":"json","version":1}\n' + b" " * MAX_DOCUMENT,
    ],
)
def test_malformed_datagrams_are_dropped(datagram):
    with pytest.raises(BadDatagram):
        parse_datagram(datagram)


def test_a_framed_but_invalid_document_is_left_to_the_checks():
    text = parse_datagram(b'{"format":"json","version":1}\n{"name": "x"}')
    assert refused(text).code == "MissingId"
