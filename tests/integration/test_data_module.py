"""Module 3's steps on a fresh local cloud: the table, its 12 mysfits, the service reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from mysfits_lab.lab import LabError
from mysfits_lab.service_bundle import build_context
from mysfits_lab.steps import data
from tests.unit.service.running import serving

TABLE = "mysfit-MysfitsTable"
ATLANTIS = {"MysfitId": {"S": "c0684344-1eb7-40e7-b334-06d25ac9268c"}}
COUNTS = {
    "GoodEvil": {"Good": 4, "Neutral": 4, "Evil": 4},
    "LawChaos": {"Lawful": 3, "Neutral": 5, "Chaotic": 4},
}


@pytest.fixture
def built(lab: Any) -> Any:
    data.build(lab)
    yield lab
    data.teardown(lab)


def mysfits_tables(lab: Any) -> list[str]:
    return [t for t in lab.client("dynamodb").list_tables()["TableNames"] if "MysfitsTable" in t]


def test_build_creates_the_table_with_both_indexes_and_loads_twelve(lab: Any) -> None:
    assert data.build(lab) == {"data.table": TABLE}
    assert lab.outputs.values()["data"] == {"table": TABLE}
    table = lab.client("dynamodb").describe_table(TableName=TABLE)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "MysfitId", "KeyType": "HASH"}]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"LawChaosIndex", "GoodEvilIndex"}
    for name, index in indexes.items():
        attribute = name.removesuffix("Index")
        assert index["KeySchema"] == [
            {"AttributeName": attribute, "KeyType": "HASH"},
            {"AttributeName": "MysfitId", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "ALL"}
    tags = lab.client("dynamodb").list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"workshop": "mysfits-lab", "learner": "mysfit"}

    assert data.count_items(lab) == 12
    assert data.index_counts(lab) == COUNTS
    atlantis = lab.client("dynamodb").get_item(TableName=TABLE, Key=ATLANTIS)["Item"]
    assert atlantis["Name"] == {"S": "Atlantis"} and atlantis["Age"] == {"N": "100"}
    assert atlantis["Likes"] == {"N": "0"} and atlantis["Adopted"] == {"BOOL": False}
    assert data.is_built(lab)
    data.teardown(lab)


def test_a_rerun_writes_the_same_twelve_into_the_same_table(built: Any) -> None:
    lab, dynamodb = built, built.client("dynamodb")
    dynamodb.update_item(
        TableName=TABLE,
        Key=ATLANTIS,
        UpdateExpression="SET Likes = :n",
        ExpressionAttributeValues={":n": {"N": "5"}},
    )
    first = data.create_table(lab)
    assert data.build(lab) == {"data.table": TABLE}
    assert data.create_table(lab) == first
    assert mysfits_tables(lab) == [TABLE]
    assert data.count_items(lab) == 12
    assert data.index_counts(lab) == COUNTS
    # The put replaced the item: the original's values, not a second Atlantis.
    assert dynamodb.get_item(TableName=TABLE, Key=ATLANTIS)["Item"]["Likes"] == {"N": "0"}


def test_a_same_named_table_without_the_indexes_is_refused(lab: Any) -> None:
    lab.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "MysfitId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(LabError, match="another schema.*data.teardown"):
        data.create_table(lab)
    assert data.teardown(lab) == [f"DynamoDB table {TABLE}"]


def test_the_service_reads_the_table_after_the_settings_change(built: Any, tmp_path: Path) -> None:
    lab = built
    assert '+  "backend": "dynamodb",' in data.settings_diff(lab)
    assert f'+  "table": "{TABLE}"' in data.settings_diff(lab)

    # Before the change the service still serves its catalogue: the check says so.
    with serving(build_context(tmp_path / "before"), tmp_path / "images") as url:
        check = data.check(lab, service_url=url)
    assert not check.ok
    assert check.items == 12 and check.service_items == 6
    assert "does not read the table yet" in check.summary()

    changed = build_context(tmp_path / "after")
    (changed / data.SERVICE_SETTINGS).write_text(data.service_settings(lab), encoding="utf-8")
    with serving(changed, tmp_path / "images") as url:
        check = data.check(lab, service_url=url)
        assert check.ok, check.summary()
        assert check.service_counts == COUNTS == check.indexes
        assert (check.unknown_status, check.bad_filter_status) == (404, 400)
        assert check.summary().splitlines() == [
            "The table holds 12 mysfits (expected 12).",
            "GoodEvilIndex: Good 4, Neutral 4, Evil 4; "
            "LawChaosIndex: Lawful 3, Neutral 5, Chaotic 4 (as expected).",
            "Through the service: GET /mysfits lists 12 mysfits; the filters' counts match "
            "the indexes'; an unknown id answers 404; a bad filter answers 400.",
        ]
        assert {row["service"] for row in check.rows()} == {row["index"] for row in check.rows()}
        liked = requests.post(f"{url}/mysfits/{ATLANTIS['MysfitId']['S']}/like", timeout=10)
        assert liked.json() == {"Update": "Success", "likes": 1}

        # Without the table the service answers 503 and says why; it stays healthy.
        data.teardown(lab)
        gone = requests.get(f"{url}/mysfits", timeout=10)
        assert gone.status_code == 503
        assert gone.json()["reason"] == "table_missing"
        assert TABLE in gone.json()["message"]
        assert requests.get(f"{url}/", timeout=10).status_code == 200


def test_teardown_removes_only_this_learners_table(built: Any) -> None:
    lab, dynamodb = built, built.client("dynamodb")
    others = ["ana-MysfitsTable", f"{TABLE}-copy"]
    for name in others:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "MysfitId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    try:
        assert data.teardown(lab) == [f"DynamoDB table {TABLE}"]
        assert sorted(mysfits_tables(lab)) == sorted(others)
        assert "data" not in lab.outputs.values()
        assert not data.is_built(lab)
        assert data.teardown(lab) == []
    finally:
        for name in others:
            dynamodb.delete_table(TableName=name)
