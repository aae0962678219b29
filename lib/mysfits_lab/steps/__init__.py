"""One module per workshop module: idempotent get-or-create steps that notebooks call.

Each module offers ``build(lab)`` (everything the notebook builds, returning the recorded
outputs), ``is_built(lab)`` and ``teardown(lab)``; ``Lab.prepare`` uses the first two to give a
learner who skips ahead what the earlier modules would have built.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

# Notebook → the step module that implements it.
STEP_MODULES: dict[str, str] = {
    "01-static-site": "website",
    "02a-service": "service",
    "07-recommendations": "recommendations",
}

# Notebook → the earlier notebooks whose resources it needs.
PREREQUISITES: dict[str, list[str]] = {
    "00-setup": [],
    "01-static-site": [],
    "02a-service": ["01-static-site"],
    "07-recommendations": [],
}


def builder(module: str) -> tuple[Callable[[Any], dict], Callable[[Any], bool]]:
    steps = import_module(f"{__name__}.{STEP_MODULES[module]}")
    return steps.build, steps.is_built
