"""Browser tests skip loudly where Chromium is missing, and fail where CI requires them."""

import pytest

from tests.browser.availability import REQUIRE_BROWSER, browser_unavailable


def test_browser_tests_skip_loudly_by_default(monkeypatch):
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with (
        pytest.warns(pytest.PytestWarning, match="BROWSER TESTS SKIPPED: no chromium"),
        pytest.raises(pytest.skip.Exception),
    ):
        browser_unavailable("no chromium")


def test_browser_tests_fail_where_they_are_required(monkeypatch):
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="CANNOT RUN .*: no chromium"):
        browser_unavailable("no chromium")
