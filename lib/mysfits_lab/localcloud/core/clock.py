"""One clock for the local cloud: wall time for API timestamps, monotonic time for waits, and
the loopback time scale (a 10 s health-check interval on AWS is 1 s here).

The scale speeds up what AWS makes a user wait for. It must not shrink what guards against
slowness — how long to wait for an answer, how long to fail before being declared dead — below
what a busy laptop needs: such waits pass a ``minimum`` to ``scaled`` (the load balancer's
health checks: ``services/elb/models.py``).

Timeouts a user sets (a build's ``timeoutInMinutes``, a function's timeout) run in real time;
tests inject a ``Clock(timeout_scale=...)`` to shorten them instead of poking deadline fields of
running objects."""

from __future__ import annotations

import threading
import time

from ..constants import DEFAULT_TIME_SCALE


class Clock:
    def __init__(self, scale: float = DEFAULT_TIME_SCALE, timeout_scale: float = 1.0):
        if scale <= 0 or timeout_scale <= 0:
            raise ValueError(f"time scales must be positive (got {scale}, {timeout_scale})")
        self.scale = scale
        self.timeout_scale = timeout_scale

    def now(self) -> float:
        """Wall-clock seconds since the epoch (what the APIs report)."""
        return time.time()

    def epoch_millis(self) -> int:
        return int(self.now() * 1000)

    def monotonic(self) -> float:
        return time.monotonic()

    def scaled(self, aws_seconds: float, minimum: float = 0.0) -> float:
        """How long ``aws_seconds`` of AWS time lasts on loopback."""
        return max(minimum, aws_seconds * self.scale)

    def deadline(self, aws_seconds: float, minimum: float = 0.0) -> float:
        """A monotonic deadline ``aws_seconds`` of AWS time from now."""
        return self.monotonic() + self.scaled(aws_seconds, minimum)

    def timeout_deadline(self, seconds: float) -> float:
        """A monotonic deadline for a user-set timeout of ``seconds``."""
        return self.monotonic() + seconds * self.timeout_scale

    def wait(self, seconds: float, event: threading.Event | None = None) -> bool:
        """Sleep ``seconds`` (real time); return early, True, when ``event`` is set."""
        if event is None:
            time.sleep(max(0.0, seconds))
            return False
        return event.wait(max(0.0, seconds))
