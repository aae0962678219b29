"""``POST /questions`` (API Gateway ``AWS_PROXY``): a visitor's question, checked and stored.

The body must be JSON ``{"email": "<address>", "questionText": "<1-2,000 characters>"}``;
anything else is answered 400 with a message naming what is wrong (the original raised a
KeyError, which API Gateway turned into a bare 502). The question is written to the questions
table; the table's stream takes it on to the staff.

X-Ray: ``patch_all()`` records the DynamoDB call as a subsegment of the function's trace.
Setting ``FAULT_INJECTION=on`` in the function's environment brings back the original's
third deployment: five requests in six hang for 5 s in ``hanging_exception`` and fail, so
the learner can find the fault in the traces. It is off unless set.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from typing import Any

import boto3
from aws_xray_sdk.core import patch_all, xray_recorder

patch_all()

TABLE = os.environ.get("QUESTIONS_TABLE", "")
ALLOWED_ORIGIN = os.environ.get("ALLOWED_ORIGIN", "*")
MAX_QUESTION = 2000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_table = boto3.resource("dynamodb").Table(TABLE) if TABLE else None


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": ALLOWED_ORIGIN,
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Allow-Methods": "OPTIONS,POST",
        },
        "body": json.dumps(body),
    }


def problem(event: dict[str, Any]) -> str | None:
    """What is wrong with the request, or None."""
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return 'The body must be JSON: {"email": ..., "questionText": ...}.'
    if not isinstance(body, dict):
        return "The body must be a JSON object with email and questionText."
    email, text = body.get("email"), body.get("questionText")
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        return "email must be an email address, like name@example.com."
    if not isinstance(text, str) or not text.strip():
        return "questionText must not be empty."
    if len(text) > MAX_QUESTION:
        return f"questionText must be at most {MAX_QUESTION} characters (got {len(text)})."
    return None


@xray_recorder.capture("hanging_exception")
def hanging_exception(message: str) -> None:
    time.sleep(5)
    raise Exception(message)


def post_question(event: dict[str, Any], context: Any) -> dict[str, Any]:
    wrong = problem(event)
    if wrong is not None:
        return answer(400, {"message": wrong})
    body = json.loads(event["body"])
    email, text = body["email"].strip(), body["questionText"]
    if os.environ.get("FAULT_INJECTION") == "on" and random.randint(0, 5):
        hanging_exception(f"FATAL: the question of {email} was not stored.")
    question_id = str(uuid.uuid4())
    _table.put_item(
        Item={"QuestionId": question_id, "QuestionText": text, "UserEmailAddress": email}
    )
    return answer(200, {"status": "success", "questionId": question_id})
