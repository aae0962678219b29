"""Run the benchmarks and print their figures: `python -m benchmarks [name ...]`."""

from __future__ import annotations

import importlib
import sys
import time

SUITES = [
    "workbook",
    "service",
    "api",
    "clicks",
    "questions",
    "pipeline",
    "health",
    "recommender",
    "lambda_invoke",
]


def main(argv: list[str]) -> int:
    chosen = argv or SUITES
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        started = time.monotonic()
        figures = importlib.import_module(f"benchmarks.{name}").run()
        width = max(len(label) for label, _ in figures)
        for label, value in figures:
            print(f"  {label.ljust(width)}  {value}")
        print(f"  ({name} took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
