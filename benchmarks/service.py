"""Module 2a on the local cloud: build time, and GET /mysfits through the NLB vs one task."""

from __future__ import annotations

import os
import time

from benchmarks.common import isolated_cloud, percentile
from benchmarks.load import run_load


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.localcloud import control
    from mysfits_lab.steps import service, website

    figures = []
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    with isolated_cloud():
        lab = Lab.connect()
        website.build(lab)
        started = time.monotonic()
        service.build(lab, desired_count=1)
        figures.append(
            (
                "02a steps on local (stack, image build, service healthy)",
                f"{time.monotonic() - started:.1f} s",
            )
        )
        started = time.monotonic()
        service.build(lab, desired_count=1)
        figures.append(
            ("02a steps again (idempotent rerun)", f"{time.monotonic() - started:.1f} s")
        )

        nlb = f"{lab.outputs.get('service.url')}/mysfits"
        tasks = control.control_get("ecs")["tasks"]
        task = next(t for t in tasks if t["lastStatus"] == "RUNNING")
        address = task.get("address") or "127.0.0.1"  # each task has its own loopback address
        direct = f"http://{address}:{next(iter(task['ports'].values()))}/mysfits"
        run_load(nlb, clients=8, total=400)  # warm both paths
        through_nlb = run_load(nlb)
        to_task = run_load(direct)
        figures.append(("GET /mysfits via the NLB, 32 clients", through_nlb.summary()))
        figures.append(("GET /mysfits direct to one task, 32 clients", to_task.summary()))
        figures.append(("NLB throughput / direct", f"{through_nlb.rps / to_task.rps:.2f}"))
        p50_ratio = percentile(through_nlb.latencies_ms, 50) / percentile(to_task.latencies_ms, 50)
        figures.append(("NLB p50 latency / direct", f"{p50_ratio:.2f}"))
    if saved_endpoint is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return figures
