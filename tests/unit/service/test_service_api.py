"""The service's HTTP API on the catalogue backend (Flask test client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mysfits_service
import pytest

FIELDS = [
    "mysfitId",
    "name",
    "species",
    "description",
    "age",
    "goodevil",
    "lawchaos",
    "thumbImageUri",
    "profileImageUri",
    "likes",
    "adopted",
]
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def assert_cors(response: Any) -> None:
    assert response.headers.get("Access-Control-Allow-Origin") == "*"


def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body["message"], str) and body["message"]
    assert_cors(response)
    return body


def test_health(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "health check" in response.get_json()["message"]
    assert_cors(response)


def test_list_returns_catalogue_with_typed_fields(client: Any, catalogue_records: list) -> None:
    response = client.get("/mysfits")
    assert response.status_code == 200
    assert_cors(response)
    mysfits = response.get_json()["mysfits"]
    assert [m["mysfitId"] for m in mysfits] == [r["mysfitId"] for r in catalogue_records]
    assert len(mysfits) == 6
    for mysfit, record in zip(mysfits, catalogue_records, strict=True):
        assert list(mysfit) == FIELDS
        assert mysfit["likes"] == 0 and mysfit["adopted"] is False
        assert type(mysfit["age"]) is int and mysfit["age"] == record["age"]
        assert mysfit["description"] == record["description"]


def test_trailing_slash_lists_too(client: Any) -> None:
    response = client.get("/mysfits/")
    assert response.status_code == 200
    assert len(response.get_json()["mysfits"]) == 6


@pytest.mark.parametrize(
    ("filter_name", "field", "value", "expected"),
    [
        ("GoodEvil", "goodevil", "Evil", 3),
        ("GoodEvil", "goodevil", "Good", 1),
        ("LawChaos", "lawchaos", "Chaotic", 2),
        ("LawChaos", "lawchaos", "Lawful", 2),
    ],
)
def test_filter(
    client: Any,
    catalogue_records: list,
    filter_name: str,
    field: str,
    value: str,
    expected: int,
) -> None:
    response = client.get("/mysfits", query_string={"filter": filter_name, "value": value})
    assert response.status_code == 200
    mysfits = response.get_json()["mysfits"]
    assert len(mysfits) == expected
    assert {m[field] for m in mysfits} == {value}
    wanted = {r["mysfitId"] for r in catalogue_records if r[field] == value}
    assert {m["mysfitId"] for m in mysfits} == wanted


def test_empty_filter_parameters_mean_no_filter(client: Any) -> None:
    response = client.get("/mysfits?filter=&value=")
    assert response.status_code == 200
    assert len(response.get_json()["mysfits"]) == 6


@pytest.mark.parametrize(
    ("query", "must_mention"),
    [
        ({"filter": "Species", "value": "Yeti"}, ["GoodEvil", "LawChaos"]),
        ({"filter": "GoodEvil", "value": "Lawful"}, ["Good", "Neutral", "Evil"]),
        ({"filter": "LawChaos", "value": "chaotic"}, ["Lawful", "Neutral", "Chaotic"]),
        ({"filter": "GoodEvil"}, ["value"]),
        ({"value": "Good"}, ["filter"]),
    ],
)
def test_bad_filter_is_400_naming_allowed_values(
    client: Any, query: dict[str, str], must_mention: list[str]
) -> None:
    body = assert_json_error(client.get("/mysfits", query_string=query), 400)
    for word in must_mention:
        assert word in body["message"]
    assert body["allowedFilters"] == {
        "GoodEvil": ["Good", "Neutral", "Evil"],
        "LawChaos": ["Lawful", "Neutral", "Chaotic"],
    }


def test_get_one(client: Any, catalogue_records: list) -> None:
    record = catalogue_records[3]
    response = client.get(f"/mysfits/{record['mysfitId']}")
    assert response.status_code == 200
    assert_cors(response)
    body = response.get_json()
    assert list(body) == FIELDS
    assert body["name"] == record["name"] and body["species"] == record["species"]
    assert body["likes"] == 0 and body["adopted"] is False


def test_get_unknown_is_404(client: Any) -> None:
    # With an Origin header too, the answer is the wildcard, not an echo of the origin.
    response = client.get(f"/mysfits/{UNKNOWN}", headers={"Origin": "http://site.example"})
    body = assert_json_error(response, 404)
    assert body["mysfitId"] == UNKNOWN


def test_like_counts_up_as_integers(client: Any, catalogue_records: list) -> None:
    mysfit_id = catalogue_records[0]["mysfitId"]
    first = client.post(f"/mysfits/{mysfit_id}/like")
    second = client.post(f"/mysfits/{mysfit_id}/like")
    assert first.status_code == second.status_code == 200
    assert first.get_json() == {"Update": "Success", "likes": 1}
    assert second.get_json() == {"Update": "Success", "likes": 2}
    assert_cors(second)
    assert client.get(f"/mysfits/{mysfit_id}").get_json()["likes"] == 2
    # Only the liked mysfit changed.
    others = [m for m in client.get("/mysfits").get_json()["mysfits"] if m["mysfitId"] != mysfit_id]
    assert {m["likes"] for m in others} == {0}


def test_like_unknown_is_404(client: Any) -> None:
    assert_json_error(client.post(f"/mysfits/{UNKNOWN}/like"), 404)


def test_adopt_then_conflict(client: Any, catalogue_records: list) -> None:
    mysfit_id = catalogue_records[1]["mysfitId"]
    response = client.post(f"/mysfits/{mysfit_id}/adopt")
    assert response.status_code == 200
    assert response.get_json() == {"Update": "Success"}
    assert client.get(f"/mysfits/{mysfit_id}").get_json()["adopted"] is True
    body = assert_json_error(client.post(f"/mysfits/{mysfit_id}/adopt"), 409)
    assert "adopted" in body["message"]


def test_adopt_unknown_is_404_and_creates_nothing(client: Any) -> None:
    assert_json_error(client.post(f"/mysfits/{UNKNOWN}/adopt"), 404)
    mysfits = client.get("/mysfits").get_json()["mysfits"]
    assert len(mysfits) == 6
    assert UNKNOWN not in {m["mysfitId"] for m in mysfits}


def test_wrong_method_is_405_json_with_allow(client: Any, catalogue_records: list) -> None:
    response = client.get(f"/mysfits/{catalogue_records[0]['mysfitId']}/like")
    assert_json_error(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_json_error(client.delete("/mysfits"), 405)


def test_unknown_route_is_404_json(client: Any) -> None:
    assert_json_error(client.get("/nothing/here"), 404)


def test_unexpected_error_is_500_json(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.extensions["mysfits_backend"], "list_mysfits", broken)
    body = assert_json_error(app.test_client().get("/mysfits"), 500)
    # Internals stay in the log, not in the response.
    assert body == {"message": "Internal server error"}


def test_preflight(client: Any, catalogue_records: list) -> None:
    response = client.options(
        f"/mysfits/{catalogue_records[0]['mysfitId']}/like",
        headers={
            "Origin": "http://site.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code == 200
    assert_cors(response)
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_configuration_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A hand-written catalogue: age as a string, no likes/adopted fields.
    path = tmp_path / "small.json"
    mysfit = {"mysfitId": "m-1", "name": "Tiny", "species": "Imp", "age": "7"}
    mysfit |= {"goodevil": "Good", "lawchaos": "Lawful"}
    path.write_text(json.dumps({"mysfits": [mysfit]}), encoding="utf-8")
    monkeypatch.setenv("MYSFITS_BACKEND", "catalogue")
    monkeypatch.setenv("MYSFITS_CATALOGUE", str(path))
    client = mysfits_service.create_app().test_client()
    body = client.get("/mysfits").get_json()
    assert body == {
        "mysfits": [
            {
                "mysfitId": "m-1",
                "name": "Tiny",
                "species": "Imp",
                "age": 7,
                "goodevil": "Good",
                "lawchaos": "Lawful",
                "likes": 0,
                "adopted": False,
            }
        ]
    }


def test_config_argument_overrides_environment(
    catalogue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYSFITS_BACKEND", "nonsense")
    monkeypatch.setenv("MYSFITS_CATALOGUE", "/does/not/exist.json")
    app = mysfits_service.create_app(
        {"MYSFITS_BACKEND": "catalogue", "MYSFITS_CATALOGUE": str(catalogue_file)}
    )
    assert len(app.test_client().get("/mysfits").get_json()["mysfits"]) == 6


def test_unknown_backend_fails_at_start(catalogue_file: Path) -> None:
    with pytest.raises(ValueError, match="MYSFITS_BACKEND"):
        mysfits_service.create_app({"MYSFITS_BACKEND": "postgres"})


def test_catalogue_without_mysfits_list_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"mysfitId": "x"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="mysfits"):
        mysfits_service.create_app({"MYSFITS_CATALOGUE": str(path)})


def test_hand_edited_likes_and_adopted_become_a_number_and_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "edited.json"
    mysfit = {"mysfitId": "m-2", "name": "Edited", "likes": "3", "adopted": "false"}
    path.write_text(json.dumps({"mysfits": [mysfit]}), encoding="utf-8")
    client = mysfits_service.create_app(
        {"MYSFITS_BACKEND": "catalogue", "MYSFITS_CATALOGUE": str(path)}
    ).test_client()
    raw = client.get("/mysfits/m-2").get_data(as_text=True)
    assert '"likes":3' in raw and '"adopted":false' in raw
    assert client.post("/mysfits/m-2/like").get_json()["likes"] == 4
    assert client.post("/mysfits/m-2/adopt").status_code == 200
