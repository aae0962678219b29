"""A module's check as a list of expectations, each met or not: what a check cell shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Checklist:
    rows: list[dict[str, Any]]  # {"what": ..., "as expected": bool}
    success: str  # the summary when every row is as expected

    @property
    def ok(self) -> bool:
        return all(r["as expected"] for r in self.rows)

    def summary(self) -> str:
        if self.ok:
            return self.success
        return "NOT OK: " + "; ".join(r["what"] for r in self.rows if not r["as expected"])
