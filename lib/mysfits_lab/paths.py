"""Where the project keeps its files: assets, data, per-learner state and executed notebooks."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds assets/, data/ and notebooks/ (override: MYSFITS_LAB_ROOT)."""
    override = os.environ.get("MYSFITS_LAB_ROOT")
    return Path(override) if override else Path(__file__).resolve().parents[2]


def lab_home() -> Path:
    """Root of all mutable lab state (override: MYSFITS_LAB_HOME, used by tests and batches)."""
    override = os.environ.get("MYSFITS_LAB_HOME")
    return Path(override) if override else project_root() / ".lab"


def cloud_dir() -> Path:
    """State of the embedded local cloud: pid, ports, instance id, logs."""
    return lab_home() / "cloud"


def learner_dir(learner: str) -> Path:
    return lab_home() / learner


def runs_dir() -> Path:
    override = os.environ.get("MYSFITS_LAB_RUNS")
    return Path(override) if override else project_root() / "runs"


def assets_dir() -> Path:
    return project_root() / "assets"


def data_dir() -> Path:
    return project_root() / "data"


def notebooks_dir() -> Path:
    """The workbook (override: MYSFITS_LAB_NOTEBOOKS, e.g. an instructor's adapted copy)."""
    override = os.environ.get("MYSFITS_LAB_NOTEBOOKS")
    return Path(override) if override else project_root() / "notebooks"
