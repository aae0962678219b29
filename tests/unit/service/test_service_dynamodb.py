"""The service on the DynamoDB backend, against moto's in-process DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from backends import DynamoDBBackend

ATLANTIS = "c0684344-1eb7-40e7-b334-06d25ac9268c"
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def item_count(dynamodb: Any) -> int:
    return dynamodb.scan(TableName="MysfitsTable", Select="COUNT")["Count"]


def stored(dynamodb: Any, mysfit_id: str) -> dict[str, Any]:
    return dynamodb.get_item(TableName="MysfitsTable", Key={"MysfitId": {"S": mysfit_id}})["Item"]


def test_list_all_twelve_with_typed_fields(dynamo_client: Any) -> None:
    response = dynamo_client.get("/mysfits")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    mysfits = response.get_json()["mysfits"]
    assert len(mysfits) == 12
    assert len({m["mysfitId"] for m in mysfits}) == 12
    for mysfit in mysfits:
        assert type(mysfit["age"]) is int
        assert mysfit["likes"] == 0 and type(mysfit["likes"]) is int
        assert mysfit["adopted"] is False
    atlantis = next(m for m in mysfits if m["mysfitId"] == ATLANTIS)
    assert (atlantis["name"], atlantis["species"], atlantis["age"]) == ("Atlantis", "Mandrake", 100)


def sent_to_dynamodb(client: Any) -> list[tuple[str, dict[str, Any]]]:
    """The operations (and parameters) the app's DynamoDB client sends from now on."""
    sent: list[tuple[str, dict[str, Any]]] = []
    backend_client = client.application.extensions["mysfits_backend"].client
    backend_client.meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: sent.append((model.name, dict(params))),
    )
    return sent


@pytest.mark.parametrize(
    ("filter_name", "field", "value", "expected"),
    [
        ("GoodEvil", "goodevil", "Good", 4),
        ("GoodEvil", "goodevil", "Neutral", 4),
        ("GoodEvil", "goodevil", "Evil", 4),
        ("LawChaos", "lawchaos", "Chaotic", 4),
        ("LawChaos", "lawchaos", "Lawful", 3),
        ("LawChaos", "lawchaos", "Neutral", 5),
    ],
)
def test_filters_query_the_indexes(
    dynamo_client: Any, filter_name: str, field: str, value: str, expected: int
) -> None:
    sent = sent_to_dynamodb(dynamo_client)
    response = dynamo_client.get(f"/mysfits?filter={filter_name}&value={value}")
    assert response.status_code == 200
    mysfits = response.get_json()["mysfits"]
    assert len(mysfits) == expected
    assert {m[field] for m in mysfits} == {value}
    # A Query on the alignment's index, not a Scan of the whole table with a filter.
    assert [operation for operation, _ in sent] == ["Query"]
    assert sent[0][1]["IndexName"] == f"{filter_name}Index"
    assert sent[0][1]["ExpressionAttributeValues"] == {":v": {"S": value}}


def test_the_list_is_one_scan(dynamo_client: Any) -> None:
    sent = sent_to_dynamodb(dynamo_client)
    assert len(dynamo_client.get("/mysfits").get_json()["mysfits"]) == 12
    assert [operation for operation, _ in sent] == ["Scan"]
    assert "IndexName" not in sent[0][1]


def test_numbers_are_json_numbers_whatever_the_item_holds(
    dynamo_client: Any, dynamodb: Any
) -> None:
    # Items written by hand: Likes as N "3", no Adopted, an age beyond a float's precision.
    dynamodb.put_item(
        TableName="MysfitsTable",
        Item={
            "MysfitId": {"S": "hand-made"},
            "Name": {"S": "Ancient"},
            "Age": {"N": "12345678901234567891"},
            "GoodEvil": {"S": "Good"},
            "LawChaos": {"S": "Lawful"},
            "Likes": {"N": "3"},
        },
    )
    raw = dynamo_client.get("/mysfits/hand-made").get_data(as_text=True)
    assert '"likes":3' in raw and '"adopted":false' in raw  # not "3", not a Decimal string
    body = json.loads(raw)
    assert body["age"] == 12345678901234567891 and type(body["likes"]) is int
    listed = dynamo_client.get("/mysfits?filter=LawChaos&value=Lawful").get_json()["mysfits"]
    assert {type(m["age"]) for m in listed} == {int}
    assert {type(m["likes"]) for m in listed} == {int}
    assert {m["adopted"] for m in listed} == {False}
    dynamodb.update_item(
        TableName="MysfitsTable",
        Key={"MysfitId": {"S": "hand-made"}},
        UpdateExpression="REMOVE Likes",
    )
    assert dynamo_client.get("/mysfits/hand-made").get_json()["likes"] == 0


