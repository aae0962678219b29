"""Hand-made traces shaped like module 6's: API Gateway's stage segment calls the Lambda
service, whose segment calls the function's; the function (the SDK with ``patch_all()``) calls
DynamoDB, and in the failing deployment raises from a ``hangingException`` subsegment."""

from __future__ import annotations

import json
from typing import Any

from mysfits_lab.localcloud.services.xray.documents import Document, parse_document
from mysfits_lab.localcloud.services.xray.traces import Trace

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
API = "MysfitsQuestionsApi/prod"
FUNCTION = "MythicalMysfitsPostQuestionFunction"


def trace_id(n: int) -> str:
    return f"1-{int(T0) + n:08x}-{n:024x}"


def entity_id(trace: int, n: int) -> str:
    return f"{trace:08x}{n:08x}"


def post_question(
    n: int, fault: bool = False, sns_fault: bool = False, start: float | None = None
) -> list[dict]:
    """The documents of one POST /questions: three segments, plus the ``hangingException``
    subsegment streamed on its own (as the SDK does in a function) when ``fault``; without it
    the function calls DynamoDB and SNS (which fails with a 500 when ``sns_fault``)."""
    t = T0 + n * 10 if start is None else start
    tid = trace_id(n)
    names = ("api", "call", "lambda", "fn", "ddb", "hang", "sns")
    ids = {k: entity_id(n, i) for i, k in enumerate(names)}
    status = 502 if fault else 200
    api = {
        "name": API,
        "id": ids["api"],
        "trace_id": tid,
        "origin": "AWS::ApiGateway::Stage",
        "start_time": t,
        "end_time": t + (5.2 if fault else 0.3),
        "http": {
            "request": {"method": "POST", "url": "https://api.local/prod/questions"},
            "response": {"status": status},
        },
        "fault": fault or None,
        "annotations": {"stage": "prod"},
        "subsegments": [
            {
                "name": "Lambda",
                "id": ids["call"],
                "namespace": "aws",
                "start_time": t + 0.01,
                "end_time": t + (5.15 if fault else 0.28),
                "fault": fault or None,
            }
        ],
    }
    service = {
        "name": FUNCTION,
        "id": ids["lambda"],
        "trace_id": tid,
        "parent_id": ids["call"],
        "origin": "AWS::Lambda",
        "start_time": t + 0.02,
        "end_time": t + (5.1 if fault else 0.27),
        "fault": fault or None,
    }
    function = {
        "name": FUNCTION,
        "id": ids["fn"],
        "trace_id": tid,
        "parent_id": ids["lambda"],
        "origin": "AWS::Lambda::Function",
        "start_time": t + 0.03,
        "end_time": t + (5.09 if fault else 0.26),
        "fault": fault or None,
        "subsegments": []
        if fault
        else [
            {
                "name": "dynamodb",
                "id": ids["ddb"],
                "namespace": "aws",
                "start_time": t + 0.05,
                "end_time": t + 0.2,
                "aws": {"operation": "PutItem", "table_name": "MysfitsQuestionsTable"},
                "http": {"response": {"status": 200}},
            },
            {
                "name": "sns",
                "id": ids["sns"],
                "namespace": "aws",
                "start_time": t + 0.2,
                "end_time": t + 0.25,
                "aws": {"operation": "Publish"},
                "http": {"response": {"status": 500 if sns_fault else 200}},
                "fault": sns_fault or None,
            },
        ],
    }
    documents = [api, service, function]
    if fault:
        documents.append(
            {
                "type": "subsegment",
                "name": "hangingException",
                "id": ids["hang"],
                "trace_id": tid,
                "parent_id": ids["fn"],
                "namespace": "local",
                "start_time": t + 0.04,
                "end_time": t + 5.05,
                "fault": True,
                "cause": {
                    "working_directory": "/var/task",
                    "exceptions": [
                        {"id": "0123456789abcdef", "type": "Exception", "message": "FATAL: no"}
                    ],
                },
            }
        )
    return [_without_none(d) for d in documents]


def process_stream(n: int, throttle: bool = False) -> list[dict]:
    """The stream function's own trace: it publishes to SNS (throttled, if asked)."""
    t = T0 + n * 10 + 1
    tid = trace_id(1000 + n)
    function = {
        "name": "MysfitsProcessQuestionStreamFunction",
        "id": entity_id(1000 + n, 0),
        "trace_id": tid,
        "origin": "AWS::Lambda::Function",
        "start_time": t,
        "end_time": t + 0.4,
        "subsegments": [
            {
                "name": "sns",
                "id": entity_id(1000 + n, 1),
                "namespace": "aws",
                "start_time": t + 0.1,
                "end_time": t + 0.3,
                "throttle": throttle or None,
                "error": throttle or None,
                "http": {"response": {"status": 429 if throttle else 200}},
            }
        ],
    }
    return [_without_none(function)]


def documents(bodies: list[dict]) -> list[Document]:
    return [parse_document(json.dumps(b)) for b in bodies]


def trace(bodies: list[dict]) -> Trace:
    docs = documents(bodies)
    return Trace(docs[0].trace_id, docs)


def _without_none(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _without_none(v) for k, v in body.items() if v is not None}
    if isinstance(body, list):
        return [_without_none(v) for v in body]
    return body
