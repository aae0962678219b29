"""Fixtures for the service tests: the app on the catalogue and on a moto DynamoDB table."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SERVICE_DIR = PROJECT_ROOT / "assets" / "service"
APP_DIR = SERVICE_DIR / "app"
DATA_DIR = PROJECT_ROOT / "data"

# The service is not a package of the project: it is imported the way the container does.
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))


@pytest.fixture
def catalogue_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.json"
    shutil.copyfile(DATA_DIR / "mysfits-response.json", path)
    return path


@pytest.fixture
def catalogue_records() -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / "mysfits-response.json").read_text(encoding="utf-8"))["mysfits"]


@pytest.fixture
def app(catalogue_file: Path) -> Any:
    import mysfits_service

    return mysfits_service.create_app(
        {"MYSFITS_BACKEND": "catalogue", "MYSFITS_CATALOGUE": str(catalogue_file)}
    )


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # mock_aws only intercepts AWS hostnames: a custom endpoint or a real profile must not leak in.
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def dynamodb(aws_env: None) -> Iterator[Any]:
    """A moto DynamoDB with MysfitsTable created and loaded from the project's data files."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb")
        table = json.loads((DATA_DIR / "dynamodb-table.json").read_text(encoding="utf-8"))
        client.create_table(**table)
        batch = json.loads((DATA_DIR / "populate-dynamodb.json").read_text(encoding="utf-8"))
        requests = batch[table["TableName"]]
        for start in range(0, len(requests), 25):  # BatchWriteItem takes 25 at most
            chunk = {table["TableName"]: requests[start : start + 25]}
            while chunk:
                chunk = client.batch_write_item(RequestItems=chunk).get("UnprocessedItems")
        yield client


@pytest.fixture
def dynamo_client(dynamodb: Any) -> Any:
    import mysfits_service

    app = mysfits_service.create_app(
        {"MYSFITS_BACKEND": "dynamodb", "MYSFITS_TABLE": "MysfitsTable"}
    )
    return app.test_client()
