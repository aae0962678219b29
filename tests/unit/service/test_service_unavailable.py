"""When DynamoDB cannot answer, the service says so with a 503 JSON, never a stack trace."""

from __future__ import annotations

import time
from typing import Any

import mysfits_service
import pytest
from botocore.stub import Stubber

from tests.helpers import free_port

ATLANTIS = "c0684344-1eb7-40e7-b334-06d25ac9268c"
ROUTES = [
    ("GET", "/mysfits"),
    ("GET", "/mysfits?filter=GoodEvil&value=Good"),
    ("GET", f"/mysfits/{ATLANTIS}"),
    ("POST", f"/mysfits/{ATLANTIS}/like"),
    ("POST", f"/mysfits/{ATLANTIS}/adopt"),
]
# What DynamoDB's own message may hold; it belongs in the log, not in a public answer.
INTERNALS = "arn:aws:sts::123456789012:assumed-role/mysfit-EcsTaskRole/task-1"


def dynamodb_app(table: str = "MysfitsTable") -> Any:
    return mysfits_service.create_app({"MYSFITS_BACKEND": "dynamodb", "MYSFITS_TABLE": table})


def assert_503(response: Any, reason: str) -> dict[str, Any]:
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["reason"] == reason
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and INTERNALS not in text
    return body


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_missing_table_is_503_naming_it(dynamodb: Any, method: str, path: str) -> None:
    app = dynamodb_app("mysfit-MysfitsTable")  # module 03 not run for this learner
    client = app.test_client()
    body = assert_503(client.open(path, method=method), "table_missing")
    assert "'mysfit-MysfitsTable' does not exist" in body["message"]
    assert "03-data" in body["message"]
    # The health check does not depend on the table: the load balancer keeps the tasks.
    assert client.get("/").status_code == 200


def stubbed(operation: str, code: str, message: str = INTERNALS) -> tuple[Any, Stubber]:
    """An app on the DynamoDB backend whose next `operation` fails with `code`."""
    app = dynamodb_app()
    stubber = Stubber(app.extensions["mysfits_backend"].client)
    stubber.add_client_error(operation, service_error_code=code, service_message=message)
    stubber.activate()
    return app.test_client(), stubber


@pytest.mark.parametrize(
    ("operation", "path", "code", "reason", "retry_after"),
    [
        ("scan", "/mysfits", "ProvisionedThroughputExceededException", "throttled", "1"),
        ("query", "/mysfits?filter=LawChaos&value=Lawful", "ThrottlingException", "throttled", "1"),
        ("get_item", f"/mysfits/{ATLANTIS}", "AccessDeniedException", "access_denied", None),
        ("scan", "/mysfits", "UnrecognizedClientException", "access_denied", None),
        ("scan", "/mysfits", "InternalServerError", "unavailable", "5"),
    ],
)
def test_dynamodb_errors_are_503_with_a_clear_message(
    aws_env: None, operation: str, path: str, code: str, reason: str, retry_after: str | None
) -> None:
    client, stubber = stubbed(operation, code)
    response = client.get(path)
    body = assert_503(response, reason)
    assert "DynamoDB" in body["message"] or "table" in body["message"]
    assert response.headers.get("Retry-After") == retry_after
    stubber.assert_no_pending_responses()  # the error came from the operation under test


def test_access_denied_on_like_is_503_and_not_a_404(aws_env: None) -> None:
    client, _ = stubbed("update_item", "AccessDeniedException")
    body = assert_503(client.post(f"/mysfits/{ATLANTIS}/like"), "access_denied")
    assert "task role" in body["message"]


def test_an_unknown_error_code_is_named(aws_env: None) -> None:
    client, _ = stubbed("scan", "ItemCollectionSizeLimitExceededException", "too big")
    body = assert_503(client.get("/mysfits"), "dynamodb_error")
    assert "ItemCollectionSizeLimitExceededException" in body["message"]


def test_an_unreachable_endpoint_is_503_within_seconds(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens there: every attempt is refused, the retries are bounded.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
    client = dynamodb_app().test_client()
    started = time.monotonic()
    response = client.get("/mysfits")
    assert time.monotonic() - started < 10
    body = assert_503(response, "unreachable")
    assert "cannot reach DynamoDB" in body["message"]
    assert response.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in body["message"]
