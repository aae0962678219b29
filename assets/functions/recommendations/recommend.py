"""``POST /recommendations`` (API Gateway ``AWS_PROXY``): five answers in, a mysfit out.

The body must be ``{"entry": [five whole numbers from 1 to 8]}``, the visitor's answers to the
questionnaire; anything else is answered 400 naming the rule it broke. The answers go to the
k-NN endpoint of module 7 as one CSV row; the endpoint answers a label, and the label is the
mysfit's position in ``labels.json`` — the catalogue in the order the model was trained with,
packaged next to this file when the function is deployed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ENDPOINT = os.environ.get("ENDPOINT_NAME", "")
ALLOWED_ORIGIN = os.environ.get("ALLOWED_ORIGIN", "*")
ANSWERS = 5
LOWEST, HIGHEST = 1, 8
LABELS: list[dict[str, str]] = json.loads(
    (Path(__file__).with_name("labels.json")).read_text(encoding="utf-8")
)
_runtime = boto3.client("sagemaker-runtime")


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


def read_entry(body: str | None) -> list[int]:
    """The five answers, or ValueError naming the rule the body breaks."""
    try:
        parsed = json.loads(body or "")
    except ValueError:
        raise ValueError('The body must be JSON: {"entry": [five numbers from 1 to 8]}.') from None
    entry = parsed.get("entry") if isinstance(parsed, dict) else None
    if not isinstance(entry, list) or len(entry) != ANSWERS:
        raise ValueError(f"entry must be a list of {ANSWERS} answers.")
    # bool is an int in Python; true is not an answer
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in entry):
        raise ValueError("each answer must be a whole number.")
    if not all(LOWEST <= a <= HIGHEST for a in entry):
        raise ValueError(f"each answer must be from {LOWEST} to {HIGHEST}.")
    return entry


def predicted_label(entry: list[int]) -> int:
    response = _runtime.invoke_endpoint(
        EndpointName=ENDPOINT,
        ContentType="text/csv",
        Accept="application/json",
        Body=",".join(str(a) for a in entry),
    )
    prediction = json.loads(response["Body"].read())["predictions"][0]
    return int(prediction["predicted_label"])


def recommend(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        entry = read_entry(event.get("body"))
    except ValueError as exc:
        return answer(400, {"message": str(exc)})
    try:
        label = predicted_label(entry)
    except (ClientError, BotoCoreError) as exc:  # no endpoint, or not in service yet
        print(f"the endpoint {ENDPOINT} did not answer: {exc}")
        return answer(503, {"message": "The recommender is not available; try again later."})
    if not 0 <= label < len(LABELS):
        return answer(502, {"message": f"the model answered an unknown label {label}"})
    mysfit = LABELS[label]
    return answer(200, {"recommendedMysfit": mysfit["mysfitId"], "name": mysfit["name"]})
