"""The one headless Chromium of a test session (Debian's, driven by Playwright).

Session-scoped fixtures must be defined once for the whole session: a second copy (a conftest
importing them) would start a second Playwright while the first one's loop is still current.
The root conftest imports these, so the browser and security tests share one browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.availability import browser_unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_CHROMIUM = (
    "/usr/bin/chromium is not installed. Install Debian's browser with `apt-get install chromium` "
    "(do not let Playwright download one: there is no internet)."
)
MISSING_PLAYWRIGHT = "playwright is not installed: pip install -e '.[dev]'"


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of the system Chromium."""
    if not CHROMIUM.exists():
        browser_unavailable(MISSING_CHROMIUM)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[object]:
    """One headless Chromium for the whole session."""
    try:
        from playwright import sync_api
    except ImportError:
        browser_unavailable(MISSING_PLAYWRIGHT)
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
