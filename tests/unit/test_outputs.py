import json

import pytest

from mysfits_lab.outputs import MissingOutput, OutputsStore


@pytest.fixture
def store(tmp_path):
    return OutputsStore(tmp_path / "mysfit" / "outputs.json", "mysfit")


def test_recorded_values_come_back_with_their_producer(store):
    store.record("01-static-site", {"website.bucket": "b", "website.url": "http://x"})
    assert store.get("website.bucket") == "b"
    assert store.values() == {"website": {"bucket": "b", "url": "http://x"}}
    rows = store.entries()
    assert [r["output"] for r in rows] == ["website.bucket", "website.url"]
    assert {r["module"] for r in rows} == {"01-static-site"}
    on_disk = json.loads(store.path.read_text())
    assert on_disk["website"]["url"]["module"] == "01-static-site"
    assert on_disk["website"]["url"]["at"]


def test_missing_value_names_the_notebook_to_run(store):
    with pytest.raises(MissingOutput) as info:
        store.get("users.user_pool_id")
    assert str(info.value) == (
        "run 04-users-api first: users.user_pool_id is missing from the outputs of learner 'mysfit'"
    )
    assert store.get_or("users.user_pool_id", "fallback") == "fallback"


def test_rerecording_overwrites_and_forget_removes(store):
    store.record("01-static-site", {"website.url": "old"})
    store.record("01-static-site", {"website.url": "new"})
    assert store.get("website.url") == "new"
    store.forget("website.url")
    assert "website.url" not in store
    assert store.values() == {}


def test_names_must_have_a_group(store):
    with pytest.raises(ValueError, match="group.name"):
        store.record("01-static-site", {"bucket": "b"})


def test_archive_moves_the_file_aside(store):
    store.record("00-setup", {"lab.target": "local"})
    archived = store.archive()
    assert archived and archived.exists()
    assert store.values() == {}
    assert json.loads(archived.read_text())["lab"]["target"]["value"] == "local"
