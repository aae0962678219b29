"""Module 6 on the local cloud: the 06 steps' time; seconds from ``POST /questions`` to the
staff's email in the outbox; questions per second with none lost."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import isolated_cloud, percentile


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab, outbox
    from mysfits_lab.steps import questions

    figures = []
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    with isolated_cloud():
        lab = Lab.connect()
        lab.prepare("06-questions")  # modules 01 to 03
        started = time.monotonic()
        questions.build(lab)
        figures.append(("06 steps on local", f"{time.monotonic() - started:.1f} s"))
        staff = lab.outputs.get("questions.admin_email")

        # One at a time: how long until the email is in the outbox.
        delays = []
        for n in range(100):
            marker = f"latency-{n}-{time.time()}"
            sent = time.monotonic()
            assert questions.ask(lab, "bench@example.com", marker).status_code == 200
            while not any(marker in m["body"] for m in outbox.messages(lab.endpoint_url, staff)):
                time.sleep(0.01)
            delays.append(time.monotonic() - sent)
        figures.append(
            (
                "POST /questions → email in the outbox (100, one at a time)",
                f"p50 {percentile(delays, 50):.2f} s, p99 {percentile(delays, 99):.2f} s",
            )
        )

        # A burst: 200 questions from 16 clients; every one must arrive.
        tag = f"burst-{time.time()}"
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(
                    lambda i: questions.ask(lab, "bench@example.com", f"{tag} #{i}").status_code,
                    range(200),
                )
            )
        accepted = time.monotonic() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            arrived = sum(tag in m["body"] for m in outbox.messages(lab.endpoint_url, staff))
            if arrived >= 200:
                break
            time.sleep(0.2)
        delivered = time.monotonic() - started
        figures.append(
            (
                "200 questions from 16 clients",
                f"{200 / accepted:.0f} questions/s accepted, {codes.count(200)} answered 200, "
                f"{arrived} emailed ({200 - arrived} lost), all within {delivered:.1f} s",
            )
        )
    if saved_endpoint is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return figures
