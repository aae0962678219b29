"""The outputs store: every value a module produces, recorded once, read by name later.

One JSON file per learner (``.lab/<learner>/outputs.json``). Each value remembers the notebook
that produced it and when, so a missing value can name the notebook to run. This is what
replaces every ``REPLACE_ME`` of the original workshop.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .workbook import producer


class MissingOutput(KeyError):
    """A value that an earlier notebook should have recorded is not there."""

    def __init__(self, key: str, learner: str):
        group = key.split(".", 1)[0]
        notebook = producer(group) or "the notebook that creates it"
        self.key, self.notebook = key, notebook
        super().__init__(
            f"run {notebook} first: {key} is missing from the outputs of learner '{learner}'"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class OutputsStore:
    """Values recorded by name (``group.name``) in one learner's JSON file."""

    def __init__(self, path: Path, learner: str):
        self.path = Path(path)
        self.learner = learner

    def _load(self) -> dict[str, dict[str, dict[str, Any]]]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text() or "{}")

    def _save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash or a parallel reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".outputs-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(tmp, self.path)

    @staticmethod
    def _split(key: str) -> tuple[str, str]:
        group, sep, name = key.partition(".")
        if not sep or not group or not name:
            raise ValueError(f"output names look like 'group.name', got {key!r}")
        return group, name

    def record(self, module: str, values: dict[str, Any]) -> dict[str, Any]:
        """Record several ``group.name`` values produced by ``module``; returns them."""
        data = self._load()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for key, value in values.items():
            group, name = self._split(key)
            data.setdefault(group, {})[name] = {"value": value, "module": module, "at": now}
        self._save(data)
        return dict(values)

    def get(self, key: str) -> Any:
        group, name = self._split(key)
        entry = self._load().get(group, {}).get(name)
        if entry is None:
            raise MissingOutput(key, self.learner)
        return entry["value"]

    def get_or(self, key: str, default: Any = None) -> Any:
        try:
            return self.get(key)
        except MissingOutput:
            return default

    def __contains__(self, key: str) -> bool:
        group, name = self._split(key)
        return name in self._load().get(group, {})

    def forget(self, *keys: str) -> None:
        data = self._load()
        for key in keys:
            group, name = self._split(key)
            data.get(group, {}).pop(name, None)
            if group in data and not data[group]:
                del data[group]
        self._save(data)

    def values(self) -> dict[str, dict[str, Any]]:
        """The store as ``{"group": {"name": value}}`` (the CLI's JSON shape)."""
        return {
            group: {name: entry["value"] for name, entry in names.items()}
            for group, names in sorted(self._load().items())
        }

    def entries(self) -> list[dict[str, Any]]:
        """One row per value, with its producer and time: for tables."""
        rows = []
        for group, names in sorted(self._load().items()):
            for name, entry in sorted(names.items()):
                rows.append(
                    {
                        "output": f"{group}.{name}",
                        "value": entry["value"],
                        "module": entry["module"],
                        "recorded": entry["at"],
                    }
                )
        return rows

    def archive(self) -> Path | None:
        """Move the file aside (kept for reference) and start empty."""
        if not self.path.exists():
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"outputs.stale-{stamp}.json")
        os.replace(self.path, target)
        return target
