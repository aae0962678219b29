"""What the local load balancer keeps beside moto: load balancers with their listeners' local
ports, and target groups with their targets' health. Pure state (no I/O); ARNs carry the region,
so state keyed by ARN never mixes two regions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...core.clock import Clock

# Loopback health checks come often so that a new target is healthy fast: at a fifth of the
# clock's scale, the workshop's 10 s interval is 0.2 s and its 3 checks pass 0.4 s after the
# task answers (a probe costs a loopback connection and one request: five a second per target).
# What guards against slowness is not scaled below what a busy 2-core laptop needs to answer: a
# healthy process there can stall for seconds (a build or a notebook next to it, swap, a garbage
# collection), and a target declared unhealthy gets its ECS task replaced, which costs far more
# than noticing a broken one a few seconds later.
INTERVAL_SCALE = 0.2
MIN_INTERVAL = 0.2
PROBE_TIMEOUT_FLOOR = 5.0  # what AWS gives a real target by default (ALB 5 s, NLB HTTP 6 s)
# A stall shorter than this never makes a target unhealthy: 3x the stalls that got healthy tasks
# replaced before, 2x the 5 s freeze the tests survive, still 3x faster than the workshop's
# 30 s on AWS (10 s x 3) for a task that really is broken.
UNHEALTHY_AFTER_FLOOR = 10.0
DRAIN_FLOOR = 5.0  # an in-flight request's time to finish, unless the delay asked is shorter

# Target states that receive traffic ("unavailable": health checks are disabled).
ROUTABLE = ("healthy", "unavailable")

_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")

Address = tuple[str, int]


def region_of(arn: str) -> str:
    """The region an ARN names (``arn:aws:elasticloadbalancing:<region>:...``)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def forward_groups(actions: list[dict[str, Any]] | None) -> list[str]:
    """The target group ARNs a listener's actions forward to (both ways of saying it)."""
    groups: list[str] = []
    for action in actions or []:
        named = [action.get("TargetGroupArn")]
        named += [
            g.get("TargetGroupArn")
            for g in (action.get("ForwardConfig") or {}).get("TargetGroups", [])
        ]
        groups += [arn for arn in named if arn and arn not in groups]
    return groups


@dataclass(frozen=True)
class HealthCheck:
    """A target group's health check settings, on the loopback clock."""

    enabled: bool
    protocol: str
    port: str
    path: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    unhealthy_after: float  # how long a target fails checks, at least, before it is unhealthy
    matcher: str
    group_port: int | None
    group_protocol: str
    drain_seconds: float

    @classmethod
    def from_api(
        cls, group: dict[str, Any], attributes: dict[str, str], clock: Clock
    ) -> HealthCheck:
        """From DescribeTargetGroups and DescribeTargetGroupAttributes answers."""
        group_protocol = (group.get("Protocol") or "TCP").upper()
        delay = float(attributes.get("deregistration_delay.timeout_seconds", 300))
        aws_interval = group.get("HealthCheckIntervalSeconds", 30)
        interval = clock.scaled(aws_interval * INTERVAL_SCALE, MIN_INTERVAL)
        unhealthy_threshold = int(group.get("UnhealthyThresholdCount", 2))
        return cls(
            enabled=group.get("HealthCheckEnabled", True),
            protocol=(group.get("HealthCheckProtocol") or group_protocol).upper(),
            port=str(group.get("HealthCheckPort", "traffic-port")),
            path=group.get("HealthCheckPath") or "/",
            interval=interval,
            timeout=clock.scaled(group.get("HealthCheckTimeoutSeconds", 10), PROBE_TIMEOUT_FLOOR),
            healthy_threshold=int(group.get("HealthyThresholdCount", 5)),
            unhealthy_threshold=unhealthy_threshold,
            # On AWS a target fails for about interval x threshold before it is unhealthy.
            unhealthy_after=max(UNHEALTHY_AFTER_FLOOR, interval * unhealthy_threshold),
            matcher=(group.get("Matcher") or {}).get("HttpCode") or "200-399",
            group_port=group.get("Port"),
            group_protocol=group_protocol,
            drain_seconds=clock.scaled(delay, min(delay, DRAIN_FLOOR)),
        )

    @property
    def application(self) -> bool:
        """An application load balancer's group (HTTP/HTTPS): its failures carry ALB reasons."""
        return self.group_protocol in ("HTTP", "HTTPS")

    def target_port(self, port: int | None) -> int:
        """A target's port as registered (the group's port when omitted)."""
        return int(port or self.group_port or 0)

    def probe_port(self, target_port: int) -> int:
        if self.port == "traffic-port" or not self.port.isdigit():
            return target_port
        # Targets may listen on remapped ports (tasks sharing 127.0.0.1): the group's own port
        # means "the target's" (the same port for a task on its own address).
        return target_port if int(self.port) == self.group_port else int(self.port)


