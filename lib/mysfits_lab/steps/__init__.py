"""One module per workshop module: idempotent get-or-create steps that notebooks call.

Each module offers ``build(lab)`` (everything the notebook builds, returning the recorded
outputs), ``is_built(lab)`` and ``teardown(lab)``; ``Lab.prepare`` uses the first two to give a
learner who skips ahead what the earlier modules would have built. Which notebook a module
implements is a column of the workbook table (``mysfits_lab.workbook``).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from ..workbook import module


def builder(notebook: str) -> tuple[Callable[[Any], dict], Callable[[Any], bool]]:
    """``(build, is_built)`` of the step module that implements ``notebook``."""
    name = module(notebook).steps
    if name is None:
        raise KeyError(f"{notebook} has no step module to build it with")
    steps = import_module(f"{__name__}.{name}")
    return steps.build, steps.is_built
