"""Every ECS service and task the local cloud runs, under one lock that the API handlers and
the scheduler share (no I/O)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import PENDING_STATES, Service, Task


@dataclass
class EcsState:
    """Every service and task (stopped tasks too, for a while), under one lock that the API
    handlers and the scheduler share."""

    services: dict[str, Service] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def service_tasks(self, service: Service) -> list[Task]:
        return [t for t in self.tasks.values() if t.service is service]

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

    def prune(self, stopped_before: float) -> None:
        """Forget tasks that stopped before ``stopped_before`` (epoch seconds)."""
        for arn, task in list(self.tasks.items()):
            if task.last_status == "STOPPED" and task.times.get("stoppedAt", 0) < stopped_before:
                del self.tasks[arn]

    def describe(self, log_dir: Path) -> dict[str, Any]:
        """Services and tasks with their pids, local ports and log folders (for tests and
        ``mysfits-lab cloud``)."""
        with self.lock:
            services = {
                s.arn: {
                    "name": s.name,
                    "desired": 0 if s.deleting else s.desired,
                    "running": sum(
                        t.alive and t.last_status == "RUNNING" for t in self.service_tasks(s)
                    ),
                    "deployments": [d.id for d in s.deployments],
                }
                for s in self.services.values()
            }
            tasks = [
                {
                    "arn": t.arn,
                    "id": t.id,
                    "service": t.service.name if t.service else None,
                    "lastStatus": t.last_status,
                    "desiredStatus": t.desired_status,
                    "pids": t.pids(),
                    "ports": {c.name: c.host_port for c in t.containers},
                    "logs": str(log_dir / t.id),
                }
                for t in sorted(self.tasks.values(), key=lambda t: t.created_at)
            ]
        return {"services": services, "tasks": tasks}
