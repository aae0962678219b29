"""A bounded HTTP load generator for loopback targets: N clients, M requests, latencies."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests

from benchmarks.common import percentile


@dataclass
class LoadResult:
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def summary(self) -> str:
        return (
            f"{self.rps:7.0f} req/s, p50 {percentile(self.latencies_ms, 50):6.1f} ms, "
            f"p99 {percentile(self.latencies_ms, 99):6.1f} ms, {self.failures} failed "
            f"({self.requests} requests)"
        )


def _client_process(url: str, threads: int, per_thread: int, timeout: float) -> tuple:
    """One load process: ``threads`` keep-alive clients; returns (start, end, latencies, failed)."""
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()

    def client() -> None:
        mine, bad = [], 0
        with requests.Session() as session:
            for _ in range(per_thread):
                began = time.perf_counter()
                try:
                    ok = session.get(url, timeout=timeout).status_code == 200
                except requests.RequestException:
                    ok = False
                mine.append((time.perf_counter() - began) * 1000)
                bad += not ok
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    workers = [threading.Thread(target=client) for _ in range(threads)]
    start = time.time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return start, time.time(), latencies, failed[0]


def run_load(
    url: str, clients: int = 32, total: int = 3200, processes: int = 4, timeout: float = 10.0
) -> LoadResult:
    """``total`` GETs of ``url`` by ``clients`` concurrent clients spread over processes, so
    the Python client is less of a bottleneck than a single process would be."""
    from concurrent.futures import ProcessPoolExecutor

    per_process = clients // processes
    per_thread = total // clients
    with ProcessPoolExecutor(processes) as pool:
        parts = list(
            pool.map(
                _client_process,
                [url] * processes,
                [per_process] * processes,
                [per_thread] * processes,
                [timeout] * processes,
            )
        )
    began = min(p[0] for p in parts)
    ended = max(p[1] for p in parts)
    flat = [value for part in parts for value in part[2]]
    return LoadResult(len(flat), sum(p[3] for p in parts), ended - began, flat)


def run_paced(
    url: str, rate: float = 200.0, seconds: float = 10.0, workers: int = 32
) -> LoadResult:
    """GETs of ``url`` sent at a steady ``rate`` per second for ``seconds`` (an open loop: a
    request's latency counts from when it was due, so a stalled server shows in the figures)."""
    total = int(rate * seconds)
    due = [i / rate for i in range(total)]
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    next_index = [0]
    start = time.perf_counter() + 0.2

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    index = next_index[0]
                    next_index[0] += 1
                if index >= total:
                    return
                when = start + due[index]
                pause = when - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                try:
                    ok = session.get(url, timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                took = (time.perf_counter() - when) * 1000
                with lock:
                    latencies.append(took)
                    failed[0] += not ok

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(len(latencies), failed[0], time.perf_counter() - start, latencies)
