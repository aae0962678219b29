"""Module 0: connect, check the target answers, and show the plan of the workbook."""

from __future__ import annotations

from typing import Any

from ..lab import Lab
from ..workbook import MODULES
from . import builder

MODULE = "00-setup"


def check(lab: Lab) -> str:
    """Prove the target answers: who we are, and that S3 lists buckets."""
    identity = lab.client("sts").get_caller_identity()
    lab.client("s3").list_buckets()
    return (
        f"Connected to {lab.where} in {lab.region} as account {identity['Account']}; "
        f"learner '{lab.learner}' is ready."
    )


def plan(lab: Lab) -> list[dict[str, Any]]:
    """What each later notebook builds, and whether this learner has built it yet."""
    rows = []
    for module in MODULES:
        if module.notebook == MODULE:
            continue
        if module.planned:
            status = "not in this workbook yet"
        elif module.steps:
            status = "built" if builder(module.notebook)[1](lab) else "to do"
        else:
            status = "to do"
        rows.append({"notebook": module.notebook, "builds": module.builds, "status": status})
    return rows
