"""Amazon ECS: moto records clusters, task definitions and services; this provider runs them.

A scheduler thread (every 0.25 s) keeps each service at its desired count of RUNNING tasks,
each task being local processes (``tasks.py`` documents what a container sees: PORT/HOST,
environment, logs). What the API reports is the truth about those processes:

- **Task states**: PROVISIONING → PENDING (processes starting) → RUNNING; for a service with a
  load balancer, ACTIVATING in between: the task is registered as the ip target
  ``127.0.0.1:<its port>`` in each target group and becomes RUNNING once healthy there, so that
  ``services_stable`` means "serving". Stopping: DEACTIVATING (targets deregistered, waiting for
  the load balancer to finish draining) → STOPPING (STOPSIGNAL, SIGKILL after ``stopTimeout``)
  → STOPPED, with ``stopCode``/``stoppedReason`` and the container's ``exitCode``.
- **CreateService/UpdateService/DeleteService** go to moto first (CreateService also gets AWS's
  checks that the target group has a load balancer and the container maps the port); the
  answer is amended with our deployments and counts. A new task definition or
  ``forceNewDeployment`` starts a deployment: new tasks start first (up to ``maximumPercent``,
  at least one extra task even at 100%), and an old task is stopped only when a new one is
  healthy (RUNNING) — so a rollout drops no request, whatever ``minimumHealthyPercent`` says
  (it only matters when ``maximumPercent`` leaves no room to start first).
- A task whose essential container exits is STOPPED (``EssentialContainerExited``) and
  replaced; so is one its target group finds unhealthy (after
  ``healthCheckGracePeriodSeconds``). Failures back off (0.5 s doubling to 10 s), count in the
  deployment's ``failedTasks``, and three in a row add AWS's "unable to consistently start
  tasks successfully" event. StopTask (``UserInitiated``) is replaced as on AWS.
- **DescribeServices**: runningCount/pendingCount, deployments (PRIMARY/ACTIVE, rolloutState
  IN_PROGRESS → COMPLETED, per-deployment counts, failedTasks), events newest first ("has started
  1 tasks: (task …).", "registered 1 targets in (target-group …)", "has begun draining
  connections on 1 tasks.", "(deployment …) deployment completed.", "has reached a steady
  state.", ...); DRAINING after DeleteService until the tasks are gone, then INACTIVE.
- **RunTask/StopTask/ListTasks/DescribeTasks** are answered here (moto's tasks never run and
  its RunTask fails on Fargate task definitions): ARNs ``task/<cluster>/<32 hex>``, ``group``
  ``service:<name>`` (or ``family:<family>``), ``startedBy`` the deployment id, the ENI
  attachment's private IP 127.0.0.1. Stopped tasks stay listed (``desiredStatus=STOPPED``) for
  an hour. DescribeClusters counts running and pending tasks.
- ``GET /_localcloud/ecs`` lists services and tasks with their pids, local ports and log folder.

Not modelled: placement, capacity providers, task sets, container health checks (task
healthStatus stays UNKNOWN), secrets, the deployment circuit breaker, several port mappings per
container, services created without passing through the edge (CloudFormation).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from ..awsrequest import AwsRequest
from ..edge import Forward, json_error, json_response
from .tasks import (
    Image,
    LogShipper,
    Task,
    TaskRunner,
    TaskStartError,
    cloud_images,
    epoch,
    new_task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..server import LocalCloud

log = logging.getLogger("mysfits_lab.localcloud.ecs")

TICK = 0.25
# A PENDING task whose processes are still alive after this long has started.
START_SECONDS = 0.2
BACKOFF_BASE, BACKOFF_MAX = 0.5, 10.0
# Safety net should the load balancer never report a deregistered target gone.
MAX_DRAIN_SECONDS = 40.0
SHUTDOWN_GRACE = 3.0
STOPPED_RETENTION = 3600.0
EVENTS_KEPT = 100
PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")


@dataclass
class Deployment:
    id: str
    task_definition: str
    desired: int
    launch_type: str
    network_configuration: dict[str, Any] | None
    status: str = "PRIMARY"
    created_at: float = field(default_factory=epoch)
    updated_at: float = field(default_factory=epoch)
    rollout_state: str = "IN_PROGRESS"
    failed_tasks: int = 0

    def to_api(self, tasks: list[Task]) -> dict[str, Any]:
        mine = [t for t in tasks if t.deployment is self and t.desired_status == "RUNNING"]
        verb = "in progress" if self.rollout_state == "IN_PROGRESS" else "completed"
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "taskDefinition": self.task_definition,
            "desiredCount": self.desired,
            "pendingCount": sum(t.last_status in PENDING_STATES for t in mine),
            "runningCount": sum(t.last_status == "RUNNING" for t in mine),
            "failedTasks": self.failed_tasks,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "launchType": self.launch_type,
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "rolloutState": self.rollout_state,
            "rolloutStateReason": f"ECS deployment {self.id} {verb}.",
        }
        if self.network_configuration:
            data["networkConfiguration"] = self.network_configuration
        return data


@dataclass
class Service:
    arn: str
    name: str
    cluster_arn: str
    region: str
    desired: int
    load_balancers: list[dict[str, Any]]
    min_healthy_percent: int
    max_percent: int
    grace_seconds: float
    deployments: list[Deployment]
    events: deque = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    deleting: bool = False
    failures: int = 0
    next_launch: float = 0.0
    steady: bool = False
    warned_unstable: bool = False

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    def event(self, message: str) -> None:
        log.info("(service %s) %s", self.name, message)
        self.events.appendleft(
            {
                "id": str(uuid.uuid4()),
                "createdAt": epoch(),
                "message": f"(service {self.name}) {message}",
            }
        )


def _deployment_id() -> str:
    return f"ecs-svc/{secrets.randbelow(9 * 10**18) + 10**18}"


def _error(code: str, message: str, status: int = 400) -> Response:
    return json_error(status, code, message)


class EcsProvider:
    name = "ecs"

    def __init__(self, resolver: Callable[[LocalCloud, str], Image] | None = None):
        # The seam for images: the cloud's image store unless a resolver is given (tests).
        self.resolver = resolver or cloud_images
        self.cloud: LocalCloud | None = None
        self.services: dict[str, Service] = {}
        self.tasks: dict[str, Task] = {}  # by ARN, stopped ones included for a while
        self._definitions: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.runner: TaskRunner | None = None
        self.shipper: LogShipper | None = None

    def attach(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.shipper = LogShipper(lambda region: cloud.client("logs", region))
        self.runner = TaskRunner(cloud, self.resolver, self.shipper)
        hooks = {
            "CreateService": self._create_service,
            "UpdateService": self._update_service,
            "DeleteService": self._delete_service,
            "DescribeServices": self._describe_services,
            "DescribeClusters": self._describe_clusters,
            "RunTask": self._run_task,
            "StopTask": self._stop_task,
            "ListTasks": self._list_tasks,
            "DescribeTasks": self._describe_tasks,
        }
        for operation, handler in hooks.items():
            cloud.edge.on("ecs", operation, handler)
        cloud.edge.control_route("ecs", self._control)
        self._thread = threading.Thread(target=self._run, name="ecs-scheduler", daemon=True)
        self._thread.start()

    # -- helpers -----------------------------------------------------------------------------
    def _client(self, service: str, region: str) -> Any:
        assert self.cloud is not None
        return self.cloud.client(service, region)

    def _region(self, req: AwsRequest) -> str:
        assert self.cloud is not None
        return req.region or self.cloud.region

    def _cluster_arn(self, req: AwsRequest, cluster: str | None) -> str | None:
        """The ARN of an ACTIVE cluster named by name or ARN (``default`` when omitted)."""
        name = cluster or "default"
        found = self._client("ecs", self._region(req)).describe_clusters(clusters=[name])
        for entry in found.get("clusters", []):
            if entry.get("status") == "ACTIVE":
                return entry["clusterArn"]
        return None

    def _definition(self, region: str, reference: str) -> dict[str, Any]:
        """A task definition by ARN, family or family:revision (ARNs are cached)."""
        if reference in self._definitions:
            return self._definitions[reference]
        described = self._client("ecs", region).describe_task_definition(taskDefinition=reference)[
            "taskDefinition"
        ]
        self._definitions[described["taskDefinitionArn"]] = described
        return described

    def _service_tasks(self, service: Service) -> list[Task]:
        return [t for t in self.tasks.values() if t.service is service]

    # -- services ----------------------------------------------------------------------------
    def _create_service(self, req: AwsRequest, forward: Forward) -> Response:
        body = req.json()
        region = self._region(req)
        problem = self._check_load_balancers(region, body)
        if problem:
            return _error("InvalidParameterException", problem)
        response = forward()
        if response.status_code != 200:
            return response
        payload = json.loads(response.get_data())
        data = payload["service"]
        config = body.get("deploymentConfiguration") or {}
        service = Service(
            arn=data["serviceArn"],
            name=data["serviceName"],
            cluster_arn=data["clusterArn"],
            region=region,
            desired=int(data.get("desiredCount", body.get("desiredCount", 0)) or 0),
            load_balancers=data.get("loadBalancers") or [],
            min_healthy_percent=int(config.get("minimumHealthyPercent", 100)),
            max_percent=int(config.get("maximumPercent", 200)),
            grace_seconds=float(body.get("healthCheckGracePeriodSeconds") or 0),
            deployments=[
                Deployment(
                    id=_deployment_id(),
                    task_definition=data["taskDefinition"],
                    desired=int(data.get("desiredCount") or 0),
                    launch_type=data.get("launchType") or "FARGATE",
                    network_configuration=data.get("networkConfiguration"),
                )
            ],
        )
        with self._lock:
            self.services[service.arn] = service
            payload["service"] = self._amend(data)
        return json_response(payload)

    def _check_load_balancers(self, region: str, body: dict[str, Any]) -> str | None:
        """AWS's CreateService checks on ``loadBalancers`` that moto does not make."""
        entries = body.get("loadBalancers") or []
        if not entries:
            return None
        try:
            definition = self._definition(region, body.get("taskDefinition", ""))
        except ClientError:
            return None  # moto answers with its own error
        containers = {c["name"]: c for c in definition.get("containerDefinitions", [])}
        elbv2 = self._client("elbv2", region)
        for entry in entries:
            name, port = entry.get("containerName"), entry.get("containerPort")
            mappings = (containers.get(name) or {}).get("portMappings") or []
            if name not in containers or port not in [m.get("containerPort") for m in mappings]:
                return f"The container {name} did not have a container port {port} defined."
            arn = entry.get("targetGroupArn")
            if not arn:
                continue
            try:
                group = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
            except ClientError:
                return f"Unable to find the target group with targetGroupArn {arn}."
            if not group.get("LoadBalancerArns"):
                return (
                    f"The target group with targetGroupArn {arn} does not have an associated "
                    "load balancer."
                )
        return None

    def _update_service(self, req: AwsRequest, forward: Forward) -> Response:
        body = req.json()
        response = forward()
        if response.status_code != 200:
            return response
        payload = json.loads(response.get_data())
        data = payload["service"]
        with self._lock:
            service = self.services.get(data["serviceArn"])
            if service is not None:
                if "desiredCount" in body:
                    service.desired = int(body["desiredCount"])
                config = body.get("deploymentConfiguration") or {}
                service.min_healthy_percent = int(
                    config.get("minimumHealthyPercent", service.min_healthy_percent)
                )
                service.max_percent = int(config.get("maximumPercent", service.max_percent))
                if "healthCheckGracePeriodSeconds" in body:
                    service.grace_seconds = float(body["healthCheckGracePeriodSeconds"] or 0)
                if data.get("loadBalancers") is not None:
                    service.load_balancers = data["loadBalancers"]
                changed = data["taskDefinition"] != service.primary.task_definition
                if changed or body.get("forceNewDeployment"):
                    for old in service.deployments:
                        old.status = "ACTIVE"
                    service.deployments.insert(
                        0,
                        Deployment(
                            id=_deployment_id(),
                            task_definition=data["taskDefinition"],
                            desired=service.desired,
                            launch_type=service.primary.launch_type,
                            network_configuration=data.get("networkConfiguration")
                            or service.primary.network_configuration,
                        ),
                    )
                    service.steady = False
                    service.failures, service.next_launch = 0, 0.0
            payload["service"] = self._amend(data)
        return json_response(payload)

    def _delete_service(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code != 200:
            return response
        payload = json.loads(response.get_data())
        data = payload["service"]
        with self._lock:
            service = self.services.get(data["serviceArn"])
            if service is not None:
                service.deleting = True
                service.desired = 0
            payload["service"] = self._amend(data)
        return json_response(payload)

    def _describe_services(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code != 200:
            return response
        payload = json.loads(response.get_data())
        with self._lock:
            payload["services"] = [self._amend(s) for s in payload.get("services", [])]
        return json_response(payload)

    def _amend(self, data: dict[str, Any]) -> dict[str, Any]:
        """moto's view of a service, with the counts, deployments and events of ours."""
        service = self.services.get(data.get("serviceArn", ""))
        if service is None:
            return data
        tasks = self._service_tasks(service)
        active = [t for t in tasks if t.desired_status == "RUNNING"]
        data["desiredCount"] = service.desired
        data["runningCount"] = sum(t.last_status == "RUNNING" for t in active)
        data["pendingCount"] = sum(t.last_status in PENDING_STATES for t in active)
        data["taskDefinition"] = service.primary.task_definition
        data["deployments"] = [d.to_api(tasks) for d in service.deployments]
        data["events"] = list(service.events)
        data["deploymentConfiguration"] = {
            "maximumPercent": service.max_percent,
            "minimumHealthyPercent": service.min_healthy_percent,
        }
        if service.grace_seconds:
            data["healthCheckGracePeriodSeconds"] = int(service.grace_seconds)
        if service.deleting:
            remaining = any(t.last_status != "STOPPED" for t in tasks)
            data["status"] = "DRAINING" if remaining else "INACTIVE"
        return data

    def _describe_clusters(self, req: AwsRequest, forward: Forward) -> Response:
        response = forward()
        if response.status_code != 200:
            return response
        payload = json.loads(response.get_data())
        with self._lock:
            for cluster in payload.get("clusters", []):
                mine = [
                    t
                    for t in self.tasks.values()
                    if t.cluster_arn == cluster.get("clusterArn") and t.last_status != "STOPPED"
                ]
                cluster["runningTasksCount"] = sum(t.last_status == "RUNNING" for t in mine)
                cluster["pendingTasksCount"] = sum(t.last_status in PENDING_STATES for t in mine)
        return json_response(payload)

    # -- tasks -------------------------------------------------------------------------------
    def _run_task(self, req: AwsRequest, forward: Forward) -> Response:
        body = req.json()
        region = self._region(req)
        cluster_arn = self._cluster_arn(req, body.get("cluster"))
        if cluster_arn is None:
            return _error("ClusterNotFoundException", "Cluster not found.")
        try:
            definition = self._definition(region, body.get("taskDefinition", ""))
        except ClientError:
            return _error("ClientException", "Unable to describe task definition.")
        count = int(body.get("count") or 1)
        if not 1 <= count <= 10:
            return _error("InvalidParameterException", "count must be between 1 and 10.")
        subnets = ((body.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}).get(
            "subnets"
        ) or [None]
        overrides = body.get("overrides") or {}
        tasks = []
        with self._lock:
            for _ in range(count):
                task = new_task(
                    cluster_arn,
                    definition,
                    group=body.get("group") or f"family:{definition['family']}",
                    started_by=body.get("startedBy"),
                    launch_type=body.get("launchType") or "FARGATE",
                    overrides=overrides,
                    tags=body.get("tags") or [],
                    subnet_id=subnets[0],
                )
                self.tasks[task.arn] = task
                tasks.append(task.to_api())
        return json_response({"tasks": tasks, "failures": []})

    def _find_task(self, cluster_arn: str, reference: str) -> Task | None:
        task = self.tasks.get(reference)
        if task is None:
            task_id = reference.rsplit("/", 1)[-1]
            task = next((t for t in self.tasks.values() if t.id == task_id), None)
        return task if task is not None and task.cluster_arn == cluster_arn else None

    def _stop_task(self, req: AwsRequest, forward: Forward) -> Response:
        body = req.json()
        cluster_arn = self._cluster_arn(req, body.get("cluster"))
        if cluster_arn is None:
            return _error("ClusterNotFoundException", "Cluster not found.")
        with self._lock:
            task = self._find_task(cluster_arn, body.get("task", ""))
            if task is None:
                return _error("InvalidParameterException", "The referenced task was not found.")
            self._request_stop(task, "UserInitiated", body.get("reason") or "Task stopped by user")
            return json_response({"task": task.to_api()})

    def _list_tasks(self, req: AwsRequest, forward: Forward) -> Response:
        body = req.json()
        cluster_arn = self._cluster_arn(req, body.get("cluster"))
        if cluster_arn is None:
            return _error("ClusterNotFoundException", "Cluster not found.")
        desired = body.get("desiredStatus") or "RUNNING"
        with self._lock:
            arns = [
                t.arn
                for t in sorted(self.tasks.values(), key=lambda t: t.created_at)
                if t.cluster_arn == cluster_arn
                and t.desired_status == desired
                and (not body.get("serviceName") or self._in_service(t, body["serviceName"]))
                and (not body.get("family") or t.definition.get("family") == body["family"])
                and (not body.get("startedBy") or t.started_by == body["startedBy"])
                and (not body.get("launchType") or t.launch_type == body["launchType"])
            ]
        start = int(body.get("nextToken") or 0)
        size = int(body.get("maxResults") or 100)
        result: dict[str, Any] = {"taskArns": arns[start : start + size]}
        if start + size < len(arns):
            result["nextToken"] = str(start + size)
        return json_response(result)

    @staticmethod
    def _in_service(task: Task, name: str) -> bool:
        service = task.service
        return service is not None and name in (service.name, service.arn)

    def _describe_tasks(self, req: AwsRequest, forward: Forward) -> Response:
        body = req.json()
        cluster_arn = self._cluster_arn(req, body.get("cluster"))
        if cluster_arn is None:
            return _error("ClusterNotFoundException", "Cluster not found.")
        found, failures = [], []
        with self._lock:
            for reference in body.get("tasks", []):
                task = self._find_task(cluster_arn, reference)
                if task is None:
                    arn = reference
                    if not reference.startswith("arn:"):
                        arn = cluster_arn.replace(":cluster/", ":task/") + "/" + reference
                    failures.append({"arn": arn, "reason": "MISSING"})
                else:
                    found.append(task.to_api())
        return json_response({"tasks": found, "failures": failures})

    def _request_stop(self, task: Task, code: str, reason: str) -> None:
        """Ask for a task to stop; the scheduler drains and signals it."""
        if task.desired_status == "STOPPED":
            return
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = code, reason
        task.times.setdefault("stoppingAt", epoch())
        task.touch()

    # -- the scheduler -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopped.is_set():
            started = time.monotonic()
            if not self._closing.is_set():
                try:
                    self._tick()
                except Exception:  # keep scheduling: one bad service must not stop the others
                    log.exception("ECS scheduler tick failed")
            self._stopped.wait(max(0.0, TICK - (time.monotonic() - started)))

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            services = list(self.services.values())
            tasks = list(self.tasks.values())
        health = self._target_health(services, tasks)
        with self._lock:
            for task in tasks:
                self._advance(task, now)
            for service in services:
                self._reconcile(service, health, now)
            for task in tasks:
                self._stop_progress(task, health, now)
            self._prune()

    def _target_health(
        self, services: list[Service], tasks: list[Task]
    ) -> dict[str, dict[tuple[str, int], str]]:
        """Each relevant target group's targets and their states, from the load balancer."""
        groups = {
            (lb["targetGroupArn"], s.region)
            for s in services
            for lb in s.load_balancers
            if lb.get("targetGroupArn")
        }
        groups |= {(g, t.region) for t in tasks for g, _, _ in t.registered}
        health: dict[str, dict[tuple[str, int], str]] = {}
        for arn, region in groups:
            try:
                described = self._client("elbv2", region).describe_target_health(
                    TargetGroupArn=arn
                )["TargetHealthDescriptions"]
            except Exception:
                health[arn] = {}
                continue
            health[arn] = {
                (d["Target"]["Id"], d["Target"].get("Port", 0)): d["TargetHealth"]["State"]
                for d in described
            }
        return health

    def _advance(self, task: Task, now: float) -> None:
        """Start tasks and notice processes that exited."""
        assert self.runner is not None
        if task.last_status == "STOPPED":
            return
        if task.last_status == "PROVISIONING" and task.desired_status == "RUNNING":
            task.times["pullStartedAt"] = epoch()
            try:
                self.runner.launch(task)
            except TaskStartError as exc:
                self._failed(task, "TaskFailedToStart", str(exc))
                for container in task.containers:
                    container.reason = container.reason or str(exc).split(":", 1)[0]
                return
            except Exception as exc:  # a bug or a broken image: report it on the task
                log.exception("starting task %s", task.id)
                self._failed(task, "TaskFailedToStart", f"CannotStartContainerError: {exc}")
                return
            task.times["pullStoppedAt"] = epoch()
            task.times["connectivityAt"] = epoch()
            task.launched_at = now
            task.touch("PENDING")
            return
        for container in task.containers:
            code = container.poll()
            if code is None or task.desired_status == "STOPPED":
                continue
            if container.essential:
                self._request_stop(
                    task, "EssentialContainerExited", "Essential container in task exited"
                )
                task.failed = True
                self._count_failure(task)
            else:
                task.touch()
        if (
            task.last_status == "PENDING"
            and task.desired_status == "RUNNING"
            and now - task.launched_at >= START_SECONDS
        ):
            if task.service is not None and task.service.load_balancers:
                # Registered in its target groups, RUNNING once healthy there (_reconcile).
                task.touch("ACTIVATING")
            else:
                task.times["startedAt"] = epoch()
                task.touch("RUNNING")

    def _failed(self, task: Task, code: str, reason: str) -> None:
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason, task.failed = code, reason, True
        for container in task.containers:
            container.status = "STOPPED"
        stamp = epoch()
        task.times.update(stoppingAt=stamp, executionStoppedAt=stamp, stoppedAt=stamp)
        task.touch("STOPPED")
        self._count_failure(task)
        log.info("task %s failed to start: %s", task.id, reason)

    def _count_failure(self, task: Task) -> None:
        service = task.service
        if service is None:
            return
        if task.deployment is not None:
            task.deployment.failed_tasks += 1
        service.failures += 1
        delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (service.failures - 1))
        service.next_launch = time.monotonic() + delay
        if service.failures >= 3 and not service.warned_unstable:
            service.warned_unstable = True
            service.event(
                "is unable to consistently start tasks successfully. For more information, see "
                "the Troubleshooting section of the Amazon ECS Developer Guide."
            )

    def _target_state(self, task: Task, health: dict[str, dict[tuple[str, int], str]]) -> str:
        """The worst state of a task's targets: healthy only when healthy everywhere."""
        service = task.service
        if not service.load_balancers:
            return "healthy" if task.last_status == "RUNNING" else "initial"
        if not task.registered:
            return "initial"
        states = [
            health.get(group, {}).get((ip, port), "initial") for group, ip, port in task.registered
        ]
        for state in ("unhealthy", "initial", "draining", "unused"):
            if state in states:
                return state
        return "healthy"

    def _reconcile(
        self, service: Service, health: dict[str, dict[tuple[str, int], str]], now: float
    ) -> None:
        tasks = self._service_tasks(service)
        desired = 0 if service.deleting else service.desired
        primary = service.primary
        if primary.desired != desired:
            primary.desired, primary.updated_at = desired, epoch()

        # Register RUNNING tasks, and replace the ones the load balancer finds unhealthy.
        alive = [t for t in tasks if t.alive]
        for task in alive:
            if task.last_status == "ACTIVATING" and not task.registered:
                self._register(service, task)
            state = self._target_state(task, health)
            if state == "healthy" and task.last_status == "ACTIVATING":
                task.times["startedAt"] = epoch()
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
                container_port = service.load_balancers[0].get("containerPort")
                service.event(
                    f"(task {task.id}) (port {container_port}) is unhealthy in (target-group "
                    f"{group}) due to (reason Health checks failed)."
                )
                self._request_stop(
                    task,
                    "ServiceSchedulerInitiated",
                    f"Task failed ELB health checks in (target-group {group})",
                )
                task.failed = True
                self._count_failure(task)
                service.event(f"has stopped 1 running tasks: (task {task.id}).")
        alive = [t for t in tasks if t.alive]

        def healthy(task: Task) -> bool:
            return task.last_status == "RUNNING" and self._target_state(task, health) == "healthy"

        current = [t for t in alive if t.deployment is primary]
        old = [t for t in alive if t.deployment is not primary]

        # Too many tasks of the primary deployment (scaled in): stop the least useful first.
        stopping: list[Task] = []
        if len(current) > desired:
            ranked = sorted(current, key=lambda t: (healthy(t), -t.created_at))
            stopping += ranked[: len(current) - desired]
            current = [t for t in current if t not in stopping]

        # Start what the primary deployment lacks, within maximumPercent (one extra at least).
        ceiling = (
            max(math.floor(desired * service.max_percent / 100), desired + 1) if desired else 0
        )
        missing = desired - len(current)
        room = ceiling - (len(current) + len(old))
        if missing > 0 and room > 0 and now >= service.next_launch:
            self._start_tasks(service, min(missing, room))
        elif missing > 0 and room <= 0 and old:
            # No room to start before stopping: stop one old task if minimumHealthyPercent allows.
            floor = math.ceil(desired * service.min_healthy_percent / 100)
            serving = sum(healthy(t) for t in current + old)
            candidate = sorted(old, key=lambda t: (healthy(t), t.created_at))[0]
            if serving - healthy(candidate) >= floor:
                stopping.append(candidate)
                old.remove(candidate)

        # Old deployments give way as new tasks become healthy; tasks that serve nothing first.
        keep = max(0, desired - sum(healthy(t) for t in current))
        serving_old = sorted((t for t in old if healthy(t)), key=lambda t: t.created_at)
        stopping += [t for t in old if not healthy(t)]
        stopping += serving_old[: max(0, len(serving_old) - keep)]

        if stopping:
            reason = f"Scaling activity initiated by (deployment {primary.id})"
            for task in stopping:
                self._request_stop(task, "ServiceSchedulerInitiated", reason)
            ids = " ".join(f"(task {t.id})" for t in stopping)
            service.event(f"has stopped {len(stopping)} running tasks: {ids}.")

        # Old deployments scale in as their tasks stop, and leave the list once all are gone.
        for deployment in service.deployments[1:]:
            deployment.desired = sum(t.alive and t.deployment is deployment for t in tasks)
            if not any(t.deployment is deployment and t.last_status != "STOPPED" for t in tasks):
                service.deployments.remove(deployment)
        primary_tasks = [t for t in tasks if t.alive and t.deployment is primary]
        settled = (
            len(service.deployments) == 1
            and len(primary_tasks) == desired
            and all(healthy(t) for t in primary_tasks)
            and not any(t.last_status != "STOPPED" and not t.alive for t in tasks)
        )
        if settled and not service.steady:
            service.steady = True
            if primary.rollout_state == "IN_PROGRESS":
                primary.rollout_state, primary.updated_at = "COMPLETED", epoch()
                service.event(f"(deployment {primary.id}) deployment completed.")
            service.event("has reached a steady state.")
        elif not settled and service.steady:
            service.steady = False

    def _start_tasks(self, service: Service, count: int) -> None:
        deployment = service.primary
        definition = self._definition(service.region, deployment.task_definition)
        subnets = ((deployment.network_configuration or {}).get("awsvpcConfiguration") or {}).get(
            "subnets"
        ) or [None]
        started = []
        for index in range(count):
            task = new_task(
                service.cluster_arn,
                definition,
                group=f"service:{service.name}",
                started_by=deployment.id,
                launch_type=deployment.launch_type,
                subnet_id=subnets[index % len(subnets)],
                service=service,
                deployment=deployment,
            )
            self.tasks[task.arn] = task
            started.append(task)
        ids = " ".join(f"(task {t.id})" for t in started)
        service.event(f"has started {len(started)} tasks: {ids}.")

    def _register(self, service: Service, task: Task) -> None:
        for entry in service.load_balancers:
            group = entry.get("targetGroupArn")
            port = task.port_of(entry.get("containerName", ""))
            if not group or port is None:
                continue
            try:
                self._client("elbv2", service.region).register_targets(
                    TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": port}]
                )
            except ClientError as exc:
                log.warning("registering task %s in %s: %s", task.id, group, exc)
                continue
            task.registered.append((group, "127.0.0.1", port))
            service.event(f"registered 1 targets in (target-group {group})")

    def _deregister(self, task: Task) -> None:
        by_group: dict[str, int] = {}
        for group, ip, port in task.registered:
            try:
                self._client("elbv2", task.region).deregister_targets(
                    TargetGroupArn=group, Targets=[{"Id": ip, "Port": port}]
                )
                by_group[group] = by_group.get(group, 0) + 1
            except ClientError as exc:
                # A deleted target group has nothing left to drain (teardowns do this).
                gone = exc.response["Error"]["Code"] == "TargetGroupNotFound"
                log.log(
                    logging.DEBUG if gone else logging.WARNING,
                    "deregistering task %s from %s: %s",
                    task.id,
                    group,
                    exc,
                )
        if task.service is not None:
            for group, count in by_group.items():
                task.service.event(f"deregistered {count} targets in (target-group {group})")

    def _stop_progress(
        self, task: Task, health: dict[str, dict[tuple[str, int], str]], now: float
    ) -> None:
        """Move a task asked to stop through draining and signals to STOPPED."""
        if task.desired_status != "STOPPED" or task.last_status == "STOPPED":
            return
        if task.last_status in ("PROVISIONING",):
            self._finish(task)
            return
        if task.last_status in ("PENDING", "ACTIVATING", "RUNNING"):
            if task.registered:
                self._deregister(task)
                if task.service is not None:
                    task.service.event("has begun draining connections on 1 tasks.")
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
                container.send(container.stop_signal)
            task.kill_at = (
                now + max(c.stop_timeout for c in task.containers) if task.containers else now
            )
            task.touch("STOPPING")
        if task.last_status == "STOPPING":
            running = [c for c in task.containers if c.process is not None and c.poll() is None]
            if not running:
                self._finish(task)
            elif now >= task.kill_at:
                for container in running:
                    container.send(9)

    def _finish(self, task: Task) -> None:
        stamp = epoch()
        for container in task.containers:
            container.poll()
            container.status = "STOPPED"
        task.times.setdefault("stoppingAt", stamp)
        task.times["executionStoppedAt"] = stamp
        task.times["stoppedAt"] = stamp
        task.touch("STOPPED")
        log.info("task %s stopped: %s", task.id, task.stopped_reason)

    def _prune(self) -> None:
        cutoff = epoch() - STOPPED_RETENTION
        for arn, task in list(self.tasks.items()):
            if task.last_status == "STOPPED" and task.times.get("stoppedAt", 0) < cutoff:
                del self.tasks[arn]

    # -- control route, status, lifecycle ----------------------------------------------------
    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "services": {
                    s.arn: {
                        "name": s.name,
                        "desired": 0 if s.deleting else s.desired,
                        "running": sum(
                            t.alive and t.last_status == "RUNNING" for t in self._service_tasks(s)
                        ),
                        "deployments": [d.id for d in s.deployments],
                    }
                    for s in self.services.values()
                },
                "tasks": [
                    {
                        "arn": t.arn,
                        "id": t.id,
                        "service": t.service.name if t.service else None,
                        "lastStatus": t.last_status,
                        "desiredStatus": t.desired_status,
                        "pids": t.pids(),
                        "ports": {c.name: c.host_port for c in t.containers},
                        "logs": str(self.runner.log_dir / t.id) if self.runner else None,
                    }
                    for t in sorted(self.tasks.values(), key=lambda t: t.created_at)
                ],
            }

    def _control(self, request: Request) -> Any:
        return self.describe()

    def status(self) -> dict[str, Any]:
        with self._lock:
            running = sum(t.last_status == "RUNNING" for t in self.tasks.values())
            return {"ecs": {"services": len(self.services), "running_tasks": running}}

    def stop(self) -> None:
        """Stop every task process (signal, short grace, then SIGKILL), then the scheduler."""
        self._closing.set()
        with self._lock:
            containers = [
                c for t in self.tasks.values() for c in t.containers if c.process is not None
            ]
        for container in containers:
            container.send(container.stop_signal)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for container in containers:
            if container.process is None:
                continue
            try:
                container.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:
                container.send(9)
                try:
                    container.process.wait(timeout=2)
                except Exception:
                    log.warning("task process %s did not die", container.process.pid)
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.shipper is not None:
            self.shipper.close()
