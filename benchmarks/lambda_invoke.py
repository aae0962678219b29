"""Lambda on the local cloud: how long a cold start takes, and warm invocations through the edge
(boto3 ``invoke``, 500 calls one after the other). Goals: warm p99 <= 10 ms, cold start <= 300 ms.

The cloud runs in its own process with the Lambda provider only (``MYSFITS_LAB_PROVIDERS``), as
``mysfits-lab cloud up`` starts it, so the client's time is not the server's.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import os
import re
import statistics
import time
import zipfile

from benchmarks.common import isolated_cloud, percentile, wait_until_warm

WARM_CALLS = 500
COLD_STARTS = 7
HANDLER = """
def handler(event, context):
    return {"echo": event, "request": context.aws_request_id}
"""


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def _timed_invoke(lam, payload: bytes, tail: bool = False) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = lam.invoke(FunctionName="bench", Payload=payload, LogType="Tail" if tail else "None")
    answer["Payload"].read()
    return (time.perf_counter() - started) * 1000, answer


def run() -> list[tuple[str, str]]:
    import boto3

    from mysfits_lab.localcloud import control
    from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS

    figures: list[tuple[str, str]] = []
    saved = os.environ.get("MYSFITS_LAB_PROVIDERS")
    os.environ["MYSFITS_LAB_PROVIDERS"] = "lambda"
    try:
        with isolated_cloud():
            edge = control.up().edge_url
            wait_until_warm(edge)

            def client(service: str):
                return boto3.client(
                    service, endpoint_url=edge, region_name="us-east-1", **DUMMY_CREDENTIALS
                )

            lam = client("lambda")
            role = client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")
            lam.create_function(
                FunctionName="bench",
                Runtime="python3.12",
                Role=role["Role"]["Arn"],
                Handler="app.handler",
                Code={"ZipFile": _code()},
            )
            lam.get_waiter("function_active_v2").wait(
                FunctionName="bench", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
            )
            payload = json.dumps({"mysfit": "Twilight Glitter"}).encode()

            colds, inits = [], []
            for round_ in range(COLD_STARTS):
                if round_:  # a configuration change recycles the worker: the next call is cold
                    lam.update_function_configuration(
                        FunctionName="bench", Environment={"Variables": {"ROUND": str(round_)}}
                    )
                    lam.get_waiter("function_updated_v2").wait(
                        FunctionName="bench", WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
                    )
                elapsed, answer = _timed_invoke(lam, payload, tail=True)
                colds.append(elapsed)
                log = base64.b64decode(answer["LogResult"]).decode()
                init = re.search(r"Init Duration: ([\d.]+) ms", log)
                inits.append(float(init.group(1)) if init else float("nan"))

            for _ in range(20):  # warm-up of the client's connection pool
                _timed_invoke(lam, payload)
            # The client's own full collections (boto3's models) would be timed otherwise.
            gc.collect()
            gc.freeze()
            warm = [_timed_invoke(lam, payload)[0] for _ in range(WARM_CALLS)]
            baseline = []  # the same path without a function: a call moto answers alone
            for _ in range(WARM_CALLS):
                started = time.perf_counter()
                lam.get_function_concurrency(FunctionName="bench")
                baseline.append((time.perf_counter() - started) * 1000)
    finally:
        if saved is None:
            os.environ.pop("MYSFITS_LAB_PROVIDERS", None)
        else:
            os.environ["MYSFITS_LAB_PROVIDERS"] = saved

    cold = statistics.median(colds)
    p50, p99 = percentile(warm, 50), percentile(warm, 99)
    figures.append(
        (
            f"cold start (first invoke after an update, median of {COLD_STARTS})",
            f"{cold:.0f} ms (min {min(colds):.0f}, max {max(colds):.0f}; "
            f"function init {statistics.median(inits):.1f} ms) — goal <= 300 ms: "
            f"{'met' if cold <= 300 else 'MISSED'}",
        )
    )
    figures.append(
        (
            f"warm invoke through the edge ({WARM_CALLS} calls)",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(warm):.1f} ms — goal p99 <= 10 ms: "
            f"{'met' if p99 <= 10 else 'MISSED'}",
        )
    )
    figures.append(
        (
            f"baseline: GetFunctionConcurrency through the edge ({WARM_CALLS} calls)",
            f"p50 {percentile(baseline, 50):.1f} ms, p99 {percentile(baseline, 99):.1f} ms",
        )
    )
    return figures
