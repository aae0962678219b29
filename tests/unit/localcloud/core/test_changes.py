"""Change notices: a poller wakes as soon as something changed after what it has seen."""

from __future__ import annotations

import threading
import time

from mysfits_lab.localcloud.core.changes import Changes


def test_a_change_made_before_the_wait_ends_it_at_once():
    changes = Changes()
    seen = changes.count()
    changes.notify()
    started = time.monotonic()
    assert changes.wait(seen, 5.0) is True
    assert time.monotonic() - started < 0.5
    assert changes.wait(changes.count(), 0.05) is False  # nothing new since


def test_a_waiter_wakes_when_another_thread_announces_a_change():
    changes = Changes()
    seen = changes.count()
    threading.Timer(0.05, changes.notify).start()
    started = time.monotonic()
    assert changes.wait(seen, 5.0) is True
    assert time.monotonic() - started < 1.0
