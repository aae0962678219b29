"""The poller over a fake stream and a fake function: positions, batching, order, retries,
disabling and deleting — pass by pass, on a clock moved by hand."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from mysfits_lab.localcloud.services.event_sources.filters import parse_criteria
from mysfits_lab.localcloud.services.event_sources.models import (
    CREATING,
    DISABLED,
    DISABLING,
    ENABLED,
    ENABLING,
    Mapping,
    Settings,
)
from mysfits_lab.localcloud.services.event_sources.poller import IDLE_POLL, WINDOW_CAP, Poller
from mysfits_lab.localcloud.services.event_sources.store import MappingStore

from .helpers import FUNCTION, STREAM, FakeLambda, FakeStream, ManualClock


class Rig:
    def __init__(self) -> None:
        self.stream = FakeStream(("shard-1", "shard-2"))
        self.function = FakeLambda()
        self.clock = ManualClock()
        self.store = MappingStore()
        self.discarded: list = []
        self.poller = Poller(
            self.store,
            lambda region: self.stream,
            lambda: self.function,
            lambda view, shard, outcome: self.discarded.append((view.uuid, shard, outcome)),
            self.clock,
        )

    def mapping(self, position: str = "TRIM_HORIZON", enabled: bool = True, **settings) -> Mapping:
        mapping = Mapping(
            uuid=f"m{self.store.next_serial()}",
            region="us-east-1",
            source_arn=STREAM,
            starting_position=position,
            settings=Settings(function_arn=FUNCTION, **settings),
            enabled=enabled,
            last_modified=0.0,
            serial=0,
        )
        self.store.add(mapping)
        return mapping

    def run(self, seconds: float = 0.0, passes: int = 1) -> float:
        """``passes`` passes, ``seconds`` apart (the clock moves before each)."""
        delay = 0.0
        for _ in range(passes):
            self.clock.advance(seconds)
            delay = self.poller.tick()
        return delay

    def update(self, mapping: Mapping, enabled: bool | None = None, **settings) -> None:
        with self.store.lock:
            if enabled is not None and enabled != mapping.enabled:
                mapping.enabled = enabled
                mapping.state = ENABLING if enabled else DISABLING
            mapping.settings = replace(mapping.settings, **settings)
            mapping.generation += 1


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_a_new_mapping_becomes_enabled_and_delivers_from_trim_horizon_in_batches(rig):
    rig.stream.put(0, 1, 2, 3, 4)
    mapping = rig.mapping(batch_size=2)
    assert mapping.state == CREATING
    rig.run()
    assert mapping.state == ENABLED
    assert rig.function.batches() == [["k0", "k1"], ["k2", "k3"], ["k4"]]
    assert (mapping.delivered_batches, mapping.delivered_records) == (3, 5)
    assert mapping.last_result == "OK"


def test_each_shard_is_delivered_in_order_and_batches_never_mix_shards(rig):
    rig.stream.put(0, 2, 4, shard="shard-1")
    rig.stream.put(1, 3, shard="shard-2")
    rig.mapping(batch_size=10)
    rig.run()
    assert rig.function.batches() == [["k0", "k2", "k4"], ["k1", "k3"]]


def test_latest_delivers_only_what_is_written_once_the_mapping_is_enabled(rig):
    rig.stream.put(0, 1)
    mapping = rig.mapping("LATEST")
    rig.run()
    assert mapping.state == ENABLED
    assert rig.function.events == []
    rig.stream.put(2)
    rig.run(IDLE_POLL[1])
    assert rig.function.batches() == [["k2"]]


def test_a_disabled_mapping_delivers_nothing_until_enabled(rig):
    rig.stream.put(0, 1)
    mapping = rig.mapping(enabled=False)
    rig.run(passes=3)
    assert mapping.state == DISABLED
    assert rig.function.events == []
    rig.update(mapping, enabled=True)
    assert mapping.state == ENABLING
    rig.run()
    assert mapping.state == ENABLED
    assert rig.function.batches() == [["k0", "k1"]]


def test_disabling_then_enabling_resumes_after_the_last_delivered_record(rig):
    mapping = rig.mapping(batch_size=1, max_retries=-1)
    rig.stream.put(0, 1, fail=(1,))
    rig.run()
    assert rig.function.batches() == [["k0"], ["k1"]]  # k1 fails and waits for a retry
    rig.update(mapping, enabled=False)
    rig.run()
    assert mapping.state == DISABLED
    rig.stream.records["shard-1"][1]["dynamodb"]["NewImage"].pop("fail")  # fixed meanwhile
    rig.stream.put(2)
    rig.update(mapping, enabled=True)
    rig.run(5.0)
    assert rig.function.batches()[2:] == [["k1"], ["k2"]]


def test_a_failing_record_is_retried_then_skipped_and_later_records_follow_in_order(rig):
    mapping = rig.mapping(batch_size=1, max_retries=1)
    rig.stream.put(0, 1, 2, fail=(1,))
    rig.run()
    assert rig.function.batches() == [["k0"], ["k1"]]
    assert mapping.last_result == "PROBLEM: Function call failed"
    rig.run(0.1)
    assert rig.function.batches() == [["k0"], ["k1"]]  # k2 waits for k1's batch
    rig.run(0.25)
    assert rig.function.batches() == [["k0"], ["k1"], ["k1"], ["k2"]]
    [(uuid, shard, outcome)] = rig.discarded
    assert (uuid, shard, outcome.condition) == (mapping.uuid, "shard-1", "RetryAttemptsExhausted")
    assert [r.record["dynamodb"]["Keys"]["id"]["S"] for r in outcome.records] == ["k1"]
    assert (mapping.delivered_batches, mapping.failed_batches, mapping.last_result) == (2, 1, "OK")


def test_a_waiting_retry_does_not_hold_up_other_shards(rig):
    rig.stream.put(0, fail=(0,), shard="shard-1")
    rig.mapping(max_retries=-1)
    rig.run()
    rig.stream.put(1, shard="shard-2")
    rig.run(0.1, passes=1)
    rig.clock.advance(IDLE_POLL[1])
    rig.poller.tick()
    assert ["k1"] in rig.function.batches()


def test_the_batching_window_gathers_records_until_it_passes(rig):
    rig.mapping(batch_size=10, window=2)
    rig.run()
    rig.stream.put(0, 1, 2)
    delay = rig.run(IDLE_POLL[1])
    assert rig.function.events == []
    assert delay <= 2.0  # still reading while the window is open
    rig.stream.put(3)
    rig.run(1.0)
    assert rig.function.events == []
    rig.run(1.0)
    assert rig.function.batches() == [["k0", "k1", "k2", "k3"]]


def test_a_full_batch_does_not_wait_for_the_window(rig):
    rig.mapping(batch_size=2, window=300)
    rig.stream.put(0, 1, 2)
    delay = rig.run()
    assert rig.function.batches() == [["k0", "k1"]]
    assert delay <= WINDOW_CAP  # a long window is shortened
    rig.run(WINDOW_CAP)
    assert rig.function.batches() == [["k0", "k1"], ["k2"]]


def test_an_idle_shard_is_read_about_four_times_a_second(rig):
    rig.mapping()
    rig.run()
    polls = 0
    for _ in range(40):  # two seconds in steps shorter than any poll interval
        reads = rig.stream.reads
        rig.run(0.05)
        polls += rig.stream.reads > reads
    assert 2 / IDLE_POLL[1] - 2 <= polls <= 2 / IDLE_POLL[1] + 1


def test_a_lost_iterator_resumes_where_reading_stopped(rig):
    rig.mapping(batch_size=1)
    rig.stream.put(0, 1)
    rig.run()
    rig.stream.lose_iterators = 1
    rig.stream.put(2)
    rig.run(IDLE_POLL[1], passes=3)
    assert rig.function.batches() == [["k0"], ["k1"], ["k2"]]


def test_filtered_records_are_not_delivered(rig):
    pattern = {"Filters": [{"Pattern": '{"dynamodb": {"Keys": {"id": {"S": ["k1"]}}}}'}]}
    rig.mapping(patterns=parse_criteria(pattern))
    rig.stream.put(0, 1, 2)
    rig.run()
    assert rig.function.batches() == [["k1"]]


def test_a_deleted_mapping_stops_delivering(rig):
    mapping = rig.mapping()
    rig.stream.put(0)
    rig.run()
    rig.store.remove(mapping.uuid, "us-east-1")
    rig.stream.put(1)
    rig.run(IDLE_POLL[1], passes=3)
    assert rig.function.batches() == [["k0"]]


def test_an_update_of_the_function_applies_to_the_next_attempt(rig):
    mapping = rig.mapping(max_retries=-1)
    rig.stream.put(0, fail=(0,))
    rig.run()
    other = FUNCTION.replace("process", "other")
    calls: list[str] = []
    original = rig.function.__call__

    def recording(arn, payload):
        calls.append(arn)
        return original(arn, payload)

    rig.poller._invoke = recording
    rig.update(mapping, function_arn=other)
    rig.run(1.0)
    assert calls == [other]


def test_a_stream_that_does_not_exist_leaves_the_mapping_creating(rig):
    rig.stream.gone = True
    mapping = rig.mapping()
    rig.run(passes=2)
    assert mapping.state == CREATING
    rig.stream.gone = False
    rig.stream.put(0)
    rig.run(5.0)
    assert mapping.state == ENABLED
    assert rig.function.batches() == [["k0"]]


def test_the_thread_starts_wakes_and_stops(rig):
    rig.poller.clock = __import__("mysfits_lab.localcloud.core.clock", fromlist=["Clock"]).Clock()
    rig.stream.put(0)
    rig.poller.start()
    try:
        rig.mapping()
        rig.poller.wake()
        deadline = time.monotonic() + 5
        while not rig.function.events and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rig.function.batches() == [["k0"]]
    finally:
        started = time.monotonic()
        rig.poller.stop()
    assert time.monotonic() - started < 2
    assert not rig.poller._thread.is_alive()
