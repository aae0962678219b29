"""Module 3: the mysfits in DynamoDB — ``MysfitsTable`` with two GSIs, loaded in batches.

Same calls on both targets. The table is the original's ``dynamodb-table.json`` with the
learner's prefix, the lab's tags and on-demand billing; the items are its
``populate-dynamodb.json``. The service switches to the table through its source: the two
lines of ``app/settings.json`` that ``service_settings`` gives, pushed through the pipeline of
module 02b; ``build`` (what ``Lab.prepare`` of a later module runs) pushes them only while the
service does not read the table yet.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from botocore.exceptions import ClientError

from .. import service_bundle, show
from ..lab import Lab, LabError
from ..paths import data_dir
from ..waiting import wait_until
from . import pipeline, website
from .aws_errors import error_code, tolerate

MODULE = "03-data"
TABLE = "MysfitsTable"  # the original's name; each learner's table is prefixed
BATCH_SIZE = 25  # BatchWriteItem takes at most 25 requests
MAX_ATTEMPTS = 8  # BatchWriteItem calls per batch before giving up on UnprocessedItems
FIRST_DELAY = 0.1  # seconds before the first retry; doubled each time...
MAX_DELAY = 5.0  # ...up to this: 0.1 + 0.2 + ... + 5 ≈ 13 s in all
# Filter (the attribute an index is keyed on) -> its values, in the site's order.
FILTERS: dict[str, tuple[str, ...]] = {
    "GoodEvil": ("Good", "Neutral", "Evil"),
    "LawChaos": ("Lawful", "Neutral", "Chaotic"),
}
SERVICE_SETTINGS = "app/settings.json"  # where the service's source names its backend
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
_SETTLING = ("CREATING", "UPDATING")


def table_name(lab: Lab) -> str:
    """``<learner>-MysfitsTable``: the core stack's task role may use ``*MysfitsTable*``."""
    return lab.name(TABLE)


def _read(name: str) -> Any:
    return json.loads((data_dir() / name).read_text(encoding="utf-8"))


def table_definition(lab: Lab) -> dict[str, Any]:
    """``CreateTable`` input: ``dynamodb-table.json`` renamed, tagged and billed on demand.

    On demand instead of the original's 5 read/5 write units on the table and on each index:
    an idle workshop table then costs nothing, and a first load is not throttled by 5 write
    units (every item is written to both indexes too).
    """
    definition = _read("dynamodb-table.json")
    definition.pop("ProvisionedThroughput", None)
    for index in definition["GlobalSecondaryIndexes"]:
        index.pop("ProvisionedThroughput", None)
    return definition | {
        "TableName": table_name(lab),
        "BillingMode": "PAY_PER_REQUEST",
        "Tags": lab.tag_list(),
    }


def mysfit_items() -> list[dict[str, Any]]:
    """The 12 mysfits as DynamoDB items (attribute-value form), in the original's order."""
    writes = _read("populate-dynamodb.json")[TABLE]
    return [write["PutRequest"]["Item"] for write in writes]


def expected_counts() -> dict[str, dict[str, int]]:
    """How many mysfits each filter value should find: Good 4, ..., Chaotic 4."""
    items = mysfit_items()
    return {
        name: {value: sum(item[name]["S"] == value for item in items) for value in values}
        for name, values in FILTERS.items()
    }