@dataclass
class Target:
    id: str
    port: int
    due: float  # monotonic time of the next health check
    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    successes: int = 0
    failures: int = 0
    checking: bool = False  # a probe is in flight
    drain_deadline: float = 0.0
    passed_at: float = 0.0  # monotonic time of the last passed check (or of the registration)
    error: str | None = None  # the last failure of the checker itself (logged once)

    def __post_init__(self) -> None:
        self.passed_at = self.passed_at or self.due

    @property
    def address(self) -> Address:
        return (self.id, self.port)

    @property
    def routable(self) -> bool:
        """Whether the proxy may send it connections (ip targets only: loopback processes)."""
        return self.state in ROUTABLE and bool(_IPV4.match(self.id))

    def set(self, state: str, reason: str | None = None, description: str | None = None) -> bool:
        """Change state; whether it changed."""
        changed = state != self.state
        self.state, self.reason, self.description = state, reason, description
        return changed

    def drain(self, deadline: float) -> None:
        self.set(
            "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
        )
        self.drain_deadline = deadline

    def record(self, settings: HealthCheck, passed: bool, failure: str | None, now: float) -> bool:
        """Count one health check that ended at ``now`` (monotonic; ``failure``: a status code,
        "timeout" or None); whether the state changed. Unhealthy takes the threshold's failures
        in a row *and* ``settings.unhealthy_after`` seconds since the last passed check, so a
        target that stalls for less than that is never unhealthy."""
        checking = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
        if passed:
            self.successes, self.failures, self.passed_at = self.successes + 1, 0, now
            if self.successes >= settings.healthy_threshold:
                return self.set("healthy")
            return self.set(*checking) if self.state == "initial" else False
        self.failures, self.successes = self.failures + 1, 0
        failed_long = now - self.passed_at >= settings.unhealthy_after
        if self.state == "unhealthy" or (
            self.failures >= settings.unhealthy_threshold and failed_long
        ):
            return self.set("unhealthy", *_failure_reason(settings, failure))
        return self.set(*checking) if self.state == "initial" else False

    def to_api(self, settings: HealthCheck, in_use: bool) -> dict[str, Any]:
        """A TargetHealthDescription; a group no listener forwards to has its targets unused."""
        if in_use or self.state == "draining":
            health = _health(self.state, self.reason, self.description)
        else:
            health = _health(
                "unused",
                "Target.NotInUse",
                "Target group is not configured to receive traffic from the load balancer",
            )
        return _description(self.address, settings, health)


def unregistered_api(address: Address, settings: HealthCheck) -> dict[str, Any]:
    """The TargetHealthDescription of a target that was asked about but is not registered."""
    health = _health(
        "unused", "Target.NotRegistered", "Target is not registered to the target group"
    )
    return _description(address, settings, health)


def _health(state: str, reason: str | None, description: str | None) -> dict[str, str]:
    health = {"State": state}
    if reason:
        health["Reason"] = reason
    if description:
        health["Description"] = description
    return health


def _description(address: Address, settings: HealthCheck, health: dict[str, str]) -> dict[str, Any]:
    return {
        "Target": {"Id": address[0], "Port": address[1]},
        "HealthCheckPort": settings.port,
        "TargetHealth": health,
    }


def _failure_reason(settings: HealthCheck, failure: str | None) -> tuple[str, str]:
    if settings.application and failure == "timeout":
        return "Target.Timeout", "Request timed out"
    if settings.application and failure and failure.isdigit():
        return "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{failure}]"
    return "Target.FailedHealthChecks", "Health checks failed"


@dataclass
class TargetGroup:
    arn: str
    settings: HealthCheck
    targets: dict[Address, Target] = field(default_factory=dict)


@dataclass
class Listener:
    arn: str
    lb_arn: str
    port: int
    protocol: str
    group_arns: list[str]
    local_port: int = 0
    turn: int = 0

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Listener:
        return cls(
            arn=data["ListenerArn"],
            lb_arn=data["LoadBalancerArn"],
            port=int(data.get("Port") or 0),
            protocol=data.get("Protocol") or "TCP",
            group_arns=forward_groups(data.get("DefaultActions")),
        )

    def rotate(self, targets: list[Address]) -> list[Address]:
        """``targets`` in this connection's round-robin order (the next one first)."""
        if not targets:
            return []
        start = self.turn % len(targets)
        self.turn += 1
        return targets[start:] + targets[:start]


@dataclass
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    type: str
    listeners: list[str] = field(default_factory=list)  # listener ARNs

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> LoadBalancer:
        return cls(
            arn=data["LoadBalancerArn"],
            name=data["LoadBalancerName"],
            dns_name=data.get("DNSName", ""),
            type=data.get("Type") or "application",
        )

    @property
    def region(self) -> str:
        return region_of(self.arn)

    @property
    def key(self) -> str:
        """Its name, qualified by the region (``eu-west-1/<name>``)."""
        return f"{self.region}/{self.name}"


def _default_first(default_region: str) -> Callable[[LoadBalancer], tuple[bool, str, str]]:
    return lambda b: (b.region != default_region, b.region, b.name)


def listing_keys(balancers: list[LoadBalancer], default_region: str) -> dict[str, LoadBalancer]:
    """Load balancers by name, or by ``<region>/<name>`` when another region has the name (the
    default region's keeps the plain name)."""
    keyed: dict[str, LoadBalancer] = {}
    for balancer in sorted(balancers, key=_default_first(default_region)):
        keyed[balancer.key if balancer.name in keyed else balancer.name] = balancer
    return keyed


def find_by_name(
    balancers: list[LoadBalancer], name: str, region: str | None, default_region: str
) -> LoadBalancer:
    """The load balancer called ``name`` (in ``region``, or the default region's when several
    regions have one); LookupError when there is none, or no way to choose."""
    found = sorted(
        (b for b in balancers if b.name == name and region in (None, b.region)),
        key=_default_first(default_region),
    )
    if not found:
        raise LookupError(f"no load balancer named {name!r}" + (f" in {region}" if region else ""))
    if len(found) > 1 and found[0].region != default_region:
        regions = ", ".join(b.region for b in found)
        raise LookupError(f"load balancer {name!r} exists in {regions}: name the region")
    return found[0]
