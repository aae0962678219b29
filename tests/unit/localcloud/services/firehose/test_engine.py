"""Buffers sealed by size and by (scaled) time, memory held within bounds, the timer thread."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.firehose.engine import (
    MIN_INTERVAL,
    RECORD_OVERHEAD,
    DeliveryEngine,
)
from mysfits_lab.localcloud.services.firehose.models import MIB
from tests.helpers import wait_for
from tests.unit.localcloud.services.firehose.fakes import (
    FakeClock,
    FakeLambda,
    FakeS3,
    destination,
    processor,
    stream,
)

REGION = "us-east-1"


def _engine(clock=None, held_limit: int = 64 * MIB, **changes) -> tuple[DeliveryEngine, FakeS3]:
    s3 = FakeS3()
    engine = DeliveryEngine(
        clock or FakeClock(), s3, FakeLambda(), inline=True, held_limit=held_limit
    )
    engine.add(stream(destination(**changes)))
    return engine, s3


def _stats(engine: DeliveryEngine) -> dict:
    [stats] = engine.stats()
    return stats


def test_records_wait_for_the_scaled_interval():
    clock = FakeClock(scale=0.1)
    engine, s3 = _engine(clock)  # IntervalInSeconds 60 → 6 s here
    ids = engine.put(REGION, "clicks", [b"a\n", b"b\n"])
    assert len(set(ids)) == 2 and None not in ids
    clock.advance(5.9)
    assert engine.flush_due() == pytest.approx(0.1)
    assert not s3.objects
    assert _stats(engine)["buffered_records"] == 2
    clock.advance(0.1)
    engine.flush_due()
    [body] = s3.objects.values()
    assert body == b"a\nb\n"
    stats = _stats(engine)
    assert (stats["buffered_records"], stats["delivered_objects"], stats["delivered_records"]) == (
        0,
        1,
        2,
    )


def test_the_interval_counts_from_the_buffers_first_record():
    clock = FakeClock(scale=0.1)
    engine, s3 = _engine(clock)
    engine.put(REGION, "clicks", [b"first"])
    clock.advance(4)
    engine.put(REGION, "clicks", [b"second"])
    clock.advance(2)
    engine.flush_due()
    assert list(s3.objects.values()) == [b"firstsecond"]


def test_a_processor_buffers_before_the_destination_does():
    clock = FakeClock(scale=0.1)
    engine, s3 = _engine(clock, interval_seconds=15, processor=processor(interval_seconds=20))
    engine.put(REGION, "clicks", [b"a"])
    assert engine.flush_due() == pytest.approx(3.5)  # (20 s + 15 s) at a tenth
    clock.advance(3.4)
    engine.flush_due()
    assert not s3.objects
    clock.advance(0.1)
    engine.flush_due()
    assert list(s3.objects.values()) == [b"A"]


def test_short_intervals_last_at_least_the_minimum():
    clock = FakeClock(scale=0.1)
    engine, s3 = _engine(clock, interval_seconds=0)
    engine.put(REGION, "clicks", [b"a"])
    assert engine.flush_due() == pytest.approx(MIN_INTERVAL)
    clock.advance(MIN_INTERVAL)
    engine.flush_due()
    assert s3.objects


def test_a_full_buffer_is_delivered_at_once():
    engine, s3 = _engine(size_bytes=MIB)
    engine.put(REGION, "clicks", [b"x" * 300_000] * 6)  # 1.8 MB
    # The 4th record would pass 1 MiB: the first three go, the rest waits for the interval.
    assert [len(body) for body in s3.objects.values()] == [900_000]
    assert _stats(engine)["buffered_records"] == 3
    engine.put(REGION, "clicks", [b"y" * (MIB - 900_000)])  # exactly full
    assert sorted(len(body) for body in s3.objects.values()) == [900_000, MIB]
    assert _stats(engine)["buffered_bytes"] == 0


def test_a_buffer_never_holds_more_than_the_size_hint():
    engine, s3 = _engine(size_bytes=MIB)
    for _ in range(20):
        engine.put(REGION, "clicks", [b"z" * 250_000])
        assert _stats(engine)["buffered_bytes"] <= MIB
    assert all(len(body) <= MIB for body in s3.objects.values())


def test_records_past_the_memory_budget_are_refused_then_taken_again():
    clock = FakeClock()
    engine, s3 = _engine(clock, held_limit=3 * (100 + RECORD_OVERHEAD))
    ids = engine.put(REGION, "clicks", [b"x" * 100] * 4)
    assert ids[3] is None and None not in ids[:3]
    assert engine.held == 3 * (100 + RECORD_OVERHEAD)
    clock.advance(60)
    engine.flush_due()
    assert engine.held == 0
    assert None not in engine.put(REGION, "clicks", [b"x" * 100])


def test_removing_a_stream_discards_its_buffer():
    clock = FakeClock()
    engine, s3 = _engine(clock)
    engine.put(REGION, "clicks", [b"a", b"b"])
    engine.remove(REGION, "clicks")
    assert engine.held == 0 and engine.stats() == []
    clock.advance(60)
    engine.flush_due()
    assert not s3.objects
    with pytest.raises(LookupError):
        engine.put(REGION, "clicks", [b"c"])


def test_an_update_delivers_the_buffer_as_it_was_buffered():
    clock = FakeClock()
    engine, s3 = _engine(clock)
    engine.put(REGION, "clicks", [b"old"])
    engine.update(REGION, "clicks", destination(prefix="new/"), "2")
    [old] = s3.keys()
    assert old.startswith("firehose/") and "/clicks-1-" in old
    engine.put(REGION, "clicks", [b"new"])
    clock.advance(60)
    engine.flush_due()
    [new] = s3.keys("new/")
    assert "/clicks-2-" in new and s3.objects[new] == b"new"
    assert _stats(engine)["version"] == "2"


def test_processing_results_are_counted():
    clock = FakeClock()
    engine, s3 = _engine(clock, processor=processor())
    engine.put(REGION, "clicks", [b"ok", b"drop", b"fail"])
    clock.advance(60)
    engine.flush_due()
    stats = _stats(engine)
    assert (stats["delivered_records"], stats["dropped_records"], stats["failed_records"]) == (
        1,
        1,
        1,
    )


def test_the_timer_thread_delivers_and_stops():
    s3 = FakeS3()
    engine = DeliveryEngine(Clock(scale=0.01), s3, FakeLambda())  # 60 s → the 1 s minimum
    engine.add(stream())
    engine.start()
    try:
        engine.put(REGION, "clicks", [b"timed"])
        wait_for(lambda: s3.objects, "the timer to deliver", timeout=5)
        assert list(s3.objects.values()) == [b"timed"]
        wait_for(lambda: _stats(engine)["delivered_objects"] == 1, "the count", timeout=2)
    finally:
        engine.stop()
    assert not engine._timer.is_alive()
    # Stopped: nothing more is buffered.
    assert engine.put(REGION, "clicks", [b"late"]) == [None]
