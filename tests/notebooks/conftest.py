"""Fixtures for the notebook tests: one workbook run on a fresh local cloud for this folder.

Every test here runs notebooks, so each carries the ``notebook`` marker and
``pytest -m "not notebook"`` leaves this folder out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mysfits_lab.runner import RunResult, run_notebooks
from tests.helpers import free_port

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.notebook)


@pytest.fixture(scope="package")
def executed_workbook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunResult]:
    """The whole workbook executed once by papermill; its notebooks stay in ``result.folder``.

    The cloud and its home outlive the run, so tests can rerun notebooks against it; the
    environment points at them until the last test of this folder has run.
    """
    from mysfits_lab.localcloud import control

    home = tmp_path_factory.mktemp("workbook-home")
    environment = {
        "MYSFITS_LAB_HOME": str(home),
        "MYSFITS_LAB_EDGE_PORT": str(free_port()),
        "MYSFITS_LAB_RUNS": str(home / "runs"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        try:
            control.up()
            yield run_notebooks()
        finally:
            control.down()
