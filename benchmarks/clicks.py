"""Module 5 on the local cloud: the 05 steps' time, and clicks per second through
``PUT /clicks`` → Firehose → the Lambda transform → S3, counting every click that lands."""

from __future__ import annotations

import os
import threading
import time

import requests

from benchmarks.common import isolated_cloud, percentile


def _send_paced(url: str, user: str, mysfit_ids: list[str], rate: float, seconds: float) -> tuple:
    """PUT clicks at a steady rate from a few keep-alive clients; (latencies ms, failures)."""
    total = int(rate * seconds)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    counter = [0]
    start = time.perf_counter() + 0.2

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    index = counter[0]
                    counter[0] += 1
                if index >= total:
                    return
                due = start + index / rate
                if due > time.perf_counter():
                    time.sleep(due - time.perf_counter())
                body = {"userId": user, "mysfitId": mysfit_ids[index % len(mysfit_ids)]}
                try:
                    ok = session.put(url, json=body, timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    latencies.append((time.perf_counter() - due) * 1000)
                    failures[0] += not ok

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0], total


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.steps import api, clicks

    figures = []
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    with isolated_cloud():
        lab = Lab.connect()
        lab.prepare("05-clickstream")  # modules 01 to 04
        started = time.monotonic()
        clicks.build(lab)
        figures.append(("05 steps on local", f"{time.monotonic() - started:.1f} s"))
        ids = [m["mysfitId"] for m in api.call(lab, "GET", "/mysfits").body["mysfits"]]
        url = f"{lab.outputs.get('clicks.url')}/clicks"
        for rate in (50, 200):
            user = f"bench-{rate}"
            latencies, failed, total = _send_paced(url, user, ids, rate, seconds=10)
            sent_at = time.monotonic()
            landed = clicks.wait_for_clicks(lab, user, total - failed)
            figures.append(
                (
                    f"PUT /clicks at {rate}/s for 10 s",
                    f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f}"
                    f" ms, {failed} refused",
                )
            )
            lost = total - failed - len(landed)
            figures.append(
                (
                    f"  enriched in S3 (of {total} sent)",
                    f"{len(landed)} landed, {lost} lost, all within "
                    f"{time.monotonic() - sent_at:.1f} s of the last PUT",
                )
            )
    if saved_endpoint is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return figures
