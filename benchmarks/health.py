"""Health checks on a busy laptop: how soon a new task of module 2a is healthy, and what a
client sees while one of two tasks is frozen (SIGSTOP) for 5 s under ~200 requests/s.

``stall`` is also the scenario of ``tests/security/test_health_stall.py``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from benchmarks.common import isolated_cloud, percentile

MAX_IN_FLIGHT = 256  # more than a 5 s pause can hold at 200 requests/s through one of 2 tasks


@dataclass
class PacedResult:
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.latencies_ms)

    @property
    def slow(self) -> int:
        """Requests that took over a second: caught by a frozen target."""
        return sum(ms > 1000 for ms in self.latencies_ms)

    def summary(self) -> str:
        return (
            f"{len(self.failures)} failed of {self.total}; p50 "
            f"{percentile(self.latencies_ms, 50):.0f} ms, p99 "
            f"{percentile(self.latencies_ms, 99):.0f} ms, max {max(self.latencies_ms):.0f} ms, "
            f"{self.slow} took over 1 s"
        )


def paced_load(
    url: str,
    rate: float = 200.0,
    seconds: float = 10.0,
    timeout: float = 10.0,
    at: list[tuple[float, Callable[[], Any]]] | None = None,
) -> PacedResult:
    """GET ``url`` ``rate`` times a second for ``seconds``, each on a new connection (so the load
    balancer picks a target for every request), whatever earlier requests are doing: a request
    stuck on a frozen target does not hold the next one back. Latency counts from when the
    request was due. ``at``: (seconds from the start, action) run on the way."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    result = PacedResult()
    lock = threading.Lock()

    def one(due: float) -> None:
        error = None
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                error = f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            error = repr(exc)
        finally:
            connection.close()
        elapsed = (time.perf_counter() - due) * 1000
        with lock:
            result.latencies_ms.append(elapsed)
            if error:
                result.failures.append(error)

    actions = sorted(at or [], key=lambda item: item[0])
    with ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="load") as pool:
        start = time.perf_counter()
        for index in range(int(rate * seconds)):
            due = start + index / rate
            while actions and actions[0][0] <= due - start:
                actions.pop(0)[1]()
            time.sleep(max(0.0, due - time.perf_counter()))
            pool.submit(one, due)
        for _, action in actions:
            action()
    return result


def freeze(pid: int) -> None:
    """Pause a task's whole process group (its supervisor leads it), as ``docker pause`` would."""
    os.killpg(pid, signal.SIGSTOP)


def thaw(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # replaced (and killed) while frozen
        os.killpg(pid, signal.SIGCONT)


def stall(url: str, pid: int, pause: float = 5.0, seconds: float = 10.0) -> PacedResult:
    """~200 requests/s to ``url`` for ``seconds`` while the task ``pid`` is frozen for ``pause``
    seconds in the middle; the task is thawed whatever happens."""
    begin = (seconds - pause) / 2
    try:
        return paced_load(
            url,
            seconds=seconds,
            at=[(begin, lambda: freeze(pid)), (begin + pause, lambda: thaw(pid))],
        )
    finally:
        thaw(pid)


def running_tasks(control_get: Callable[[str], Any]) -> dict[str, int]:
    """task ARN → pid of every RUNNING task, from the ECS control route."""
    tasks = control_get("ecs")["tasks"]
    return {t["arn"]: t["pids"][0] for t in tasks if t["lastStatus"] == "RUNNING" and t["pids"]}


def time_to_healthy(
    lab: Any, target_group_arn: str, cluster: str, service: str
) -> tuple[float, float]:
    """Scale the service up by one; (UpdateService → the new target healthy, the new task's
    process start → healthy), in seconds, as DescribeTargetHealth shows it (polled each 50 ms)."""
    ecs, elbv2 = lab.client("ecs"), lab.client("elbv2")

    def healthy() -> set[tuple[str, int]]:
        described = elbv2.describe_target_health(TargetGroupArn=target_group_arn)
        return {
            (d["Target"]["Id"], d["Target"]["Port"])
            for d in described["TargetHealthDescriptions"]
            if d["TargetHealth"]["State"] == "healthy"
        }

    before = healthy()
    desired = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    started = time.monotonic()
    ecs.update_service(cluster=cluster, service=service, desiredCount=desired["desiredCount"] + 1)
    while len(healthy() - before) < 1:
        if time.monotonic() - started > 60:
            raise TimeoutError("the new task did not become healthy in 60 s")
        time.sleep(0.05)
    seen, seen_at = time.monotonic(), time.time()
    arns = ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    newest = max(tasks, key=lambda t: t["createdAt"].timestamp())
    launched = newest["connectivityAt"].timestamp()
    ecs.update_service(cluster=cluster, service=service, desiredCount=desired["desiredCount"])
    ecs.get_waiter("services_stable").wait(
        cluster=cluster, services=[service], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return seen - started, seen_at - launched


def run() -> list[tuple[str, str]]:
    from mysfits_lab import Lab
    from mysfits_lab.localcloud import control
    from mysfits_lab.steps import service

    figures = []
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    with isolated_cloud():
        lab = Lab.connect()
        service.build(lab, nat_gateways=0, desired_count=2)
        names = service.Names.of(lab)
        group = lab.outputs.get("service.target_group_arn")
        total, from_start = time_to_healthy(lab, group, names.cluster, names.service)
        figures.append(("new task: UpdateService → healthy", f"{total:.1f} s"))
        figures.append(("new task: process start → healthy", f"{from_start:.1f} s"))

        before = running_tasks(control.control_get)
        url = f"{lab.outputs.get('service.url')}/mysfits"
        stalled = stall(url, next(iter(before.values())))
        time.sleep(2)  # the scheduler would have acted by now
        after = running_tasks(control.control_get)
        figures.append(("2 tasks, one frozen 5 s, 200 req/s for 10 s", stalled.summary()))
        figures.append(("tasks replaced during the stall", str(len(set(before) - set(after)))))
    if saved_endpoint is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    return figures