def test_an_id_longer_than_any_key_is_404(dynamo_client: Any) -> None:
    # DynamoDB refuses keys over 2048 bytes with a ValidationException (moto does not: it
    # answers "no item"); no mysfit has one, so the service answers 404 without asking.
    sent = sent_to_dynamodb(dynamo_client)
    long_id = "x" * 2049
    for response in (
        dynamo_client.get(f"/mysfits/{long_id}"),
        dynamo_client.post(f"/mysfits/{long_id}/like"),
        dynamo_client.post(f"/mysfits/{long_id}/adopt"),
    ):
        assert response.status_code == 404
    assert sent == []


def test_bad_filter_never_reaches_dynamodb(dynamo_client: Any) -> None:
    response = dynamo_client.get("/mysfits?filter=Species&value=Troll")
    assert response.status_code == 400
    assert "GoodEvil" in response.get_json()["message"]


def test_get_one_and_unknown(dynamo_client: Any) -> None:
    response = dynamo_client.get(f"/mysfits/{ATLANTIS}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Atlantis" and body["goodevil"] == "Neutral"
    assert body["likes"] == 0 and body["adopted"] is False
    missing = dynamo_client.get(f"/mysfits/{UNKNOWN}")
    assert missing.status_code == 404
    assert UNKNOWN in missing.get_json()["message"]


def test_like_twice(dynamo_client: Any, dynamodb: Any) -> None:
    first = dynamo_client.post(f"/mysfits/{ATLANTIS}/like")
    second = dynamo_client.post(f"/mysfits/{ATLANTIS}/like")
    assert first.get_json() == {"Update": "Success", "likes": 1}
    assert second.status_code == 200
    assert second.get_json() == {"Update": "Success", "likes": 2}
    assert stored(dynamodb, ATLANTIS)["Likes"] == {"N": "2"}
    assert dynamo_client.get(f"/mysfits/{ATLANTIS}").get_json()["likes"] == 2


def test_like_unknown_is_404_without_stub(dynamo_client: Any, dynamodb: Any) -> None:
    response = dynamo_client.post(f"/mysfits/{UNKNOWN}/like")
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert item_count(dynamodb) == 12


def test_adopt_then_409(dynamo_client: Any, dynamodb: Any) -> None:
    response = dynamo_client.post(f"/mysfits/{ATLANTIS}/adopt")
    assert response.status_code == 200
    assert response.get_json() == {"Update": "Success"}
    assert stored(dynamodb, ATLANTIS)["Adopted"] == {"BOOL": True}
    again = dynamo_client.post(f"/mysfits/{ATLANTIS}/adopt")
    assert again.status_code == 409
    assert "adopted" in again.get_json()["message"]


def test_adopt_item_without_adopted_attribute(dynamo_client: Any, dynamodb: Any) -> None:
    # Items written by hand may lack Adopted; that means "not adopted yet", not a conflict.
    dynamodb.update_item(
        TableName="MysfitsTable",
        Key={"MysfitId": {"S": ATLANTIS}},
        UpdateExpression="REMOVE Adopted",
    )
    assert dynamo_client.post(f"/mysfits/{ATLANTIS}/adopt").status_code == 200
    assert dynamo_client.post(f"/mysfits/{ATLANTIS}/adopt").status_code == 409


def test_adopt_unknown_is_404_and_table_keeps_twelve(dynamo_client: Any, dynamodb: Any) -> None:
    response = dynamo_client.post(f"/mysfits/{UNKNOWN}/adopt")
    assert response.status_code == 404
    assert response.get_json()["mysfitId"] == UNKNOWN
    assert item_count(dynamodb) == 12
    # The original's upserted stub broke the list; here it still works.
    assert len(dynamo_client.get("/mysfits").get_json()["mysfits"]) == 12


def test_small_pages_are_followed(dynamodb: Any) -> None:
    calls: list[str] = []
    dynamodb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    backend = DynamoDBBackend("MysfitsTable", client=dynamodb, page_size=2)
    assert len(backend.list_mysfits()) == 12
    assert calls.count("Scan") >= 6  # 12 items in pages of 2
    assert len(backend.list_mysfits("LawChaos", "Neutral")) == 5
    assert calls.count("Query") >= 2
