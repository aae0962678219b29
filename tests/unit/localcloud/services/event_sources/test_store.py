"""ListEventSourceMappings' filters and pages, and the poller's view of the mappings."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.event_sources.models import (
    CREATING,
    DISABLED,
    ENABLED,
    ENABLING,
    Mapping,
    Settings,
)
from mysfits_lab.localcloud.services.event_sources.store import MappingStore
from mysfits_lab.localcloud.services.event_sources.validation import parse_function

from .helpers import FUNCTION, STREAM

OTHER_STREAM = STREAM.replace("questions", "mysfits")


def _add(store: MappingStore, uuid: str, function: str = FUNCTION, source: str = STREAM, **kw):
    mapping = Mapping(
        uuid=uuid,
        region=kw.pop("region", "us-east-1"),
        source_arn=source,
        starting_position="TRIM_HORIZON",
        settings=Settings(function_arn=function),
        enabled=kw.pop("enabled", True),
        last_modified=1.0,
        serial=store.next_serial(),
    )
    store.add(mapping)
    return mapping


@pytest.fixture
def store() -> MappingStore:
    store = MappingStore()
    _add(store, "a")
    _add(store, "b", function=FUNCTION + ":live")
    _add(store, "c", source=OTHER_STREAM)
    _add(store, "d", function=FUNCTION.replace("process", "other"))
    _add(store, "e", region="eu-west-1")
    return store


def _uuids(page) -> list[str]:
    return [m["UUID"] for m in page]


def test_a_region_lists_its_own_mappings_in_creation_order(store):
    page, marker = store.page("us-east-1")
    assert _uuids(page) == ["a", "b", "c", "d"]
    assert marker is None
    assert _uuids(store.page("eu-west-1")[0]) == ["e"]


def test_filters_by_source_and_by_function(store):
    assert _uuids(store.page("us-east-1", source_arn=OTHER_STREAM)[0]) == ["c"]
    by_name = store.page("us-east-1", function=parse_function("process", "us-east-1"))[0]
    assert _uuids(by_name) == ["a", "b", "c"]
    by_alias = store.page("us-east-1", function=parse_function("process:live", "us-east-1"))[0]
    assert _uuids(by_alias) == ["b"]
    by_arn = store.page("us-east-1", function=parse_function(FUNCTION, "us-east-1"))[0]
    assert _uuids(by_arn) == ["a", "b", "c"]
    assert store.page("us-east-1", function=parse_function("nothing", "us-east-1"))[0] == []


def test_pages_follow_markers_even_when_mappings_go(store):
    first, marker = store.page("us-east-1", max_items=2)
    assert _uuids(first) == ["a", "b"] and marker
    store.remove("c", "us-east-1")
    second, marker = store.page("us-east-1", marker=marker, max_items=2)
    assert _uuids(second) == ["d"] and marker is None


def test_a_marker_that_is_not_one_is_refused(store):
    with pytest.raises(ServiceError) as error:
        store.page("us-east-1", marker="garbage!")
    assert error.value.code == "InvalidParameterValueException"


def test_another_regions_mapping_is_not_found(store):
    with pytest.raises(ServiceError) as error:
        store.get("e", "us-east-1")
    assert (error.value.code, error.value.status) == ("ResourceNotFoundException", 404)
    assert error.value.message == "The resource you requested does not exist."


def test_duplicates_are_per_region_source_and_function(store):
    assert store.duplicate("us-east-1", STREAM, FUNCTION).uuid == "a"
    assert store.duplicate("us-east-1", STREAM, FUNCTION, other_than="a") is None
    assert store.duplicate("us-east-1", STREAM, FUNCTION + ":other") is None


def test_settling_leaves_the_transitional_state_unless_an_update_came_in_between(store):
    mapping = store.get("a", "us-east-1")
    assert mapping.state == CREATING
    store.settle("a", mapping.generation)
    assert mapping.state == ENABLED
    mapping.state, mapping.enabled, mapping.generation = ENABLING, False, 1
    store.settle("a", 0)  # the poller acted on an older version
    assert mapping.state == ENABLING
    store.settle("a", 1)
    assert mapping.state == DISABLED


def test_delivery_counts_and_last_result(store):
    store.delivered("a", 3)
    store.failed("a", discarded=False)
    store.failed("a", discarded=True)
    store.delivered("a", 1)
    [shown] = [m for m in store.control() if m["uuid"] == "a"]
    assert shown == {
        "uuid": "a",
        "function": FUNCTION,
        "source": STREAM,
        "state": CREATING,
        "delivered_batches": 2,
        "delivered_records": 4,
        "failed_batches": 1,
        "last_result": "OK",
    }
    store.failed("a", discarded=True)
    assert store.get("a", "us-east-1").last_result == "PROBLEM: Function call failed"
