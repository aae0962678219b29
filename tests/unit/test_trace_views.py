"""Module 6's trace views over a fake X-Ray client: the service map's picture and the rows of
the traces table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Wedge

from mysfits_lab.localcloud.services.xray.graph import service_graph
from mysfits_lab.localcloud.services.xray.summaries import summary
from mysfits_lab.views.traces import OUTCOME_COLOURS, service_map, trace_rows
from tests.unit.localcloud.services.xray.samples import (
    API,
    FUNCTION,
    T0,
    post_question,
    process_stream,
    trace,
)

TRACES = [
    trace(post_question(1)),
    trace(post_question(2, fault=True)),
    trace(process_stream(3, throttle=True)),
]


class FakeXRay:
    """Answers as boto3 does (times as datetimes), in two pages each."""

    def __init__(self, services: list[dict] | None = None):
        self.services = service_graph(TRACES, "123456789012") if services is None else services
        self.summaries = [summary(t, "123456789012") for t in TRACES]
        for item in self.summaries:
            item["StartTime"] = datetime.fromtimestamp(item["StartTime"], UTC)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_service_graph(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("graph", kwargs))
        if "NextToken" in kwargs:
            return {"Services": self.services[2:]}
        return {"Services": self.services[:2], "NextToken": "page-2"}

    def get_trace_summaries(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("summaries", kwargs))
        if "NextToken" in kwargs:
            return {"TraceSummaries": self.summaries[1:]}
        return {"TraceSummaries": self.summaries[:1], "NextToken": "page-2"}


def texts(figure: Figure) -> str:
    return "\n".join(t.get_text() for ax in figure.axes for t in ax.texts)


def ring(figure: Figure, kind: str) -> dict[int, Wedge]:
    return {
        int(p.get_gid().split(":")[1]): p
        for ax in figure.axes
        for p in ax.patches
        if isinstance(p, Wedge) and (p.get_gid() or "").startswith(f"{kind}:")
    }


def test_the_service_map_draws_every_node_and_rings_faults_in_red():
    xray = FakeXRay()
    start, end = datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 60, UTC)
    figure = service_map(xray, start, end)
    assert isinstance(figure, Figure)
    assert [c[0] for c in xray.calls] == ["graph", "graph"]  # both pages read
    assert xray.calls[0][1] == {"StartTime": start, "EndTime": end}
    shown = texts(figure)
    for service in xray.services:
        assert service["Name"] in shown
    assert "Lambda::Function" in shown and "client" in shown
    faults = ring(figure, "fault")
    by_name = {(s["Name"], s.get("Type")): s["ReferenceId"] for s in xray.services}
    faulted = {
        by_name[(API, "AWS::ApiGateway::Stage")],
        by_name[(FUNCTION, "AWS::Lambda")],
        by_name[(FUNCTION, "AWS::Lambda::Function")],
    }
    assert set(faults) == faulted
    for wedge in faults.values():
        assert wedge.get_facecolor() == to_rgba(OUTCOME_COLOURS["fault"])
    api = faults[by_name[(API, "AWS::ApiGateway::Stage")]]
    assert abs(api.theta2 - api.theta1) == 180  # one request of two
    assert by_name[("DynamoDB", "AWS::DynamoDB::Table")] in ring(figure, "ok")
    assert by_name[("SNS", "AWS::SNS")] in ring(figure, "throttle")
    arrows = [p for ax in figure.axes for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == sum(len(s["Edges"]) for s in xray.services)
    figure.canvas.draw()  # it renders


def test_an_empty_graph_says_so():
    figure = service_map(FakeXRay(services=[]), T0, T0 + 60)
    assert "no traces" in texts(figure)


def test_trace_rows_are_newest_first_with_their_outcome():
    xray = FakeXRay()
    rows = trace_rows(xray, T0, T0 + 60, filter_expression="responsetime > 0")
    assert [c for c in xray.calls if c[0] == "summaries"][0][1] == {
        "StartTime": T0,
        "EndTime": T0 + 60,
        "FilterExpression": "responsetime > 0",
    }
    assert [r["status"] for r in rows] == ["throttle", "fault", "ok"]
    throttled, failed, ok = rows
    assert set(failed) == {"id", "when", "duration s", "status", "http", "services"}
    assert failed["when"] == "2026-01-01 00:00:20"
    assert failed["duration s"] == 5.2
    assert failed["http"] == "POST https://api.local/prod/questions → 502"
    assert failed["services"] == f"{API}, {FUNCTION}"
    assert ok["services"] == f"{API}, {FUNCTION}, DynamoDB, SNS"
    assert throttled["http"] == ""


def test_without_a_filter_none_is_sent():
    xray = FakeXRay()
    trace_rows(xray, T0, T0 + 60)
    assert "FilterExpression" not in xray.calls[0][1]
