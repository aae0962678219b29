"""Shared fixtures: a fresh local cloud per test module, and a Lab connected to it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysfits_lab.localcloud import control
from tests.browser.chromium import browser, chromium_executable  # noqa: F401 - fixtures
from tests.helpers import free_port

# Variables Lab.connect sets for SDKs; restored after each test so moto's in-process mocks in
# other tests are not pointed at a local cloud.
_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
)


class CloudHome:
    """A lab home directory with its own local cloud on its own port."""

    def __init__(self, home: Path):
        self.home = home
        self.port = free_port()
        self._saved: dict[str, str | None] = {}

    def activate(self) -> None:
        for key, value in {
            "MYSFITS_LAB_HOME": str(self.home),
            "MYSFITS_LAB_EDGE_PORT": str(self.port),
            "MYSFITS_LAB_RUNS": str(self.home / "runs"),
        }.items():
            self._saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def deactivate(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudHome]:
    home = CloudHome(tmp_path_factory.mktemp("lab-home"))
    home.activate()
    try:
        control.up()
        yield home
    finally:
        control.down()
        home.deactivate()


@pytest.fixture
def clean_aws_env() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _AWS_ENV}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def lab(cloud: CloudHome, clean_aws_env: None):
    from mysfits_lab import Lab

    return Lab.connect()


# `make test` runs two pytest-xdist workers. Each test module runs whole on one worker, so its
# module-scoped cloud starts once. The tests that run notebooks or drive Chromium form one unit,
# run first (the longest) and in their usual order: the executed workbook is built once, and no
# notebook's event loop is current in a process before Playwright runs there.
_CHROMIUM_AND_NOTEBOOKS = (
    "tests/security/test_browser_origins.py",
    "tests/browser/",
    "tests/notebooks/",
)


def _unit_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return "chromium-and-notebooks" if module.startswith(_CHROMIUM_AND_NOTEBOOKS) else module


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown when it is not loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit_of(nodeid)

    return ByModule(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the longest unit first
        items.sort(key=lambda item: _unit_of(item.nodeid) != "chromium-and-notebooks")
