"""Fixtures for the image tests: an empty image store per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from mysfits_lab.localcloud.images.store import ImageStore


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")
