"""Firehose transformation for the click stream: each click gets the mysfit's species and
alignment, looked up through the mysfits API, and becomes one JSON line in S3.

Input: Firehose's transformation event (``records`` of ``recordId`` and base64 ``data``, each
the JSON a browser sent to ``PUT /clicks``). Output: the same records with ``result`` and the
enriched data. A click that cannot be enriched (not JSON, no ``mysfitId``, an unknown mysfit,
the API not answering) is returned as ``ProcessingFailed``, so Firehose keeps it under its
``processing-failed/`` prefix instead of losing it, and the other clicks of the batch still land.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

API_URL = os.environ.get("MYSFITS_API_URL", "").rstrip("/")
TIMEOUT = 5  # seconds per lookup; the function's own timeout bounds the whole batch
ENRICHED_FIELDS = ("species", "goodevil", "lawchaos")


class ClickError(Exception):
    """A click that cannot be enriched; the message says why."""


def read_click(data: str) -> dict[str, Any]:
    try:
        click = json.loads(base64.b64decode(data, validate=True))
    except (ValueError, TypeError) as exc:
        raise ClickError(f"not a JSON click: {exc}") from None
    if not isinstance(click, dict) or not isinstance(click.get("mysfitId"), str):
        raise ClickError("the click has no mysfitId")
    return click


def lookup(mysfit_id: str) -> dict[str, Any]:
    """The mysfit as the API describes it (GET /mysfits/{id})."""
    if not API_URL:
        raise ClickError("MYSFITS_API_URL is not set")
    url = f"{API_URL}/mysfits/{urllib.parse.quote(mysfit_id, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ClickError(f"GET {url} answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise ClickError(f"GET {url} failed: {exc}") from None


def enrich(click: dict[str, Any], mysfit: dict[str, Any]) -> dict[str, Any]:
    enriched = {"userId": str(click.get("userId") or "guest"), "mysfitId": click["mysfitId"]}
    enriched.update({field: mysfit.get(field) for field in ENRICHED_FIELDS})
    return enriched


def process_record(record: dict[str, Any]) -> dict[str, Any]:
    try:
        click = read_click(record["data"])
        line = json.dumps(enrich(click, lookup(click["mysfitId"]))) + "\n"
    except ClickError as exc:
        print(f"record {record['recordId']}: {exc}")
        # Returned as it came: Firehose keeps it under processing-failed/.
        failed = "ProcessingFailed"
        return {"recordId": record["recordId"], "result": failed, "data": record["data"]}
    data = base64.b64encode(line.encode()).decode()
    return {"recordId": record["recordId"], "result": "Ok", "data": data}


def process_records(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The handler: one output record per input record, in order."""
    records = [process_record(record) for record in event["records"]]
    failed = sum(r["result"] != "Ok" for r in records)
    print(f"enriched {len(records) - failed} clicks, {failed} failed")
    return {"records": records}
