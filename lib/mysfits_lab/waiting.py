"""Waiting for something to become true, with progress and a helpful timeout message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import show

T = TypeVar("T")
# Waits shorter than this show no progress at all: on the local cloud most are.
_QUIET_SECONDS = 2.0


class WaitTimeout(TimeoutError):
    pass


def wait_until(
    check: Callable[[], T | None],
    what: str,
    timeout: float,
    interval: float = 0.5,
    hint: str = "",
) -> T:
    """Call ``check`` until it returns something truthy; show elapsed time while waiting."""
    start = time.monotonic()
    bar: Any = None
    shown = 0
    last_error: Exception | None = None
    try:
        while True:
            try:
                result = check()
                last_error = None
            except Exception as exc:  # transient errors while a resource settles
                result, last_error = None, exc
            if result:
                return result
            elapsed = time.monotonic() - start
            if elapsed >= timeout:
                detail = f" (last error: {last_error})" if last_error else ""
                raise WaitTimeout(
                    f"{what} did not happen within {timeout:.0f}s{detail}. {hint}".strip()
                )
            if bar is None and elapsed >= _QUIET_SECONDS:
                bar = show.progress(total=int(timeout), desc=f"Waiting for {what}", unit="s")
            if bar is not None and int(elapsed) > shown:
                bar.update(int(elapsed) - shown)
                shown = int(elapsed)
            time.sleep(interval)
    finally:
        if bar is not None:
            bar.close()
