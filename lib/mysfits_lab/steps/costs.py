"""The cost cell: what a module bills per hour on AWS, and a refusal without confirmation."""

from __future__ import annotations

from dataclasses import dataclass

from ..lab import Lab, LabError

# Approximate on-demand prices in us-east-1 (USD per hour), to size the bill, not to invoice it.
HOURLY_USD = {
    "nat_gateway": 0.045,
    "network_load_balancer": 0.0225,
    "fargate_task": 0.0123,  # 0.25 vCPU, 0.5 GB
    "public_ipv4_address": 0.005,
    "sagemaker_ml_m4_xlarge": 0.24,
}


@dataclass
class CostItem:
    resource: str
    count: int
    hourly_usd: float

    @property
    def total(self) -> float:
        return self.count * self.hourly_usd


def service_costs(nat_gateways: int, tasks: int = 1) -> list[CostItem]:
    """Module 2a: NATs, the NLB (and its public addresses), the Fargate tasks."""
    items = [
        CostItem("NAT gateway", nat_gateways, HOURLY_USD["nat_gateway"]),
        CostItem("Network load balancer", 1, HOURLY_USD["network_load_balancer"]),
        CostItem("Fargate task (0.25 vCPU, 0.5 GB)", tasks, HOURLY_USD["fargate_task"]),
        # NAT gateways, the NLB's two nodes, and tasks in public subnets each hold a public IPv4.
        CostItem(
            "Public IPv4 addresses",
            nat_gateways + 2 + (tasks if nat_gateways == 0 else 0),
            HOURLY_USD["public_ipv4_address"],
        ),
    ]
    return [item for item in items if item.count]


def rows(items: list[CostItem]) -> list[dict[str, str]]:
    table = [
        {
            "resource": i.resource,
            "count": str(i.count),
            "USD/hour each": f"{i.hourly_usd:.4f}",
            "USD/hour": f"{i.total:.4f}",
        }
        for i in items
    ]
    total = sum(i.total for i in items)
    table.append(
        {
            "resource": "total",
            "count": "",
            "USD/hour each": "",
            "USD/hour": f"{total:.4f} (~{total * 24:.2f}/day)",
        }
    )
    return table


def confirm(lab: Lab, items: list[CostItem], confirm_costs: bool) -> str:
    """On AWS, refuse to go on until the learner has seen the bill and set confirm_costs=True."""
    if lab.is_local:
        return "Local target: nothing is billed."
    total = sum(i.total for i in items)
    if not confirm_costs:
        raise LabError(
            f"this module bills about {total:.2f} USD per hour on AWS until you tear it down "
            "(see the table above). Set confirm_costs = True in the parameters cell to go on."
        )
    return f"Confirmed: about {total:.2f} USD per hour until 99-teardown."


def nat_comparison(tasks: int = 1) -> list[dict[str, str]]:
    """Module 2a's hourly and monthly cost for each NAT choice, side by side."""
    rows = []
    for nats in (0, 1, 2):
        total = sum(item.total for item in service_costs(nats, tasks))
        where = "public subnets, public IPs" if nats == 0 else "private subnets behind NAT"
        rows.append(
            {
                "nat_gateways": str(nats),
                "tasks run in": where,
                "USD/hour": f"{total:.4f}",
                "USD/30 days": f"{total * 24 * 30:.2f}",
            }
        )
    return rows
