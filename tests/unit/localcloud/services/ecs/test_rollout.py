"""How an ECS service converges, one scheduler tick at a time: which tasks start, which stop,
and what DescribeServices then reports (counts, deployments, events)."""

from __future__ import annotations

from mysfits_lab.localcloud.services.ecs.models import Deployment, Service, Task
from mysfits_lab.localcloud.services.ecs.rollout import Health, reconcile

CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/tests"
GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/0123456789abcdef"


def _definition(revision: int) -> dict:
    return {
        "taskDefinitionArn": f"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:{revision}",
        "family": "web",
        "containerDefinitions": [
            {"name": "web", "image": "web:v1", "portMappings": [{"containerPort": 8080}]}
        ],
    }


def _deployment(revision: int, desired: int) -> Deployment:
    definition = _definition(revision)
    return Deployment(
        id=f"ecs-svc/{revision}",
        task_definition=definition["taskDefinitionArn"],
        definition=definition,
        desired=desired,
        launch_type="FARGATE",
        network_configuration={"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}},
        created_at=1.0,
    )


def _service(desired: int = 2, max_percent: int = 200, min_percent: int = 100) -> Service:
    return Service(
        arn="arn:aws:ecs:eu-west-1:123456789012:service/tests/web",
        name="web",
        cluster_arn=CLUSTER,
        region="eu-west-1",
        desired=desired,
        load_balancers=[{"targetGroupArn": GROUP, "containerName": "web", "containerPort": 8080}],
        min_healthy_percent=min_percent,
        max_percent=max_percent,
        grace_seconds=0,
        deployments=[_deployment(1, desired)],
    )


class Tick:
    """Runs ``reconcile`` over a service's tasks, playing the scheduler and the load balancer."""

    def __init__(self, service: Service):
        self.service = service
        self.tasks: list[Task] = []
        self.health: Health = {GROUP: {}}
        self.now = 100.0
        self._port = 40000

    def __call__(self) -> list[Task]:
        self.now += 0.25
        started = reconcile(self.service, self.tasks, self.health, self.now, self.now)
        self.tasks += started
        return started

    def activate(self, task: Task, state: str = "healthy") -> None:
        """The task's processes started and it was registered; the load balancer says ``state``."""
        self._port += 1
        task.last_status = "ACTIVATING"
        task.registered = [(GROUP, "127.0.0.1", self._port)]
        self.health[GROUP][("127.0.0.1", self._port)] = state

    def stop(self, task: Task) -> None:
        task.last_status = "STOPPED"
        self.health[GROUP].pop(("127.0.0.1", task.registered[0][2]), None)

    def messages(self) -> list[str]:
        return [e["message"].removeprefix("(service web) ") for e in self.service.events]

    def running(self) -> list[Task]:
        return [t for t in self.tasks if t.alive]


def test_a_new_service_starts_its_tasks_and_is_steady_once_they_are_healthy():
    tick = Tick(_service(desired=2))
    started = tick()
    assert [t.group for t in started] == ["service:web"] * 2
    assert [t.subnet_id for t in started] == ["subnet-a", "subnet-b"]
    assert [t.started_by for t in started] == ["ecs-svc/1"] * 2
    assert tick() == []  # started tasks count, nothing more is started
    for task in started:
        tick.activate(task)
    tick()
    assert [t.last_status for t in started] == ["RUNNING", "RUNNING"]
    assert tick.messages()[:2] == [
        "has reached a steady state.",
        "(deployment ecs-svc/1) deployment completed.",
    ]
    api = tick.service.to_api({}, tick.tasks)
    assert (api["runningCount"], api["pendingCount"]) == (2, 0)
    assert api["deployments"][0]["rolloutState"] == "COMPLETED"


def test_a_rolling_deployment_stops_an_old_task_only_for_a_healthy_new_one():
    tick = Tick(_service(desired=2))
    old = tick()
    for task in old:
        tick.activate(task)
    tick()
    tick.service.deploy(_deployment(2, 2))
    new = tick()
    assert len(new) == 2 and all(t.deployment is tick.service.primary for t in new)
    assert all(t.alive for t in old)  # nothing stops before a new task serves

    tick.activate(new[0], "initial")
    tick.activate(new[1])
    tick()
    stopped = [t for t in old if not t.alive]
    assert len(stopped) == 1 and stopped[0] is old[0]  # the oldest one gives way first
    assert stopped[0].stopped_reason == "Scaling activity initiated by (deployment ecs-svc/2)"

    tick.health[GROUP][("127.0.0.1", new[0].registered[0][2])] = "healthy"
    tick()
    assert not any(t.alive for t in old)
    api = tick.service.to_api({}, tick.tasks)
    assert [(d["status"], d["rolloutState"]) for d in api["deployments"]] == [
        ("PRIMARY", "IN_PROGRESS"),
        ("ACTIVE", "COMPLETED"),
    ]
    for task in old:
        tick.stop(task)
    tick()
    [deployment] = tick.service.to_api({}, tick.tasks)["deployments"]
    assert (deployment["id"], deployment["rolloutState"]) == ("ecs-svc/2", "COMPLETED")
    assert tick.messages()[0] == "has reached a steady state."


def test_at_100_percent_one_extra_task_starts_before_an_old_one_stops():
    tick = Tick(_service(desired=2, max_percent=100, min_percent=50))
    for task in tick():
        tick.activate(task)
    tick()
    tick.service.deploy(_deployment(2, 2))
    assert len(tick()) == 1


def test_with_no_room_minimum_healthy_percent_decides_whether_an_old_task_stops_first():
    tick = Tick(_service(desired=2, max_percent=100, min_percent=100))
    old = tick()
    for task in old:
        tick.activate(task)
    tick()
    tick.service.deploy(_deployment(2, 2))
    extra = tick()  # the one extra task the ceiling allows
    tick.activate(extra[0], "initial")
    tick()
    assert all(t.alive for t in old)  # no room to start, and 100% must keep serving
    tick.service.min_healthy_percent = 50
    tick()
    assert [t.alive for t in old] == [False, True]
    assert len(tick()) == 1  # and a new task takes its room on the next tick


def test_scaling_in_stops_the_newest_unhealthy_tasks_first():
    tick = Tick(_service(desired=3))
    tasks = tick()
    for index, task in enumerate(tasks):
        task.created_at += index
    tick.activate(tasks[0])
    tick.activate(tasks[1], "initial")
    tick.activate(tasks[2])
    tick()
    tick.service.desired = 1
    tick()
    assert [t.alive for t in tasks] == [True, False, False]
    assert tick.messages()[0].startswith("has stopped 2 running tasks: ")


def test_an_unhealthy_task_is_replaced_and_repeated_failures_back_off():
    tick = Tick(_service(desired=1))
    for attempt in range(3):
        tick.now = max(tick.now, tick.service.next_launch)
        [task] = tick()
        tick.activate(task, "unhealthy")
        tick()
        assert task.desired_status == "STOPPED" and task.failed
        assert task.stopped_reason == f"Task failed ELB health checks in (target-group {GROUP})"
        # Backing off before the replacement: 0.5 s, then 1 s, then 2 s.
        assert tick.service.next_launch == tick.now + 0.5 * 2**attempt
        tick.stop(task)
        assert tick() == []
    messages = tick.messages()  # newest first
    assert messages[0].startswith("has stopped 1 running tasks: (task ")
    assert messages[1].startswith("is unable to consistently start tasks successfully.")
    assert messages[2].endswith(
        f"(port 8080) is unhealthy in (target-group {GROUP}) due to (reason Health checks failed)."
    )
    assert sum(m.startswith("is unable to consistently") for m in messages) == 1
    assert tick.service.primary.failed_tasks == 3


def test_an_unhealthy_task_is_left_alone_during_the_grace_period():
    tick = Tick(_service(desired=1))
    tick.service.grace_seconds = 30  # real seconds: the application's start is not faster here
    [task] = tick()
    task.launched_at = tick.now
    tick.activate(task, "unhealthy")
    tick.now += 29
    tick()
    assert task.alive
    tick.now += 1
    tick()
    assert task.desired_status == "STOPPED" and task.failed
