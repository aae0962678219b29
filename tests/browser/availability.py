"""What the browser tests do when they cannot run: skip loudly, or fail where they must run."""

from __future__ import annotations

import os
import warnings

import pytest

REQUIRE_BROWSER = "MYSFITS_LAB_REQUIRE_BROWSER"


def browser_unavailable(reason: str) -> None:
    """Fail when the environment requires the browser tests (``.ci/run``), else skip loudly."""
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"BROWSER TESTS CANNOT RUN ({REQUIRE_BROWSER}=1): {reason}", pytrace=False)
    message = f"!!! BROWSER TESTS SKIPPED: {reason} !!!"
    # A skip alone hides in the summary unless -rs is given; the warning always shows.
    warnings.warn(message, pytest.PytestWarning, stacklevel=2)
    pytest.skip(message)
