"""Module 4 on the local cloud: the 04 steps' time, and GET /mysfits through the API stage
(API Gateway → VPC link → NLB → task) against the NLB directly."""

from __future__ import annotations

import os
import time

from benchmarks.common import isolated_cloud, percentile
from benchmarks.load import run_load, run_paced


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.steps import api

    figures = []
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    with isolated_cloud():
        lab = Lab.connect()
        lab.prepare("04-users-api")  # modules 01 to 03
        started = time.monotonic()
        api.build(lab)
        figures.append(
            (
                "04 steps on local (pool, client, VPC link, API, stage)",
                f"{time.monotonic() - started:.1f} s",
            )
        )
        started = time.monotonic()
        api.build(lab)
        figures.append(("04 steps again (idempotent rerun)", f"{time.monotonic() - started:.1f} s"))

        through_api = f"{lab.outputs.get('api.url')}/mysfits"
        direct = f"{lab.outputs.get('service.url')}/mysfits"
        run_load(through_api, clients=8, total=400)  # warm both paths
        gateway = run_load(through_api)
        nlb = run_load(direct)
        figures.append(("GET /mysfits via the API stage, 32 clients", gateway.summary()))
        figures.append(("GET /mysfits via the NLB directly, 32 clients", nlb.summary()))
        figures.append(("API throughput / NLB", f"{gateway.rps / nlb.rps:.2f}"))
        ratio = percentile(gateway.latencies_ms, 50) / percentile(nlb.latencies_ms, 50)
        figures.append(("API p50 latency / NLB", f"{ratio:.2f}"))
        paced = run_paced(through_api, rate=200, seconds=10)
        figures.append(("GET /mysfits via the API stage at 200 req/s", paced.summary()))
    if saved_endpoint is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return figures
