"""steps.data.load_mysfits against moto, with a client that holds items back as DynamoDB does
when it throttles (moto and the local cloud never return UnprocessedItems)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mysfits_lab.lab import LabError
from mysfits_lab.steps import data
from tests.unit.fakes import FakeLab


class Throttling:
    """A DynamoDB client whose BatchWriteItem writes only the first ``accept`` requests of each
    call and hands the rest back as UnprocessedItems."""

    def __init__(self, client: Any, accept: int):
        self.client, self.accept = client, accept
        self.sizes: list[int] = []  # requests in each call

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        ((table, writes),) = RequestItems.items()
        self.sizes.append(len(writes))
        taken, rest = writes[: self.accept], writes[self.accept :]
        if taken:
            self.client.batch_write_item(RequestItems={table: taken})
        return {"UnprocessedItems": {table: rest} if rest else {}}


@pytest.fixture
def table(aws_env: None) -> Iterator[Any]:
    """A moto DynamoDB with the learner's empty table; yields its client."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb")
        lab = FakeLab(dynamodb=client)
        lab.tag_list = lambda: [{"Key": "learner", "Value": "mysfit"}]
        client.create_table(**data.table_definition(lab))
        yield client


def stored(client: Any) -> dict[str, dict[str, Any]]:
    items = client.scan(TableName="mysfit-MysfitsTable")["Items"]
    return {item["MysfitId"]["S"]: item for item in items}


def test_unprocessed_items_are_sent_again_after_growing_pauses(table: Any) -> None:
    throttling, pauses = Throttling(table, accept=5), []
    report = data.load_mysfits(FakeLab(dynamodb=throttling), sleep=pauses.append)
    assert throttling.sizes == [12, 7, 2]  # each retry sends exactly what was held back
    assert pauses == [0.1, 0.2]
    assert (report.items, report.calls, report.retried) == (12, 3, 9)
    assert "3 BatchWriteItem call(s), 9 sent again" in report.summary()
    items = stored(table)
    assert items == {item["MysfitId"]["S"]: item for item in data.mysfit_items()}


def test_a_batch_that_never_goes_through_stops_after_max_attempts(table: Any) -> None:
    throttling, pauses = Throttling(table, accept=0), []
    with pytest.raises(LabError, match="left 12 mysfit.* after 8 BatchWriteItem calls"):
        data.load_mysfits(FakeLab(dynamodb=throttling), sleep=pauses.append)
    assert throttling.sizes == [12] * 8
    assert pauses == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0]  # doubling, capped
    assert stored(table) == {}


def test_batches_hold_at_most_25(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    template = data.mysfit_items()[0]
    many = [template | {"MysfitId": {"S": f"m-{n:02}"}} for n in range(30)]
    monkeypatch.setattr(data, "mysfit_items", lambda: many)
    throttling = Throttling(table, accept=25)
    report = data.load_mysfits(FakeLab(dynamodb=throttling), sleep=pytest.fail)
    assert throttling.sizes == [25, 5]
    assert (report.items, report.calls, report.retried) == (30, 2, 0)
    assert len(stored(table)) == 30


def test_the_twelve_of_the_original_with_their_counts() -> None:
    items = data.mysfit_items()
    assert len(items) == 12 and len({item["MysfitId"]["S"] for item in items}) == 12
    assert data.expected_counts() == {
        "GoodEvil": {"Good": 4, "Neutral": 4, "Evil": 4},
        "LawChaos": {"Lawful": 3, "Neutral": 5, "Chaotic": 4},
    }
