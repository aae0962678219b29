"""An instructor's batch on the local cloud: 8 learners, 4 at a time, each torn down after its
run — wall time, per-learner median, the local cloud's peak memory; then one learner's
teardown time on its own."""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import threading
import time

from benchmarks.common import isolated_cloud, rss_mib

LEARNERS = 8
PARALLEL = 4


def _peak_memory(pid: int, stop: threading.Event, peak: list[float]) -> None:
    while not stop.wait(1.0):
        peak[0] = max(peak[0], rss_mib(pid))


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.localcloud import control
    from mysfits_lab.runner import run_notebooks
    from mysfits_lab.steps import teardown

    figures = []
    with isolated_cloud() as home:
        status = control.up()
        stop, peak = threading.Event(), [0.0]
        watcher = threading.Thread(target=_peak_memory, args=(status.pid, stop, peak), daemon=True)
        watcher.start()
        out = home / "batch"
        started = time.monotonic()
        command = [sys.executable, "-m", "mysfits_lab.cli", "batch", "--learners", str(LEARNERS)]
        command += ["--parallel", str(PARALLEL), "--teardown", "--out", str(out)]
        code = subprocess.run(command, capture_output=True, text=True).returncode
        wall = time.monotonic() - started
        stop.set()
        with open(out / "report.csv", newline="") as report:
            rows = list(csv.DictReader(report))
        per_learner: dict[str, float] = {}
        for row in rows:
            per_learner[row["learner"]] = per_learner.get(row["learner"], 0.0) + float(
                row["seconds"] or 0
            )
        failed = sorted({r["learner"] for r in rows if r["status"] != "ok"})
        for row in rows:
            if row["status"] == "failed":
                print(f"  {row['learner']} {row['notebook']}: {row.get('error', '')}")
        figures.append(
            (
                f"batch --learners {LEARNERS} --parallel {PARALLEL} --teardown",
                f"{wall:.0f} s wall, exit {code}, {len(failed)} learners failed",
            )
        )
        figures.append(
            (
                "  median notebook time per learner",
                f"{statistics.median(per_learner.values()):.0f} s",
            )
        )
        figures.append(("  local cloud peak resident memory", f"{peak[0]:.0f} MiB"))

        result = run_notebooks(learner="solo")
        figures.append(
            ("whole workbook for one learner", f"{sum(r.seconds for r in result.runs):.0f} s")
        )
        lab = Lab.connect(learner="solo")
        started = time.monotonic()
        teardown.teardown(lab)
        left = len(teardown.inventory(lab))
        figures.append(
            ("teardown of one learner", f"{time.monotonic() - started:.1f} s, {left} left")
        )
    return figures
