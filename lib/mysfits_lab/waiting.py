"""Waiting for something to become true, with progress and a helpful timeout message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from . import show
from .lab import LabError
from .outputs import MissingOutput

T = TypeVar("T")
# Waits shorter than this show no progress at all: on the local cloud most are.
_QUIET_SECONDS = 2.0
# What a check may raise while a resource settles: AWS errors, a connection refused or reset
# (requests' errors are OSErrors too), a describe call that does not list the resource yet.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, OSError, LookupError)
# What says it will never happen (a failed resource, a missing earlier module): fail fast.
FINAL_ERRORS: tuple[type[Exception], ...] = (LabError, MissingOutput)


class WaitTimeout(LabError, TimeoutError):
    pass


def wait_until(
    check: Callable[[], T | None],
    what: str,
    timeout: float,
    interval: float = 0.5,
    hint: str = "",
    progress: bool = True,
) -> T:
    """Call ``check`` until it returns something truthy; show elapsed time while waiting.

    Transient errors are retried (the last one is named on timeout); a ``LabError`` or
    ``MissingOutput`` from ``check`` means it will never happen, so it is raised at once.
    ``progress=False`` for checks that show progress of their own.
    """
    start = time.monotonic()
    bar: Any = None
    shown = 0
    last_error: Exception | None = None
    try:
        while True:
            try:
                result = check()
                last_error = None
            except FINAL_ERRORS:
                raise
            except TRANSIENT_ERRORS as exc:
                result, last_error = None, exc
            if result:
                return result
            elapsed = time.monotonic() - start
            if elapsed >= timeout:
                detail = f" (last error: {last_error})" if last_error else ""
                raise WaitTimeout(
                    f"{what} did not happen within {timeout:.0f}s{detail}. {hint}".strip()
                )
            if progress and bar is None and elapsed >= _QUIET_SECONDS:
                bar = show.progress(total=int(timeout), desc=f"Waiting for {what}", unit="s")
            if bar is not None and int(elapsed) > shown:
                bar.update(int(elapsed) - shown)
                shown = int(elapsed)
            time.sleep(interval)
    finally:
        if bar is not None:
            bar.close()
