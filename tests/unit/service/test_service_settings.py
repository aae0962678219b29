"""app/settings.json: the source change that moves the service to DynamoDB (module 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mysfits_service
import pytest

from tests.unit.service.conftest import APP_DIR


def settings_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "settings.json"
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_settings_pick_the_catalogue(
    catalogue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MYSFITS_BACKEND", "MYSFITS_TABLE"):
        monkeypatch.delenv(name, raising=False)
    assert mysfits_service.SETTINGS_FILE == APP_DIR / "settings.json"
    app = mysfits_service.create_app({"MYSFITS_CATALOGUE": str(catalogue_file)})
    assert len(app.test_client().get("/mysfits").get_json()["mysfits"]) == 6


def test_switching_the_file_to_dynamodb_serves_the_table(
    dynamodb: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MYSFITS_BACKEND", "MYSFITS_TABLE"):
        monkeypatch.delenv(name, raising=False)
    path = settings_file(tmp_path, {"backend": "dynamodb", "table": "MysfitsTable"})
    client = mysfits_service.create_app(settings_file=path).test_client()
    assert len(client.get("/mysfits").get_json()["mysfits"]) == 12
    good = client.get("/mysfits?filter=GoodEvil&value=Good").get_json()["mysfits"]
    assert len(good) == 4


def test_the_file_names_the_table(dynamodb: Any, tmp_path: Path) -> None:
    path = settings_file(tmp_path, {"backend": "dynamodb", "table": "ana-MysfitsTable"})
    response = mysfits_service.create_app(settings_file=path).test_client().get("/mysfits")
    assert response.status_code == 503
    assert "'ana-MysfitsTable'" in response.get_json()["message"]


def test_environment_variables_still_win_over_the_file(
    catalogue_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings_file(tmp_path, {"backend": "dynamodb", "table": "MysfitsTable"})
    monkeypatch.setenv("MYSFITS_BACKEND", "catalogue")
    monkeypatch.setenv("MYSFITS_CATALOGUE", str(catalogue_file))
    client = mysfits_service.create_app(settings_file=path).test_client()
    assert len(client.get("/mysfits").get_json()["mysfits"]) == 6


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"backend": "dynamodb", "tabel": "MysfitsTable"}, "unknown setting"),
        ({"backend": ""}, "non-empty string"),
        ({"table": 7}, "non-empty string"),
        (["dynamodb"], "JSON object"),
        ('{"backend": "dynamodb",}', "not valid JSON"),
        ({"backend": "dynamo"}, "settings.json"),
    ],
)
def test_a_mistake_in_the_file_stops_the_service_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: Any, message: str
) -> None:
    monkeypatch.delenv("MYSFITS_BACKEND", raising=False)
    path = settings_file(tmp_path, content)
    with pytest.raises(ValueError, match=message) as raised:
        mysfits_service.create_app(settings_file=path)
    assert "settings.json" in str(raised.value)


def test_no_file_means_the_defaults(catalogue_file: Path, tmp_path: Path) -> None:
    app = mysfits_service.create_app(
        {"MYSFITS_CATALOGUE": str(catalogue_file)}, settings_file=tmp_path / "absent.json"
    )
    assert app.config["MYSFITS_BACKEND"] == "catalogue"
    assert app.config["MYSFITS_TABLE"] == "MysfitsTable"
