"""How a service moves toward what was asked of it, one scheduler tick at a time: decisions over
the models (which tasks to start, which to stop, which deployment is done), no I/O.

- Desired count: missing tasks of the primary deployment are started, within
  ``maximumPercent`` (one extra task at least, even at 100%); extra ones are stopped, the least
  useful first.
- Rolling deployments: new tasks start first, and an old task is stopped only when a new one is
  healthy — so a rollout drops no request. ``minimumHealthyPercent`` only matters when
  ``maximumPercent`` leaves no room to start first.
- Replacements: a task its target group finds unhealthy (after the grace period) is stopped and
  counts as a failure, so the service backs off before starting the next one.
"""

from __future__ import annotations

import logging
import math

from .models import Service, Task, new_task, subnets_of

log = logging.getLogger("mysfits_lab.localcloud.ecs")

Health = dict[str, dict[tuple[str, int], str]]  # target group ARN -> (ip, port) -> state


def event(service: Service, message: str, at: float) -> None:
    log.info("%s", service.event(message, at))


def target_state(task: Task, health: Health) -> str:
    """The worst state of a task's targets: healthy only when healthy everywhere."""
    if task.service is None or not task.service.load_balancers:
        return "healthy" if task.last_status == "RUNNING" else "initial"
    if not task.registered:
        return "initial"
    states = [
        health.get(group, {}).get((ip, port), "initial") for group, ip, port in task.registered
    ]
    return next(
        (s for s in ("unhealthy", "initial", "draining", "unused") if s in states), "healthy"
    )


def serving(task: Task, health: Health) -> bool:
    return task.last_status == "RUNNING" and target_state(task, health) == "healthy"


def reconcile(
    service: Service, tasks: list[Task], health: Health, now: float, at: float
) -> list[Task]:
    """One step toward the desired state (``now`` monotonic, ``at`` epoch); the tasks to add."""
    desired = 0 if service.deleting else service.desired
    primary = service.primary
    if primary.desired != desired:
        primary.desired, primary.updated_at = desired, at
    _follow_health(service, [t for t in tasks if t.alive], health, now, at)

    alive = [t for t in tasks if t.alive]
    current = [t for t in alive if t.deployment is primary]
    old = [t for t in alive if t.deployment is not primary]

    # Too many tasks of the primary deployment (scaled in): stop the least useful first.
    stopping: list[Task] = []
    if len(current) > desired:
        ranked = sorted(current, key=lambda t: (serving(t, health), -t.created_at))
        stopping += ranked[: len(current) - desired]
        current = [t for t in current if t not in stopping]

    # Start what the primary deployment lacks, within maximumPercent (one extra at least).
    ceiling = max(math.floor(desired * service.max_percent / 100), desired + 1) if desired else 0
    missing = desired - len(current)
    room = ceiling - (len(current) + len(old))
    started: list[Task] = []
    if missing > 0 and room > 0 and now >= service.next_launch:
        started = _start(service, min(missing, room), at)
    elif missing > 0 and room <= 0 and old:
        # No room to start before stopping: stop one old task if minimumHealthyPercent allows.
        floor = math.ceil(desired * service.min_healthy_percent / 100)
        up = sum(serving(t, health) for t in current + old)
        candidate = min(old, key=lambda t: (serving(t, health), t.created_at))
        if up - serving(candidate, health) >= floor:
            stopping.append(candidate)
            old.remove(candidate)

    # Old deployments give way as new tasks become healthy; tasks that serve nothing first.
    keep = max(0, desired - sum(serving(t, health) for t in current))
    serving_old = sorted((t for t in old if serving(t, health)), key=lambda t: t.created_at)
    stopping += [t for t in old if not serving(t, health)]
    stopping += serving_old[: max(0, len(serving_old) - keep)]
    if stopping:
        for task in stopping:
            task.request_stop(
                "ServiceSchedulerInitiated",
                f"Scaling activity initiated by (deployment {primary.id})",
                at,
            )
        ids = " ".join(f"(task {t.id})" for t in stopping)
        event(service, f"has stopped {len(stopping)} running tasks: {ids}.", at)

    _settle(service, tasks, health, at)
    return started


def _follow_health(
    service: Service, alive: list[Task], health: Health, now: float, at: float
) -> None:
    """RUNNING once healthy behind the load balancer; stopped and replaced when unhealthy."""
    for task in alive:
        state = target_state(task, health)
        if state == "healthy" and task.last_status == "ACTIVATING":
            task.times["startedAt"] = at
            task.touch("RUNNING")
        if state == "healthy" and not task.was_healthy:
            task.was_healthy = True
            service.failures, service.warned_unstable = 0, False
        if state == "unhealthy" and now - task.launched_at >= service.grace_seconds:
            group = next(
                g
                for g, ip, port in task.registered
                if health.get(g, {}).get((ip, port)) == "unhealthy"
            )
            port = service.load_balancers[0].get("containerPort")
            event(
                service,
                f"(task {task.id}) (port {port}) is unhealthy in (target-group {group}) due to "
                "(reason Health checks failed).",
                at,
            )
            task.request_stop(
                "ServiceSchedulerInitiated",
                f"Task failed ELB health checks in (target-group {group})",
                at,
            )
            task.failed = True
            count_failure(task, now, at)
            event(service, f"has stopped 1 running tasks: (task {task.id}).", at)


def count_failure(task: Task, now: float, at: float) -> None:
    service = task.service
    if service is not None and service.count_failure(task.deployment, now):
        event(
            service,
            "is unable to consistently start tasks successfully. For more information, see the "
            "Troubleshooting section of the Amazon ECS Developer Guide.",
            at,
        )


def _start(service: Service, count: int, at: float) -> list[Task]:
    deployment = service.primary
    subnets = subnets_of(deployment.network_configuration)
    started = [
        new_task(
            service.cluster_arn,
            deployment.definition,
            group=f"service:{service.name}",
            created_at=at,
            started_by=deployment.id,
            launch_type=deployment.launch_type,
            subnet_id=subnets[index % len(subnets)],
            service=service,
            deployment=deployment,
        )
        for index in range(count)
    ]
    ids = " ".join(f"(task {t.id})" for t in started)
    event(service, f"has started {len(started)} tasks: {ids}.", at)
    return started


def _settle(service: Service, tasks: list[Task], health: Health, at: float) -> None:
    """Old deployments scale in as their tasks stop and leave once all are gone; a service whose
    primary deployment runs healthy at its desired count is steady."""
    primary = service.primary
    for deployment in service.deployments[1:]:
        deployment.desired = sum(t.alive and t.deployment is deployment for t in tasks)
        if not any(t.deployment is deployment and t.last_status != "STOPPED" for t in tasks):
            service.deployments.remove(deployment)
    primary_tasks = [t for t in tasks if t.alive and t.deployment is primary]
    settled = (
        len(service.deployments) == 1
        and len(primary_tasks) == primary.desired
        and all(serving(t, health) for t in primary_tasks)
        and not any(t.last_status != "STOPPED" and not t.alive for t in tasks)
    )
    if settled and not service.steady:
        service.steady = True
        if primary.rollout_state == "IN_PROGRESS":
            primary.rollout_state, primary.updated_at = "COMPLETED", at
            event(service, f"(deployment {primary.id}) deployment completed.", at)
        event(service, "has reached a steady state.", at)
    elif not settled and service.steady:
        service.steady = False
