"""What ECS reports about services and tasks, kept beside moto's records. Pure state (no I/O):
the processes behind a container are only referenced here; ``runner.py`` starts them and
``scheduler.py`` moves tasks through their states."""

from __future__ import annotations

import secrets
import signal
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...core.processes import Process

PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
DEFAULT_STOP_TIMEOUT = 30.0
EVENTS_KEPT = 100
TAIL_LINES = 20
BACKOFF_BASE, BACKOFF_MAX = 0.5, 10.0  # seconds between failed launches, doubling
TIMES = (
    "connectivityAt",
    "pullStartedAt",
    "pullStoppedAt",
    "startedAt",
    "stoppingAt",
    "executionStoppedAt",
    "stoppedAt",
)


def new_deployment_id() -> str:
    return f"ecs-svc/{secrets.randbelow(9 * 10**18) + 10**18}"


def subnets_of(network_configuration: dict[str, Any] | None) -> list[str | None]:
    """The awsvpc subnets to spread tasks over ([None] when there are none)."""
    vpc = (network_configuration or {}).get("awsvpcConfiguration") or {}
    return vpc.get("subnets") or [None]


@dataclass
class Deployment:
    id: str
    task_definition: str  # its ARN
    definition: dict[str, Any]  # the task definition itself, as DescribeTaskDefinition gives it
    desired: int
    launch_type: str
    network_configuration: dict[str, Any] | None
    created_at: float
    status: str = "PRIMARY"
    rollout_state: str = "IN_PROGRESS"
    failed_tasks: int = 0
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at

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
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    deleting: bool = False
    inactive_since: float = 0.0  # epoch seconds: deleted, and its last task stopped
    failures: int = 0  # failed launches in a row
    next_launch: float = 0.0  # monotonic time before which no task is started (back-off)
    steady: bool = False
    warned_unstable: bool = False
    recorded: int = 0  # events recorded so far: every scheduler change worth reporting has one

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    def event(self, message: str, at: float) -> str:
        """Record a service event (newest first); the message as DescribeServices shows it."""
        text = f"(service {self.name}) {message}"
        self.events.appendleft({"id": str(uuid.uuid4()), "createdAt": at, "message": text})
        self.recorded += 1
        return text

    def deploy(self, deployment: Deployment) -> None:
        """Make ``deployment`` the primary one; the others give way as it becomes healthy."""
        for old in self.deployments:
            old.status = "ACTIVE"
        self.deployments.insert(0, deployment)
        self.steady = False
        self.failures, self.next_launch = 0, 0.0

    def count_failure(self, deployment: Deployment | None, now: float) -> bool:
        """A task failed: back off before the next launch (``now`` is monotonic); whether the
        service has just become unable to start tasks consistently (three in a row)."""
        if deployment is not None:
            deployment.failed_tasks += 1
        self.failures += 1
        self.next_launch = now + min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self.failures - 1))
        unstable = self.failures >= 3 and not self.warned_unstable
        self.warned_unstable = self.warned_unstable or unstable
        return unstable

    def to_api(self, data: dict[str, Any], tasks: list[Task]) -> dict[str, Any]:
        """moto's view of the service (``data``) with the counts, deployments and events."""
        active = [t for t in tasks if t.desired_status == "RUNNING"]
        data["desiredCount"] = self.desired
        data["runningCount"] = sum(t.last_status == "RUNNING" for t in active)
        data["pendingCount"] = sum(t.last_status in PENDING_STATES for t in active)
        data["taskDefinition"] = self.primary.task_definition
        data["deployments"] = [d.to_api(tasks) for d in self.deployments]
        data["events"] = list(self.events)
        data["deploymentConfiguration"] = {
            "maximumPercent": self.max_percent,
            "minimumHealthyPercent": self.min_healthy_percent,
        }
        if self.grace_seconds:
            data["healthCheckGracePeriodSeconds"] = int(self.grace_seconds)
        if self.deleting:
            remaining = any(t.last_status != "STOPPED" for t in tasks)
            data["status"] = "DRAINING" if remaining else "INACTIVE"
        return data


