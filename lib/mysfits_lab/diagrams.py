"""Architecture pictures drawn from what a learner actually built (names from the outputs)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

_COLOURS = {
    "client": "#e0e7ff",
    "storage": "#dcfce7",
    "network": "#fef3c7",
    "compute": "#fde2e4",
    "ops": "#e5e7eb",
}


def _box(ax: Any, x: float, y: float, w: float, h: float, text: str, kind: str) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=_COLOURS[kind],
            edgecolor="#334155",
            linewidth=1.2,
        )
    )
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5, wrap=True)


def _arrow(
    ax: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str = "",
    dashed: bool = False,
) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=12,
            color="#334155",
            linestyle="--" if dashed else "-",
            linewidth=1.1,
        )
    )
    if label:
        ax.text(
            (start[0] + end[0]) / 2,
            (start[1] + end[1]) / 2 + 0.12,
            label,
            ha="center",
            fontsize=7.5,
            color="#475569",
        )


def _short(value: str | None, keep: int = 28) -> str:
    value = value or "?"
    return value if len(value) <= keep else "…" + value[-(keep - 1) :]


def service_architecture(values: dict[str, dict[str, Any]], tasks: int = 1) -> Any:
    """Module 2a: browser → S3 site, browser → NLB → Fargate tasks in the VPC; ECR, logs."""
    web, svc, net = values.get("website", {}), values.get("service", {}), values.get("network", {})
    fig, ax = plt.subplots(figsize=(10, 4.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.6)
    ax.axis("off")

    _box(ax, 0.2, 3.3, 1.6, 0.9, "Browser", "client")
    _box(ax, 2.6, 3.3, 2.4, 0.9, f"S3 website\n{_short(web.get('bucket'))}", "storage")
    _arrow(ax, (1.8, 3.75), (2.6, 3.75), "site")

    ax.add_patch(
        FancyBboxPatch(
            (2.3, 0.2),
            5.2,
            2.7,
            boxstyle="round,pad=0.02",
            facecolor="none",
            edgecolor="#94a3b8",
            linestyle="--",
        )
    )
    ax.text(2.45, 2.72, f"VPC {net.get('vpc_id', '?')}", fontsize=8, color="#475569")
    _box(ax, 2.6, 1.2, 1.8, 1.0, f"Network LB\n{_short(svc.get('nlb_dns'), 22)}\nTCP 80", "network")
    _arrow(ax, (1.0, 3.3), (3.2, 2.2), "GET /mysfits")
    count = max(1, tasks)
    height = min(0.8, 2.0 / count)
    for i in range(count):
        y = 0.45 + i * (2.1 / count)
        _box(ax, 5.2, y, 2.0, height, f"Fargate task\n{svc.get('name', 'service')}", "compute")
        _arrow(ax, (4.4, 1.7), (5.2, y + height / 2), "8080" if i == 0 else "")

    _box(ax, 8.0, 3.3, 1.8, 0.9, f"ECR image\n{_short(svc.get('image_uri'), 20)}", "ops")
    _arrow(ax, (8.6, 3.3), (6.6, 2.2), "pull", dashed=True)
    _box(ax, 8.0, 0.6, 1.8, 0.9, f"CloudWatch Logs\n{_short(svc.get('log_group'), 20)}", "ops")
    _arrow(ax, (7.2, 1.0), (8.0, 1.0), "logs", dashed=True)
    ax.set_title("What 02a-service built", fontsize=11, loc="left")
    fig.tight_layout()
    return fig