# -- the table ------------------------------------------------------------------------------
def describe_table(lab: Lab, name: str | None = None) -> dict[str, Any] | None:
    """The table's description, or None when it does not exist."""
    try:
        return lab.client("dynamodb").describe_table(TableName=name or table_name(lab))["Table"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def create_table(lab: Lab) -> dict[str, Any]:
    """Get or create the learner's table and wait until it and its indexes are ACTIVE."""
    name = table_name(lab)
    table = describe_table(lab)
    if table is not None and table["TableStatus"] == "DELETING":
        _wait_until_gone(lab, name)  # a rerun right after a teardown
        table = None
    if table is None:
        with tolerate("ResourceInUseException"):  # created meanwhile by a parallel run
            lab.client("dynamodb").create_table(**table_definition(lab))
    else:
        _check_schema(table)
    return table_summary(wait_until_active(lab))


def _check_schema(table: dict[str, Any]) -> None:
    # A table of the same name made by hand must not pass for this one: the service would
    # answer 503 for every filter.
    wanted = {i["IndexName"] for i in _read("dynamodb-table.json")["GlobalSecondaryIndexes"]}
    found = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
    key = [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]
    if key != [("MysfitId", "HASH")] or not wanted <= found:
        raise LabError(
            f"Table {table['TableName']} exists with another schema (key {key}, indexes "
            f"{sorted(found)}); delete it with data.teardown(lab) and run this step again."
        )


def wait_until_active(lab: Lab) -> dict[str, Any]:
    name = table_name(lab)

    def active() -> dict[str, Any] | None:
        table = describe_table(lab, name)
        if table is None:
            raise LookupError(name)  # not listed yet: keep waiting
        statuses = [table["TableStatus"]] + [
            index["IndexStatus"] for index in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(status == "ACTIVE" for status in statuses):
            return table
        if not all(status in ("ACTIVE", *_SETTLING) for status in statuses):
            raise LabError(f"table {name} is {', '.join(statuses)}: it will not become ACTIVE")
        return None

    return wait_until(
        active,
        f"table {name} and its indexes to be ACTIVE",
        timeout=lab.wait_budget(300),
        interval=lab.poll_interval,
    )


def _wait_until_gone(lab: Lab, name: str) -> None:
    wait_until(
        lambda: describe_table(lab, name) is None,
        f"table {name} to be deleted",
        timeout=lab.wait_budget(300),
        interval=lab.poll_interval,
    )


def table_summary(table: dict[str, Any]) -> dict[str, Any]:
    """What a learner reads about the table: one row."""

    def keys(schema: list[dict[str, str]]) -> str:
        return " + ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in schema)

    return {
        "table": table["TableName"],
        "status": table["TableStatus"],
        "billing": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        "key": keys(table["KeySchema"]),
        "indexes": "; ".join(
            f"{index['IndexName']}: {keys(index['KeySchema'])}"
            for index in sorted(
                table.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"]
            )
        ),
    }


def key_rows(lab: Lab) -> list[dict[str, str]]:
    """The table's key and each index's keys, one row each: how the service can ask for items."""
    table = describe_table(lab)
    if table is None:
        raise LabError(f"table {table_name(lab)} does not exist: run step 1 first")

    def key(schema: list[dict[str, str]], kind: str) -> str:
        return next((k["AttributeName"] for k in schema if k["KeyType"] == kind), "-")

    rows = [
        {
            "index": "(the table)",
            "partition key": key(table["KeySchema"], "HASH"),
            "sort key": key(table["KeySchema"], "RANGE"),
            "projection": "-",
            "answers": "GET /mysfits/<id>, GET /mysfits (Scan)",
        }
    ]
    for index in sorted(table.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"]):
        partition = key(index["KeySchema"], "HASH")
        rows.append(
            {
                "index": index["IndexName"],
                "partition key": partition,
                "sort key": key(index["KeySchema"], "RANGE"),
                "projection": index["Projection"]["ProjectionType"],
                "answers": f"GET /mysfits?filter={partition}&value=... (Query)",
            }
        )
    return rows


# -- the items ------------------------------------------------------------------------------
@dataclass
class LoadReport:
    items: int  # items written
    calls: int  # BatchWriteItem calls, retries included
    retried: int  # items DynamoDB returned as UnprocessedItems and that were sent again

    def summary(self) -> str:
        retries = f", {self.retried} sent again after UnprocessedItems" if self.retried else ""
        return f"Wrote {self.items} mysfits in {self.calls} BatchWriteItem call(s){retries}."


def load_mysfits(
    lab: Lab, *, max_attempts: int = MAX_ATTEMPTS, sleep: Callable[[float], None] = time.sleep
) -> LoadReport:
    """Write the 12 mysfits with BatchWriteItem, 25 at a time.

    DynamoDB may accept part of a batch and return the rest as ``UnprocessedItems`` (it does
    when writes are throttled): those are sent again after an exponentially growing pause, at
    most ``max_attempts`` calls per batch. A put replaces the item with the same key, so a
    rerun writes the same 12 items again (likes and adoptions back to 0/false), never more.
    """
    client, name = lab.client("dynamodb"), table_name(lab)
    puts = [{"PutRequest": {"Item": item}} for item in mysfit_items()]
    report = LoadReport(items=len(puts), calls=0, retried=0)
    for start in range(0, len(puts), BATCH_SIZE):
        pending: dict[str, Any] = {name: puts[start : start + BATCH_SIZE]}
        for attempt in range(1, max_attempts + 1):
            report.calls += 1
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            left = sum(len(writes) for writes in pending.values())
            if attempt == max_attempts:
                raise LabError(
                    f"DynamoDB left {left} mysfit(s) unwritten after {max_attempts} "
                    f"BatchWriteItem calls (the table is throttling writes). Run this step "
                    "again: writing the same items twice is safe."
                )
            report.retried += left
            sleep(min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1)))
    return report


def count_items(lab: Lab) -> int:
    """Items in the table, counted by a Scan: DescribeTable's ItemCount is refreshed only
    about every six hours on AWS."""
    pages = (
        lab.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=table_name(lab), Select="COUNT")
    )
    return sum(page["Count"] for page in pages)


