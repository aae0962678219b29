"""The service graph, computed from stored traces: a node per service (segments by name and
origin, inferred downstream services from ``aws``/``remote`` subsegments), a ``client`` node
for the calls nobody traced, and an edge per (caller, callee) — with X-Ray's statistics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .traces import CLIENT, Entity, ServiceKey, Trace


@dataclass
class Stats:
    """What a set of calls came to; calls still in progress are not counted."""

    ok: int = 0
    error: int = 0
    throttle: int = 0
    fault: int = 0
    total_time: float = 0.0
    times: Counter[float] = field(default_factory=Counter)
    start: float | None = None
    end: float | None = None

    def add(self, entity: Entity) -> None:
        duration, end = entity.duration, entity.end
        if duration is None or end is None:
            return
        setattr(self, entity.outcome, getattr(self, entity.outcome) + 1)
        self.total_time += duration
        self.times[round(duration, 3)] += 1
        self.start = entity.start if self.start is None else min(self.start, entity.start)
        self.end = end if self.end is None else max(self.end, end)

    @property
    def total(self) -> int:
        return self.ok + self.error + self.throttle + self.fault

    def to_api(self) -> dict[str, Any]:
        return {
            "OkCount": self.ok,
            "ErrorStatistics": {
                "ThrottleCount": self.throttle,
                "OtherCount": self.error,
                "TotalCount": self.error + self.throttle,
            },
            "FaultStatistics": {"OtherCount": self.fault, "TotalCount": self.fault},
            "TotalCount": self.total,
            "TotalResponseTime": round(self.total_time, 6),
        }

    def histogram(self) -> list[dict[str, Any]]:
        return [{"Value": value, "Count": count} for value, count in sorted(self.times.items())]


@dataclass
class _Node:
    key: ServiceKey
    stats: Stats = field(default_factory=Stats)
    edges: dict[ServiceKey, Stats] = field(default_factory=dict)
    root: bool = False


def service_graph(traces: list[Trace], account_id: str) -> list[dict[str, Any]]:
    """``Services`` as GetServiceGraph (and GetTraceGraph) return them."""
    nodes: dict[ServiceKey, _Node] = {}

    def node(key: ServiceKey) -> _Node:
        if key not in nodes:
            nodes[key] = _Node(key)
        return nodes[key]

    for trace in traces:
        if trace.root is None:
            continue  # nothing but subsegments yet: X-Ray shows no service for them
        for caller, callee in trace.calls():
            assert callee.service is not None
            node(caller)
            node(callee.service).stats.add(callee)
            nodes[caller].edges.setdefault(callee.service, Stats()).add(callee)
        if trace.root.service is not None:
            node(trace.root.service).root = True
    # The client first, as X-Ray lists it; then services as they were first seen.
    ordered = sorted(nodes.values(), key=lambda n: n.key != CLIENT)
    ids = {n.key: i for i, n in enumerate(ordered)}
    return [_node_to_api(n, ids, account_id) for n in ordered]


def _node_to_api(node: _Node, ids: dict[ServiceKey, int], account_id: str) -> dict[str, Any]:
    client = node.key == CLIENT
    edges = [
        {
            "ReferenceId": ids[callee],
            "StartTime": stats.start,
            "EndTime": stats.end,
            "SummaryStatistics": stats.to_api(),
            "ResponseTimeHistogram": stats.histogram(),
            "Aliases": [],
        }
        for callee, stats in node.edges.items()
    ]
    answer: dict[str, Any] = {
        "ReferenceId": ids[node.key],
        **node.key.to_api(None if client else account_id),
        "State": "unknown" if client else "active",
        "Edges": edges,
    }
    span = node.stats if not client else _span([e for e in node.edges.values()])
    if span.start is not None:
        answer["StartTime"], answer["EndTime"] = span.start, span.end
    if node.root:
        answer["Root"] = True
    if not client:
        answer["SummaryStatistics"] = node.stats.to_api()
        answer["DurationHistogram"] = node.stats.histogram()
        answer["ResponseTimeHistogram"] = node.stats.histogram()
    return answer


def _span(stats: list[Stats]) -> Stats:
    starts = [s.start for s in stats if s.start is not None]
    ends = [s.end for s in stats if s.end is not None]
    return Stats(start=min(starts, default=None), end=max(ends, default=None))
