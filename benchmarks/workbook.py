"""Local cloud start time and memory; whole-workbook wall time, per notebook."""

from __future__ import annotations

import time

from benchmarks.common import isolated_cloud, rss_mib


def run() -> list[tuple[str, str]]:
    from mysfits_lab.localcloud import control
    from mysfits_lab.runner import run_notebooks

    figures = []
    with isolated_cloud():
        started = time.monotonic()
        status = control.up()
        figures.append(
            ("local cloud start (until the edge answers)", f"{time.monotonic() - started:.2f} s")
        )
        figures.append(("local cloud resident memory, idle", f"{rss_mib(status.pid):.0f} MiB"))
        started = time.monotonic()
        result = run_notebooks()
        total = time.monotonic() - started
        for item in result.runs:
            figures.append((f"notebook {item.notebook}", f"{item.seconds:.1f} s ({item.status})"))
        figures.append(("whole workbook (papermill, all notebooks)", f"{total:.1f} s"))
        figures.append(
            (
                "local cloud resident memory after the workbook (incl. tasks)",
                f"{rss_mib(status.pid):.0f} MiB",
            )
        )
    return figures
