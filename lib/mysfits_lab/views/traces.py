"""Module 6's presentation of X-Ray: the service map as a picture and the traces as rows for
``show.table`` — both read through an X-Ray client, as the console reads them."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Patch, Wedge

# The ring around a node: the share of its requests that came to each outcome.
OUTCOME_COLOURS = {
    "ok": "#2ca02c",
    "error": "#ff9f1c",
    "throttle": "#9467bd",
    "fault": "#d62728",
}
RADIUS = 0.3
RING = 0.08
COLUMN, ROW = 3.2, 1.6  # between node centres, in the drawing's units (a node's radius: RADIUS)
INCHES_PER_UNIT = 0.85  # the drawing's scale: room for a function's name under its node
MAX_PAGES = 20  # of answers read: 2,000 traces are more than a table can show


def service_map(xray: Any, start: Any, end: Any, title: str = "Service map") -> Figure:
    """The service graph between ``start`` and ``end`` (datetimes or epoch seconds): a circle
    per service with its request count inside and a ring split by outcome (red: faults), an
    arrow per edge with its request count."""
    services = _graph(xray, start, end)
    places = _layout(services)
    xs = [p[0] for p in places.values()] or [0.0]
    ys = [p[1] for p in places.values()] or [0.0]
    width = max(6.0, (max(xs) - min(xs) + 2.0) * INCHES_PER_UNIT)
    height = max(3.5, (max(ys) - min(ys) + 2.0) * INCHES_PER_UNIT + 0.5)
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.88)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title, loc="left")
    if not services:
        ax.text(0.5, 0.5, "no traces in this time range", ha="center", va="center")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        return figure
    for service in services:
        for edge in service.get("Edges", []):
            if edge["ReferenceId"] in places:
                _arrow(ax, places[service["ReferenceId"]], places[edge["ReferenceId"]], edge)
    for service in services:
        _node(ax, service, places[service["ReferenceId"]])
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 1.0)
    ax.legend(
        handles=[Patch(color=colour, label=kind) for kind, colour in OUTCOME_COLOURS.items()],
        loc="upper right",
        ncols=len(OUTCOME_COLOURS),
        frameon=False,
        fontsize=8,
        title="share of requests",
        title_fontsize=8,
    )
    return figure


def trace_rows(
    xray: Any, start: Any, end: Any, filter_expression: str | None = None
) -> list[dict[str, Any]]:
    """The traces between ``start`` and ``end`` (newest first), optionally those a filter
    expression keeps (``fault``, ``responsetime > 1``, ``service("name")``...): one row each
    with its id, when it started, its duration, its outcome, the request and its services."""
    dated = []
    for summary in _summaries(xray, start, end, filter_expression):
        when = _started(summary)
        row = {
            "id": summary["Id"],
            "when": when.strftime("%Y-%m-%d %H:%M:%S") if when else "",
            "duration s": round(float(summary.get("Duration", 0.0)), 3),
            "status": _outcome(summary),
            "http": _request(summary.get("Http", {})),
            "services": ", ".join(
                dict.fromkeys(s.get("Name", "") for s in summary.get("ServiceIds", []))
            ),
        }
        dated.append((when or datetime.min.replace(tzinfo=UTC), row))
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [row for _, row in dated]


# -- reading the API --------------------------------------------------------------------------
def _graph(xray: Any, start: Any, end: Any) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = []
    token = None
    for _ in range(MAX_PAGES):
        page = xray.get_service_graph(
            StartTime=start, EndTime=end, **({"NextToken": token} if token else {})
        )
        services.extend(page.get("Services", []))
        token = page.get("NextToken")
        if not token:
            break
    return services


def _summaries(xray: Any, start: Any, end: Any, expression: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"StartTime": start, "EndTime": end}
    if expression:
        arguments["FilterExpression"] = expression
    for _ in range(MAX_PAGES):
        page = xray.get_trace_summaries(**arguments)
        found.extend(page.get("TraceSummaries", []))
        if not page.get("NextToken"):
            break
        arguments["NextToken"] = page["NextToken"]
    return found


def _started(summary: dict[str, Any]) -> datetime | None:
    start = summary.get("StartTime")
    if isinstance(start, datetime):
        return start if start.tzinfo else start.replace(tzinfo=UTC)
    if isinstance(start, int | float):
        return datetime.fromtimestamp(start, UTC)
    try:  # a trace id carries its start: 1-<epoch seconds in hex>-<random>
        return datetime.fromtimestamp(int(summary["Id"].split("-")[1], 16), UTC)
    except (KeyError, IndexError, ValueError):
        return None


def _outcome(summary: dict[str, Any]) -> str:
    if summary.get("HasFault"):
        return "fault"
    if summary.get("HasThrottle"):
        return "throttle"
    if summary.get("HasError"):
        return "error"
    return "ok"


def _request(http: dict[str, Any]) -> str:
    parts = [http.get("HttpMethod"), http.get("HttpURL")]
    text = " ".join(p for p in parts if p)
    if http.get("HttpStatus") is not None:
        text = f"{text} → {http['HttpStatus']}".strip()
    return text


# -- drawing -----------------------------------------------------------------------------------
def _levels(services: list[dict[str, Any]]) -> dict[int, int]:
    """Each node's column: the longest chain of calls that leads to it from a node nobody
    calls (the client), so that every arrow points right (a cycle stops growing at N)."""
    refs = [s["ReferenceId"] for s in services]
    calls = [(s["ReferenceId"], e["ReferenceId"]) for s in services for e in s.get("Edges", [])]
    level = dict.fromkeys(refs, 0)
    for _ in range(len(refs)):
        changed = False
        for caller, callee in calls:
            if callee in level and level[callee] < level[caller] + 1 <= len(refs):
                level[callee] = level[caller] + 1
                changed = True
        if not changed:
            break
    return level


def _layout(services: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    columns: dict[int, list[int]] = {}
    for ref, level in _levels(services).items():
        columns.setdefault(level, []).append(ref)
    places = {}
    for level, refs in columns.items():
        for row, ref in enumerate(refs):
            places[ref] = (level * COLUMN, (len(refs) - 1) / 2 * ROW - row * ROW)
    return places


def _counts(statistics: dict[str, Any]) -> dict[str, int]:
    errors = statistics.get("ErrorStatistics", {})
    throttles = int(errors.get("ThrottleCount", 0) or 0)
    return {
        "ok": int(statistics.get("OkCount", 0) or 0),
        "error": int(errors.get("TotalCount", 0) or 0) - throttles,
        "throttle": throttles,
        "fault": int(statistics.get("FaultStatistics", {}).get("TotalCount", 0) or 0),
    }


def _node(ax: Any, service: dict[str, Any], at: tuple[float, float]) -> None:
    name = service.get("Name", "?")
    ref = service["ReferenceId"]
    client = service.get("Type") == "client"
    ax.add_patch(Circle(at, RADIUS, facecolor="white", edgecolor="#888888", zorder=3))
    statistics = service.get("SummaryStatistics")
    total = 0
    if statistics and not client:
        counts = _counts(statistics)
        total = sum(counts.values())
        angle = 90.0
        for kind, count in counts.items():
            if not count:
                continue
            sweep = 360.0 * count / total
            wedge = Wedge(
                at,
                RADIUS + RING,
                angle - sweep,
                angle,
                width=RING,
                facecolor=OUTCOME_COLOURS[kind],
                edgecolor="none",
                zorder=4,
            )
            wedge.set_gid(f"{kind}:{ref}")
            ax.add_patch(wedge)
            angle -= sweep
        ax.text(*at, f"{total}\nreq", ha="center", va="center", fontsize=9, zorder=5)
    kind = service.get("Type") or ""
    # Long names stay whole (a function's name is one word): the label is how a learner finds it.
    label = "\n".join(textwrap.wrap(name, 24, break_long_words=False) or [name])
    kind = kind.removeprefix("AWS::")
    if kind and not client and kind != name:
        label += f"\n{kind}"
    ax.text(at[0], at[1] - RADIUS - 0.14, label, ha="center", va="top", fontsize=8, zorder=5)


def _arrow(ax: Any, a: tuple[float, float], b: tuple[float, float], edge: dict) -> None:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    gap = RADIUS + RING + 0.04
    start = (a[0] + ux * gap, a[1] + uy * gap)
    end = (b[0] - ux * gap, b[1] - uy * gap)
    statistics = edge.get("SummaryStatistics", {})
    faulted = _counts(statistics)["fault"] > 0
    colour = OUTCOME_COLOURS["fault"] if faulted else "#555555"
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=colour, zorder=2)
    )
    total = int(statistics.get("TotalCount", 0) or 0)
    if total:
        average = float(statistics.get("TotalResponseTime", 0.0) or 0.0) / total
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.1)
        ax.text(*middle, f"{total} · {average:.2f}s", ha="center", fontsize=7, color=colour)
