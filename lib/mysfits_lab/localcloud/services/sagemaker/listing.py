"""ListModels, ListEndpointConfigs, ListEndpoints and ListTrainingJobs as the SageMaker API
reference documents them: filters, order, pages.

moto honours these parameters unevenly: ListModels ignores all of them (``NameContains``
included, so a clean-up that trusted it deleted another learner's models), ListTrainingJobs cuts
its page before it filters, and neither sorts as documented (newest first by default, except
training jobs). The edge has checked the parameters against the API model; the provider hands
this module moto's complete, unfiltered list with the real statuses written over it. No I/O.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.utils import parse_timestamp

from ...edge import ServiceError

# What AWS returns without MaxResults (documented for ListEndpoints; the others behave alike).
DEFAULT_MAX_RESULTS = 10


@dataclass(frozen=True)
class Listing:
    operation: str
    key: str  # the answer's list
    name: str  # an entry's name
    status: str | None  # an entry's status, for StatusEquals and SortBy=Status
    default_order: str
    after_inclusive: bool  # CreationTimeAfter keeps an entry created at that very time


LISTINGS = {
    listing.operation: listing
    for listing in (
        Listing("ListModels", "Models", "ModelName", None, "Descending", True),
        Listing(
            "ListEndpointConfigs", "EndpointConfigs", "EndpointConfigName", None, "Descending", True
        ),
        Listing("ListEndpoints", "Endpoints", "EndpointName", "EndpointStatus", "Descending", True),
        # "training jobs created after the specified time", ascending by default
        Listing(
            "ListTrainingJobs",
            "TrainingJobSummaries",
            "TrainingJobName",
            "TrainingJobStatus",
            "Ascending",
            False,
        ),
    )
}


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return parse_timestamp(value).timestamp()


def _selected(listing: Listing, entry: dict[str, Any], params: dict[str, Any]) -> bool:
    created = _seconds(entry["CreationTime"])
    modified = _seconds(entry.get("LastModifiedTime", entry["CreationTime"]))
    checks = {
        "NameContains": lambda v: v in entry[listing.name],
        "StatusEquals": lambda v: listing.status is not None and entry[listing.status] == v,
        "CreationTimeBefore": lambda v: created < _seconds(v),
        "CreationTimeAfter": lambda v: (
            created >= _seconds(v) if listing.after_inclusive else created > _seconds(v)
        ),
        "LastModifiedTimeBefore": lambda v: modified < _seconds(v),
        "LastModifiedTimeAfter": lambda v: modified > _seconds(v),
        # The local cloud keeps no warm pools and has no training plans.
        "WarmPoolStatusEquals": lambda v: entry.get("WarmPoolStatus", {}).get("Status") == v,
        "TrainingPlanArnEquals": lambda v: entry.get("TrainingPlanArn") == v,
    }
    return all(check(params[name]) for name, check in checks.items() if name in params)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise ServiceError("ValidationException", "Invalid pagination token.")


def answer(operation: str, entries: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """The page of ``entries`` (every one there is) that ``params`` asks for."""
    listing = LISTINGS[operation]
    selected = [entry for entry in entries if _selected(listing, entry, params)]
    sort_by = params.get("SortBy", "CreationTime")
    field = {"Name": listing.name, "Status": listing.status}.get(sort_by)
    selected.sort(
        key=lambda e: e[field] if field else _seconds(e["CreationTime"]),
        reverse=params.get("SortOrder", listing.default_order) == "Descending",
    )
    start = _offset(params.get("NextToken"))
    end = start + (params.get("MaxResults") or DEFAULT_MAX_RESULTS)
    out: dict[str, Any] = {listing.key: selected[start:end]}
    if end < len(selected):
        out["NextToken"] = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode()
    return out