def index_counts(lab: Lab) -> dict[str, dict[str, int]]:
    """How many mysfits each filter value finds, by a Query on ``<filter>Index``."""
    paginator = lab.client("dynamodb").get_paginator("query")
    counts: dict[str, dict[str, int]] = {}
    for name, values in FILTERS.items():
        counts[name] = {}
        for value in values:
            pages = paginator.paginate(
                TableName=table_name(lab),
                IndexName=f"{name}Index",
                KeyConditionExpression="#f = :v",
                ExpressionAttributeNames={"#f": name},
                ExpressionAttributeValues={":v": {"S": value}},
                Select="COUNT",
            )
            counts[name][value] = sum(page["Count"] for page in pages)
    return counts


def count_rows(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """``index_counts`` as a table: one row per index, its values' counts in the site's order."""
    return [
        {
            "index": f"{name}Index",
            "mysfits per value": ", ".join(f"{v} {n}" for v, n in values.items()),
        }
        for name, values in counts.items()
    ]


# -- the service's source change ---------------------------------------------------------------
def shipped_settings() -> str:
    """``app/settings.json`` as the service ships it (the catalogue backend)."""
    return (service_bundle.service_source() / SERVICE_SETTINGS).read_text(encoding="utf-8")


def service_settings(lab: Lab) -> str:
    """``app/settings.json`` after module 3's change: the DynamoDB backend, this table."""
    return json.dumps({"backend": "dynamodb", "table": table_name(lab)}, indent=2) + "\n"


def settings_diff(lab: Lab) -> str:
    """The source change as a unified diff, as ``git diff`` would show it."""
    return "".join(
        difflib.unified_diff(
            shipped_settings().splitlines(keepends=True),
            service_settings(lab).splitlines(keepends=True),
            f"a/{SERVICE_SETTINGS}",
            f"b/{SERVICE_SETTINGS}",
        )
    )


def service_reads_table(lab: Lab, timeout: float = 5.0) -> bool:
    """Whether the service at ``service.url`` lists the table's 12 mysfits (its catalogue
    backend lists 6)."""
    url = lab.outputs.get_or("service.url")
    if not url:
        return False
    try:
        answer = requests.get(f"{url.rstrip('/')}/mysfits", timeout=timeout)
        return answer.status_code == 200 and len(answer.json()["mysfits"]) == len(mysfit_items())
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return False


def push_settings(lab: Lab, settings: str) -> str:
    """Release the service's source with ``app/settings.json`` replaced by ``settings``, through
    the pipeline of module 02b; returns the pipeline execution that deployed it."""
    execution = pipeline.push_source(lab, {SERVICE_SETTINGS: settings})
    pipeline.wait_for_release(lab, execution)
    return execution


def switch_service(lab: Lab) -> str | None:
    """Point the service at the table unless it already reads it: the execution id of the
    release, or None when nothing had to be pushed."""
    if service_reads_table(lab):
        return None
    return push_settings(lab, service_settings(lab))


def restore_service(lab: Lab) -> str | None:
    """Point the service back at its catalogue (the settings it ships with), so that it does
    not answer 503 once the table is gone: the execution id, or None when it does not read the
    table."""
    if not service_reads_table(lab):
        return None
    return push_settings(lab, shipped_settings())


# -- outputs, check, whole module --------------------------------------------------------
def record(lab: Lab) -> dict[str, Any]:
    recorded = lab.outputs.record(MODULE, {"data.table": table_name(lab)})
    if website.is_built(lab):  # the site's stage: "Module 3 — mysfits in DynamoDB"
        website.publish_config(lab)
    return recorded


def _has_pipeline(lab: Lab) -> bool:
    return bool(lab.outputs.get_or("pipeline.name") and lab.outputs.get_or("service.url"))


def build(lab: Lab) -> dict[str, Any]:
    """The table, its 12 mysfits, and (when module 02b's pipeline exists, as ``Lab.prepare``
    makes sure) the service switched to the table through the pipeline."""
    create_table(lab)
    load_mysfits(lab)
    recorded = record(lab)
    if _has_pipeline(lab):
        switch_service(lab)
    else:
        show.note(
            "No pipeline recorded (02b-pipeline): the table is ready, the service still "
            "serves its catalogue."
        )
    return recorded


def is_built(lab: Lab) -> bool:
    """The table is ACTIVE with every mysfit, and the service reads it (when there is a
    pipeline to switch it with)."""
    if not lab.outputs.get_or("data.table"):
        return False
    try:
        table = describe_table(lab)
        if not (
            table is not None
            and table["TableStatus"] == "ACTIVE"
            and count_items(lab) >= len(mysfit_items())
        ):
            return False
    except ClientError:
        return False
    return not _has_pipeline(lab) or service_reads_table(lab)


@dataclass
class DataCheck:
    table: str
    items: int
    expected_items: int
    expected: dict[str, dict[str, int]]
    indexes: dict[str, dict[str, int]]  # counts from the GSIs
    service_url: str
    service_items: int | None  # GET /mysfits; None when it did not answer 200
    service_problem: str  # why service_items is None
    service_counts: dict[str, dict[str, int | None]]  # GET /mysfits?filter=..&value=..
    unknown_status: int  # GET /mysfits/<unknown id>
    bad_filter_status: int  # GET /mysfits?filter=Species&value=Yeti

    @property
    def ok(self) -> bool:
        return (
            self.items == self.expected_items
            and self.indexes == self.expected
            and self.service_items == self.expected_items
            and self.service_counts == self.expected
            and self.unknown_status == 404
            and self.bad_filter_status == 400
        )

    def rows(self) -> list[dict[str, Any]]:
        """One row per filter value: expected, the index's count, the service's count."""
        return [
            {
                "filter": name,
                "value": value,
                "expected": expected,
                "index": self.indexes[name][value],
                "service": self.service_counts[name][value],
            }
            for name, values in self.expected.items()
            for value, expected in values.items()
        ]

    def summary(self) -> str:
        counts = "; ".join(
            f"{name}Index: " + ", ".join(f"{value} {n}" for value, n in values.items())
            for name, values in self.indexes.items()
        )
        lines = [
            f"The table holds {self.items} mysfits (expected {self.expected_items}).",
            f"{counts} ({'as expected' if self.indexes == self.expected else 'NOT as expected'}).",
        ]
        if self.service_items is None:
            lines.append(f"Through the service: {self.service_problem}")
        elif self.service_items != self.items:
            lines.append(
                f"Through the service: GET /mysfits lists {self.service_items} mysfits, the "
                f"table holds {self.items}: the service does not read the table yet. Push "
                f"the change of {SERVICE_SETTINGS} and wait for the deployment."
            )
        else:
            filters = "match" if self.service_counts == self.expected else "DO NOT match"
            lines.append(
                f"Through the service: GET /mysfits lists {self.service_items} mysfits; "
                f"the filters' counts {filters} the indexes'; an unknown id answers "
                f"{self.unknown_status}; a bad filter answers {self.bad_filter_status}."
            )
        return "\n".join(lines)


def check(lab: Lab, service_url: str | None = None, timeout: float = 10.0) -> DataCheck:
    """What module 3 should have made: 12 items, the indexes' counts, and the service
    (``service.url`` unless given) answering from the table, 404 and 400 included."""
    url = (service_url or lab.outputs.get("service.url")).rstrip("/")

    def get(path: str, **params: str) -> requests.Response:
        return requests.get(f"{url}{path}", params=params, timeout=timeout)

    listing = get("/mysfits")
    service_items, problem = None, ""
    if listing.status_code == 200:
        service_items = len(listing.json()["mysfits"])
    else:
        problem = f"GET /mysfits answers {listing.status_code}: {_message(listing)}"
    service_counts: dict[str, dict[str, int | None]] = {}
    for name, values in FILTERS.items():
        service_counts[name] = {}
        for value in values:
            answer = get("/mysfits", filter=name, value=value)
            ok = answer.status_code == 200
            service_counts[name][value] = len(answer.json()["mysfits"]) if ok else None
    return DataCheck(
        table=table_name(lab),
        items=count_items(lab),
        expected_items=len(mysfit_items()),
        expected=expected_counts(),
        indexes=index_counts(lab),
        service_url=url,
        service_items=service_items,
        service_problem=problem,
        service_counts=service_counts,
        unknown_status=get(f"/mysfits/{UNKNOWN_ID}").status_code,
        bad_filter_status=get("/mysfits", filter="Species", value="Yeti").status_code,
    )


def _message(response: requests.Response) -> str:
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


# -- clean-up -----------------------------------------------------------------------------
def teardown(lab: Lab) -> list[str]:
    """Delete this learner's table (by its exact name) and wait until it is gone."""
    name, removed = table_name(lab), []
    table = describe_table(lab, name)
    if table is not None and table["TableStatus"] in _SETTLING:
        wait_until_active(lab)  # DeleteTable refuses a table that is being created
    if table is not None and table["TableStatus"] != "DELETING":
        with tolerate("ResourceNotFoundException"):  # deleted meanwhile
            lab.client("dynamodb").delete_table(TableName=name)
            removed.append(f"DynamoDB table {name}")
    if table is not None:
        _wait_until_gone(lab, name)
    lab.outputs.forget("data.table")
    if website.is_built(lab):
        website.publish_config(lab)
    return removed
