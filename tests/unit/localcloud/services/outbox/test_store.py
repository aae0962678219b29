"""The outbox's messages on disk: bounded, filtered, oldest first, and readable after a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mysfits_lab.localcloud.services.outbox.models import (
    DEFAULT_SENDER,
    Message,
    Query,
    iso_time,
    parse_time,
)
from mysfits_lab.localcloud.services.outbox.store import MessageStore

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC).timestamp()


def message(n: int, to: str = "ada@example.com", at: float = T0) -> Message:
    return Message(
        id=f"m-{n}",
        time=iso_time(at + n),
        to=to,
        sender=DEFAULT_SENDER,
        subject=f"subject {n}",
        body=f"body {n}",
        source="cognito-idp",
        region="us-east-1",
    )


def test_messages_come_back_oldest_first_as_the_api_shows_them(tmp_path):
    store = MessageStore(tmp_path / "messages.jsonl")
    for n in range(3):
        store.append(message(n))
    found = store.read()
    assert [m.id for m in found] == ["m-0", "m-1", "m-2"]
    api = found[0].to_api()
    assert api["from"] == "no-reply@verificationemail.com" and "sender" not in api
    assert api["time"] == "2026-01-31T12:00:00.000Z"


def test_the_store_keeps_at_most_its_limit_dropping_the_oldest(tmp_path):
    path = tmp_path / "messages.jsonl"
    store = MessageStore(path, limit=10)
    for n in range(35):
        store.append(message(n))
        assert len(store.read()) == min(n + 1, 10)
    assert [m.id for m in store.read()] == [f"m-{n}" for n in range(25, 35)]
    assert len(store) == 10
    lines = path.read_text().splitlines()
    assert len(lines) <= 11  # the file holds the limit and at most a tenth more


def test_a_store_reopened_on_the_same_file_counts_what_is_there(tmp_path):
    path = tmp_path / "messages.jsonl"
    first = MessageStore(path, limit=4)
    for n in range(4):
        first.append(message(n))
    again = MessageStore(path, limit=4)
    assert len(again) == 4
    again.append(message(4))
    assert [m.id for m in again.read()] == ["m-1", "m-2", "m-3", "m-4"]


def test_a_line_cut_short_is_skipped(tmp_path):
    path = tmp_path / "messages.jsonl"
    store = MessageStore(path)
    store.append(message(0))
    with path.open("a") as file:
        file.write('{"id": "cut')
    store = MessageStore(path)
    store.append(message(1))
    assert [m.id for m in store.read()] == ["m-0", "m-1"]


def test_queries_filter_by_address_in_any_case_and_by_time(tmp_path):
    store = MessageStore(tmp_path / "messages.jsonl")
    store.append(message(0, to="Ada@Example.com"))
    store.append(message(1, to="bob@example.com"))
    store.append(message(2, to="ada@example.com"))
    to_ada = store.read(Query.parse("ADA@example.COM", None))
    assert [m.id for m in to_ada] == ["m-0", "m-2"]
    assert store.read(Query.parse("ada@example", None)) == []  # exact addresses only
    since = store.read(Query.parse(None, "2026-01-31T12:00:01Z"))
    assert [m.id for m in since] == ["m-1", "m-2"]  # at or after
    both = store.read(Query.parse("ada@example.com", "2026-01-31T13:00:01+01:00"))
    assert [m.id for m in both] == ["m-2"]
    naive = store.read(Query.parse(None, "2026-01-31T12:00:02"))  # no zone: UTC
    assert [m.id for m in naive] == ["m-2"]


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "12:00"])
def test_a_since_that_is_not_a_time_is_refused(bad):
    with pytest.raises(ValueError):
        Query.parse(None, bad)


def test_times_round_trip():
    assert parse_time(iso_time(T0)).timestamp() == T0


def test_a_limit_below_one_is_refused(tmp_path):
    with pytest.raises(ValueError):
        MessageStore(tmp_path / "m.jsonl", limit=0)
