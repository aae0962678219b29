"""The security tests' browser comes from the browser tests' fixtures: Debian's Chromium driven
by Playwright, and tiny local servers."""

from tests.browser.conftest import (  # noqa: F401 - fixtures, found by name
    console_errors,
    offsite_requests,
    page,
    serve,
)
