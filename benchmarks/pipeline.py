"""Module 2b on the local cloud: seconds from a source upload to the change served through the
network load balancer, and to the end of the release (old tasks drained)."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import threading
import time

import requests

from benchmarks.common import isolated_cloud

RELEASES = 5
MYSFIT = "Evangeline"


def _first_served(url: str, age: int, started: float, seen: list[float], stop: threading.Event):
    """Poll the NLB until it answers with the new age; the seconds since ``started``."""
    while not stop.is_set():
        try:
            mysfits = requests.get(f"{url}/mysfits", timeout=5).json()["mysfits"]
            if any(m["name"] == MYSFIT and m["age"] == age for m in mysfits):
                seen.append(time.monotonic() - started)
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        stop.wait(0.02)


def _spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.1f} s, min {min(values):.1f} s, "
        f"max {max(values):.1f} s ({len(values)} releases)"
    )


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.steps import pipeline, service, website

    figures = []
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    with isolated_cloud():
        lab = Lab.connect()
        website.build(lab)
        service.build(lab, desired_count=1)
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):  # the build logs
            pipeline.build(lab)
        figures.append(
            (
                "02b steps on local (buckets, project, pipeline, first release)",
                f"{time.monotonic() - started:.1f} s",
            )
        )
        url = lab.outputs.get("service.url")
        served, released = [], []
        for age in range(44, 44 + RELEASES):
            change = pipeline.mysfit_change(lab, MYSFIT, age=age)
            stop = threading.Event()
            started = time.monotonic()
            poller = threading.Thread(target=_first_served, args=(url, age, started, served, stop))
            poller.start()
            with contextlib.redirect_stdout(io.StringIO()):
                pipeline.wait_for_release(lab, pipeline.push_source(lab, change))
            released.append(time.monotonic() - started)
            poller.join(timeout=30)
            stop.set()
        figures.append(("upload → change served through the NLB", _spread(served)))
        figures.append(("upload → release complete (old tasks drained)", _spread(released)))
    if saved_endpoint is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return figures
