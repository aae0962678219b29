"""The ECS scheduler: one thread that, every tick, starts tasks, notices processes that exited,
keeps each service at its desired count (``rollout.py``) and moves stopping tasks to STOPPED.
A tick runs as soon as something it waits for changed (``ctx.changes``: an API call, a target's
health, a container's exit), when a PENDING task has started, and at least every ``TICK``; a tick
that changed something announces it, so the next one follows at once and a pipeline's deploy
action reads the service again.

A task's states: PROVISIONING → PENDING (processes starting) → RUNNING; for a service with a
load balancer, ACTIVATING in between: the task is registered as the ip target
``<its private IP>:<containerPort>`` in each target group (through the ELB API; ``runner.py``
says where a task listens) and becomes RUNNING once healthy there, so that ``services_stable``
means "serving". Stopping: DEACTIVATING (targets deregistered, waiting for the load balancer
to finish draining) → STOPPING (STOPSIGNAL, SIGKILL after ``stopTimeout``) → STOPPED, with
``stopCode``/``stoppedReason`` and the container's ``exitCode``. A task whose essential
container exits is STOPPED (``EssentialContainerExited``) and, in a service, replaced; when the
container could not bind its port because another task holds it, the stopped reason says so.
A STOPPED task gives its address back.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ...core.provider import Context
from .models import Service, Task
from .rollout import Health, count_failure, event, reconcile
from .runner import TaskRunner, TaskStartError
from .state import EcsState

log = logging.getLogger("mysfits_lab.localcloud.ecs")

TICK = 0.25  # the longest wait between ticks: for what only time moves on (timeouts, back-off)
START_SECONDS = 0.2  # a PENDING task whose processes are still alive after this long has started
MAX_DRAIN_SECONDS = 40.0  # should the load balancer never report a deregistered target gone
SHUTDOWN_GRACE = 3.0


def _next_start(tasks: list[Task], now: float) -> float:
    """Seconds until the next tick: ``TICK``, or less when a PENDING task has started by then."""
    starts = [
        t.launched_at + START_SECONDS - now for t in tasks if t.alive and t.last_status == "PENDING"
    ]
    return max(0.0, min([TICK, *starts]))


class Scheduler:
    def __init__(self, ctx: Context, state: EcsState, runner: TaskRunner):
        self.ctx = ctx
        self.state = state
        self.runner = runner
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecs-scheduler", daemon=True)

    def stamp(self) -> float:
        """Now, as the API reports times."""
        return round(self.ctx.clock.now(), 3)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling, then every task process: its stop signal, a short grace, SIGKILL."""
        self._stopping.set()
        self.ctx.changes.notify()  # wakes the thread
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self.state.lock:
            containers = [c for t in self.state.tasks.values() for c in t.containers]
        processes = [(c.process, c.stop_signal) for c in containers if c.process is not None]
        for process, signum in processes:
            process.send(signum)
        deadline = self.ctx.clock.monotonic() + SHUTDOWN_GRACE
        for process, _ in processes:
            if process.wait(max(0.0, deadline - self.ctx.clock.monotonic())) is None:
                process.kill()

    def _run(self) -> None:
        changes = self.ctx.changes
        while not self._stopping.is_set():
            seen, delay = changes.count(), TICK
            try:
                changed, delay = self._tick()
                if changed:
                    changes.notify()
            except Exception:  # keep scheduling: one bad service must not stop the others
                log.exception("ECS scheduler tick failed")
            changes.wait(seen, delay)

    def _tick(self) -> tuple[bool, float]:
        """One step for every task and service: whether anything changed, and the seconds until
        the next step is due without any change."""
        with self.state.lock:
            services = self.state.scheduled()
            tasks = list(self.state.tasks.values())
            before = self.state.revision()
        health = self._target_health(services, tasks)
        now, at = self.ctx.clock.monotonic(), self.stamp()
        with self.state.lock:
            for task in tasks:
                self._advance(task, now)
            for service in services:
                mine = self.state.service_tasks(service)
                for task in mine:
                    if task.alive and task.last_status == "ACTIVATING" and not task.registered:
                        self._register(service, task)
                for task in reconcile(service, mine, health, now, at):
                    self.state.tasks[task.arn] = task
            for task in tasks:
                self._stop_progress(task, health, now)
            self.state.prune(at)
            return self.state.revision() != before, _next_start(tasks, now)

    def _elbv2(self, region: str) -> Any:
        return self.ctx.client("elbv2", region)

    def _target_health(self, services: list[Service], tasks: list[Task]) -> Health:
        """Each relevant target group's targets and their states, from the load balancer."""
        groups = {
            (lb["targetGroupArn"], s.region)
            for s in services
            for lb in s.load_balancers
            if lb.get("targetGroupArn")
        }
        groups |= {(g, t.region) for t in tasks for g, _, _ in t.registered}
        health: Health = {}
        for arn, region in groups:
            try:
                described = self._elbv2(region).describe_target_health(TargetGroupArn=arn)
            except (ClientError, BotoCoreError):
                health[arn] = {}
                continue
            health[arn] = {
                (d["Target"]["Id"], d["Target"].get("Port", 0)): d["TargetHealth"]["State"]
                for d in described["TargetHealthDescriptions"]
            }
        return health

    # -- starting and watching ---------------------------------------------------------------
    def _advance(self, task: Task, now: float) -> None:
        """Start tasks and notice processes that exited."""
        if task.last_status == "STOPPED":
            return
        if task.last_status == "PROVISIONING" and task.desired_status == "RUNNING":
            self._launch(task, now)
            return
        for container in task.containers:
            code = container.process.poll() if container.process is not None else None
            if code is None or container.exit_code is not None:
                continue
            container.exit_code, container.status = code, "STOPPED"
            if task.desired_status == "STOPPED":
                continue
            if container.essential:
                at = self.stamp()
                reason = "Essential container in task exited"
                why = self.runner.exit_reason(task, container, self._peers(task))
                if why is not None:
                    container.reason, reason = why, f"{reason}: {why}"
                task.request_stop("EssentialContainerExited", reason, at)
                task.failed = True
                count_failure(task, now, at)
            else:
                task.touch()
        if (
            task.last_status == "PENDING"
            and task.desired_status == "RUNNING"
            and now - task.launched_at >= START_SECONDS
        ):
            if task.service is not None and task.service.load_balancers:
                task.touch("ACTIVATING")  # registered next, RUNNING once healthy (rollout.py)
            else:
                task.times["startedAt"] = self.stamp()
                task.touch("RUNNING")

    def _peers(self, task: Task) -> list[Task]:
        """The other tasks whose processes were started and may still hold ports."""
        return [
            t
            for t in self.state.tasks.values()
            if t is not task and t.last_status not in ("PROVISIONING", "STOPPED")
        ]

    def _launch(self, task: Task, now: float) -> None:
        task.times["pullStartedAt"] = self.stamp()
        try:
            self.runner.launch(task, self._peers(task))
        except TaskStartError as exc:
            self._failed(task, str(exc), now)
            for container in task.containers:
                container.reason = container.reason or str(exc).split(":", 1)[0]
            return
        except Exception as exc:  # a bug or a broken image: report it on the task
            log.exception("starting task %s", task.id)
            self._failed(task, f"CannotStartContainerError: {exc}", now)
            return
        task.times["pullStoppedAt"] = task.times["connectivityAt"] = self.stamp()
        task.launched_at = now
        task.touch("PENDING")

    def _failed(self, task: Task, reason: str, now: float) -> None:
        at = self.stamp()
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason, task.failed = "TaskFailedToStart", reason, True
        for container in task.containers:
            container.status = "STOPPED"
        task.times.update(stoppingAt=at, executionStoppedAt=at, stoppedAt=at)
        task.touch("STOPPED")
        self.runner.release(task)
        count_failure(task, now, at)
        log.info("task %s failed to start: %s", task.id, reason)

    # -- the load balancer -------------------------------------------------------------------
    def _register(self, service: Service, task: Task) -> None:
        for entry in service.load_balancers:
            group = entry.get("targetGroupArn")
            port = task.port_of(entry.get("containerName", ""))
            if not group or port is None:
                continue
            try:
                self._elbv2(service.region).register_targets(
                    TargetGroupArn=group, Targets=[{"Id": task.private_ip, "Port": port}]
                )
            except (ClientError, BotoCoreError) as exc:
                log.warning("registering task %s in %s: %s", task.id, group, exc)
                continue
            task.registered.append((group, task.private_ip, port))
            event(service, f"registered 1 targets in (target-group {group})", self.stamp())

    def _deregister(self, task: Task) -> None:
        by_group: dict[str, int] = {}
        for group, ip, port in task.registered:
            try:
                self._elbv2(task.region).deregister_targets(
                    TargetGroupArn=group, Targets=[{"Id": ip, "Port": port}]
                )
                by_group[group] = by_group.get(group, 0) + 1
            except ClientError as exc:
                # A deleted target group has nothing left to drain (teardowns do this).
                gone = exc.response["Error"]["Code"] == "TargetGroupNotFound"
                level = logging.DEBUG if gone else logging.WARNING
                log.log(level, "deregistering task %s from %s: %s", task.id, group, exc)
        if task.service is not None:
            for group, count in by_group.items():
                event(
                    task.service,
                    f"deregistered {count} targets in (target-group {group})",
                    self.stamp(),
                )

    # -- stopping ----------------------------------------------------------------------------
    def _stop_progress(self, task: Task, health: Health, now: float) -> None:
        """Move a task asked to stop through draining and signals to STOPPED."""
        if task.desired_status != "STOPPED" or task.last_status == "STOPPED":
            return
        if task.last_status == "PROVISIONING":
            self._finish(task)
            return
        if task.last_status in ("PENDING", "ACTIVATING", "RUNNING"):
            if task.registered:
                self._deregister(task)
                if task.service is not None:
                    event(task.service, "has begun draining connections on 1 tasks.", self.stamp())
                task.drain_until = now + MAX_DRAIN_SECONDS
                task.touch("DEACTIVATING")
                return
            task.touch("DEACTIVATING")
        if task.last_status == "DEACTIVATING":
            draining = any(
                (ip, port) in health.get(group, {}) for group, ip, port in task.registered
            )
            if draining and now < task.drain_until:
                return
            task.registered = []
            for container in task.containers:
                if container.process is not None:
                    container.process.send(container.stop_signal)
            task.kill_at = now + max((c.stop_timeout for c in task.containers), default=0.0)
            task.touch("STOPPING")
        if task.last_status == "STOPPING":
            running = [
                c.process
                for c in task.containers
                if c.process is not None and c.process.poll() is None
            ]
            if not running:
                self._finish(task)
            elif now >= task.kill_at:
                for process in running:
                    process.send(signal.SIGKILL)

    def _finish(self, task: Task) -> None:
        at = self.stamp()
        for container in task.containers:
            if container.process is not None and container.exit_code is None:
                container.exit_code = container.process.poll()
            container.status = "STOPPED"
        task.times.setdefault("stoppingAt", at)
        task.times["executionStoppedAt"] = task.times["stoppedAt"] = at
        task.touch("STOPPED")
        self.runner.release(task)
        log.info("task %s stopped: %s", task.id, task.stopped_reason)
