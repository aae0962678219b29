"""Learner, target and region, set once in ``<lab home>/settings.json``.

``mysfits-lab settings`` shows and changes them. ``Lab.connect`` and ``mysfits-lab run`` take
every value they are not given from here, so a notebook's parameters cell can say ``None``;
explicit arguments (and papermill parameters) win over the file, the file over the defaults.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .lab import DEFAULT_LEARNER, LabError, validate_learner, validate_region, validate_target
from .paths import lab_home


@dataclass(frozen=True)
class Settings:
    learner: str = DEFAULT_LEARNER
    target: str = "local"
    region: str = "us-east-1"


NAMES = tuple(Settings.__dataclass_fields__)
_VALIDATORS: dict[str, Callable[[str], str]] = {
    "learner": validate_learner,
    "target": validate_target,
    "region": validate_region,
}


def settings_file() -> Path:
    return lab_home() / "settings.json"


def stored() -> dict[str, str]:
    """What the settings file sets; nothing when there is no file."""
    path = settings_file()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise LabError(
            f"{path} is not valid JSON ({exc}); fix it, or delete it to go back to the defaults"
        ) from exc
    if not isinstance(data, dict):
        raise LabError(f"{path} must hold a JSON object like {json.dumps(asdict(Settings()))}")
    return {name: data[name] for name in NAMES if name in data}


def _validate(values: dict[str, Any], from_file: set[str]) -> Settings:
    for name in NAMES:
        try:
            _VALIDATORS[name](values[name])
        except LabError as exc:
            if name not in from_file:
                raise
            # Say where a bad value comes from, or the learner looks for it in the notebook.
            raise LabError(
                f"{exc} — set in {settings_file()}; change it with "
                f"`mysfits-lab settings --{name} <{name}>`"
            ) from None
    return Settings(**values)


def resolve(
    target: str | None = None, region: str | None = None, learner: str | None = None
) -> Settings:
    """The settings to use: explicit values, else the settings file, else the defaults."""
    explicit = {
        name: value
        for name, value in (("target", target), ("region", region), ("learner", learner))
        if value is not None
    }
    from_file = stored()
    values = asdict(Settings()) | from_file | explicit
    return _validate(values, set(from_file) - set(explicit))


def save(**changes: str | None) -> Settings:
    """Set some values in the settings file (after validating them); returns all the settings."""
    unknown = set(changes) - set(NAMES)
    if unknown:
        raise LabError(f"unknown settings {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}")
    previous = stored()
    given = {name: value for name, value in changes.items() if value is not None}
    kept = previous | given
    result = _validate(asdict(Settings()) | kept, set(previous) - set(given))
    path = settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a kernel reading the file at the same moment never sees half of it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(kept, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return result


def describe() -> list[dict[str, str]]:
    """One row per setting with its value and where it comes from: for ``mysfits-lab settings``."""
    from_file = stored()
    current = resolve()
    return [
        {
            "setting": name,
            "value": getattr(current, name),
            "from": str(settings_file()) if name in from_file else "default",
        }
        for name in NAMES
    ]
