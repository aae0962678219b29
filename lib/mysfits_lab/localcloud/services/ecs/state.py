"""Every ECS service and task the local cloud runs, under one lock that the API handlers and
the scheduler share (no I/O)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import PENDING_STATES, Service, Task

STOPPED_RETENTION = 3600.0  # ListTasks/DescribeTasks show a stopped task this long (AWS: 1 h+)
# DescribeServices still answers for a deleted service this long after its last task stopped
# (AWS keeps INACTIVE services "for a period of time"); listings forget it at once.
INACTIVE_RETENTION = 600.0


@dataclass
class EcsState:
    """Every service and task (stopped tasks too, for a while), under one lock that the API
    handlers and the scheduler share."""

    services: dict[str, Service] = field(default_factory=dict)  # by ARN, as DescribeServices
    # Deleted services whose ARN a new service of the same name took, until their tasks stop.
    retired: list[Service] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_service(self, service: Service) -> None:
        """Record a new service; a deleted one of the same ARN still stops its tasks."""
        previous = self.services.get(service.arn)
        if previous is not None and previous.deleting:
            self.retired.append(previous)
        self.services[service.arn] = service

    def scheduled(self) -> list[Service]:
        """The services the scheduler looks after: every one that may still have tasks."""
        return [*self.services.values(), *self.retired]

    def active(self) -> list[Service]:
        """Services not deleted: what listings show."""
        return [s for s in self.services.values() if not s.deleting]

    def revision(self) -> tuple[int, int, int]:
        """Differs after any change a caller of the API could see: a task added, forgotten or
        moved on (``Task.touch``), a service event."""
        return (
            len(self.tasks),
            sum(t.version for t in self.tasks.values()),
            sum(s.recorded for s in self.scheduled()),
        )

    def service_tasks(self, service: Service) -> list[Task]:
        return [t for t in self.tasks.values() if t.service is service]

    def _inactive(self, service: Service) -> bool:
        return service.deleting and all(
            t.last_status == "STOPPED" for t in self.service_tasks(service)
        )

    def find_task(self, cluster_arn: str, reference: str) -> Task | None:
        """A task of the cluster by ARN or id."""
        task = self.tasks.get(reference)
        if task is None:
            task_id = reference.rsplit("/", 1)[-1]
            task = next((t for t in self.tasks.values() if t.id == task_id), None)
        return task if task is not None and task.cluster_arn == cluster_arn else None

    def counts(self, cluster_arn: str) -> tuple[int, int]:
        """(running, pending) tasks of a cluster."""
        live = [
            t
            for t in self.tasks.values()
            if t.cluster_arn == cluster_arn and t.last_status != "STOPPED"
        ]
        return (
            sum(t.last_status == "RUNNING" for t in live),
            sum(t.last_status in PENDING_STATES for t in live),
        )

    def prune(self, at: float) -> None:
        """At ``at`` (epoch seconds): forget tasks stopped ``STOPPED_RETENTION`` ago, and deleted
        services whose tasks all stopped — retired ones at once, the others
        ``INACTIVE_RETENTION`` after they became INACTIVE."""
        for arn, task in list(self.tasks.items()):
            stopped = task.times.get("stoppedAt", 0)
            if task.last_status == "STOPPED" and stopped < at - STOPPED_RETENTION:
                del self.tasks[arn]
        self.retired = [s for s in self.retired if not self._inactive(s)]
        for arn, service in list(self.services.items()):
            if not self._inactive(service):
                continue
            service.inactive_since = service.inactive_since or at
            if at - service.inactive_since >= INACTIVE_RETENTION:
                del self.services[arn]

    def describe(self, log_dir: Path) -> dict[str, Any]:
        """Services and tasks with their pids, addresses, ports and log folders (for tests and
        ``mysfits-lab cloud``)."""
        with self.lock:
            services = {
                s.arn: {
                    "name": s.name,
                    "desired": s.desired,
                    "running": sum(
                        t.alive and t.last_status == "RUNNING" for t in self.service_tasks(s)
                    ),
                    "deployments": [d.id for d in s.deployments],
                }
                for s in self.active()
            }
            tasks = [
                {
                    "arn": t.arn,
                    "id": t.id,
                    "service": t.service.name if t.service else None,
                    "lastStatus": t.last_status,
                    "desiredStatus": t.desired_status,
                    "pids": t.pids(),
                    "address": t.private_ip or None,
                    "ports": {c.name: c.host_port for c in t.containers},
                    "logs": str(log_dir / t.id),
                }
                for t in sorted(self.tasks.values(), key=lambda t: t.created_at)
            ]
        return {"services": services, "tasks": tasks}