@dataclass
class Container:
    """One container of a task: its definition and, once started, its process."""

    definition: dict[str, Any]
    arn: str
    runtime_id: str
    status: str = "PENDING"
    host_port: int | None = None  # where its process listens: containerPort, unless remapped
    exit_code: int | None = None
    reason: str | None = None
    image_digest: str | None = None
    stop_signal: int = signal.SIGTERM
    process: Process | None = None
    # Its last output lines: why it exited, when it was the port it could not bind.
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def essential(self) -> bool:
        return self.definition.get("essential", True)

    @property
    def container_port(self) -> int | None:
        mappings = self.definition.get("portMappings") or []
        return mappings[0].get("containerPort") if mappings else None

    @property
    def stop_timeout(self) -> float:
        return float(self.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)

    def to_api(self, task: Task) -> dict[str, Any]:
        data: dict[str, Any] = {
            "containerArn": self.arn,
            "taskArn": task.arn,
            "name": self.name,
            "image": self.definition.get("image", ""),
            "runtimeId": self.runtime_id,
            "lastStatus": self.status,
            "networkBindings": [],
            "networkInterfaces": [
                {"attachmentId": task.attachment_id, "privateIpv4Address": task.private_ip}
            ]
            if task.private_ip
            else [],
            "healthStatus": "UNKNOWN",
            "cpu": str(self.definition.get("cpu", 0)),
        }
        if self.image_digest:
            data["imageDigest"] = self.image_digest
        if self.definition.get("memory"):
            data["memory"] = str(self.definition["memory"])
        if self.exit_code is not None:
            data["exitCode"] = self.exit_code
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass
class Task:
    """An ECS task: what DescribeTasks reports, plus the scheduler's bookkeeping."""

    id: str
    arn: str
    cluster_arn: str
    region: str
    definition: dict[str, Any]
    containers: list[Container]
    group: str
    created_at: float
    started_by: str | None = None
    launch_type: str = "FARGATE"
    overrides: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    subnet_id: str | None = None
    service: Service | None = None
    deployment: Deployment | None = None
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    times: dict[str, float] = field(default_factory=dict)
    stop_code: str | None = None
    stopped_reason: str | None = None
    version: int = 1
    attachment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    eni_id: str = field(default_factory=lambda: "eni-" + secrets.token_hex(8)[:17])
    private_ip: str = ""  # its ENI's: a loopback address of its own once launched (runner.py)
    # Scheduler bookkeeping (not reported)
    registered: list[tuple[str, str, int]] = field(default_factory=list)  # (group, ip, port)
    holds_address: bool = False  # private_ip is the task's until it stops
    failed: bool = False
    was_healthy: bool = False
    launched_at: float = 0.0  # monotonic
    kill_at: float = 0.0  # monotonic
    drain_until: float = 0.0  # monotonic

    @property
    def alive(self) -> bool:
        return self.desired_status == "RUNNING" and self.last_status != "STOPPED"

    def touch(self, status: str | None = None) -> None:
        if status:
            self.last_status = status
        self.version += 1

    def request_stop(self, code: str, reason: str, at: float) -> None:
        """Ask for the task to stop; the scheduler drains and signals it."""
        if self.desired_status == "STOPPED":
            return
        self.desired_status = "STOPPED"
        self.stop_code, self.stopped_reason = code, reason
        self.times.setdefault("stoppingAt", at)
        self.touch()

    def port_of(self, container_name: str) -> int | None:
        return next((c.host_port for c in self.containers if c.name == container_name), None)

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.containers if c.process is not None]

    def in_service(self, name: str) -> bool:
        return self.service is not None and name in (self.service.name, self.service.arn)

    def to_api(self) -> dict[str, Any]:
        definition = self.definition
        details = [{"name": "subnetId", "value": self.subnet_id or ""}]
        if self.private_ip:  # as on AWS, the ENI's details once it exists
            details += [
                {"name": "networkInterfaceId", "value": self.eni_id},
                {"name": "macAddress", "value": "02:00:00:00:00:01"},
                {"name": "privateDnsName", "value": self.private_ip},
                {"name": "privateIPv4Address", "value": self.private_ip},
            ]
        attachment = "ATTACHED" if self.private_ip else "PRECREATED"
        overrides = {"containerOverrides": [], "inferenceAcceleratorOverrides": []}
        task: dict[str, Any] = {
            "taskArn": self.arn,
            "clusterArn": self.cluster_arn,
            "taskDefinitionArn": definition["taskDefinitionArn"],
            "overrides": overrides | self.overrides,
            "lastStatus": self.last_status,
            "desiredStatus": self.desired_status,
            "cpu": str(definition.get("cpu", "256")),
            "memory": str(definition.get("memory", "512")),
            "containers": [c.to_api(self) for c in self.containers],
            "version": self.version,
            "connectivity": "CONNECTED",
            "createdAt": self.created_at,
            "group": self.group,
            "launchType": self.launch_type,
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "availabilityZone": f"{self.region}a",
            "attachments": [
                {
                    "id": self.attachment_id,
                    "type": "ElasticNetworkInterface",
                    "status": "DELETED" if self.last_status == "STOPPED" else attachment,
                    "details": details,
                }
            ],
            "healthStatus": "UNKNOWN",
            "tags": self.tags,
            "enableExecuteCommand": False,
            "ephemeralStorage": {"sizeInGiB": 20},
        }
        if self.started_by:
            task["startedBy"] = self.started_by
        task.update({key: self.times[key] for key in TIMES if key in self.times})
        if self.stop_code:
            task["stopCode"] = self.stop_code
        if self.stopped_reason:
            task["stoppedReason"] = self.stopped_reason
        return task


def new_task(
    cluster_arn: str, definition: dict[str, Any], group: str, created_at: float, **fields: Any
) -> Task:
    """A PROVISIONING task with the ARN layout ``task/<cluster>/<32 hex>``."""
    _, _, _, region, account, _ = cluster_arn.split(":", 5)
    cluster = cluster_arn.rsplit("/", 1)[-1]
    task_id = uuid.uuid4().hex
    containers = [
        Container(
            definition=c,
            arn=f"arn:aws:ecs:{region}:{account}:container/{cluster}/{task_id}/{uuid.uuid4()}",
            runtime_id=f"{task_id}-{secrets.randbelow(10**10):010d}",
        )
        for c in definition.get("containerDefinitions", [])
    ]
    return Task(
        id=task_id,
        arn=f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task_id}",
        cluster_arn=cluster_arn,
        region=region,
        definition=definition,
        containers=containers,
        group=group,
        created_at=created_at,
        **fields,
    )
