"""Module 2's runtime on a fresh local cloud: ECS services run as processes behind a real NLB.

What is checked is what a learner sees: HTTP answers through the load balancer's URL, the states
ECS and ELB report, the botocore waiters, and the tasks' log events.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from mysfits_lab import service_bundle
from mysfits_lab.localcloud import control
from tests.helpers import EdgeSession, pids_alive, wait_for

APP = Path(__file__).parent / "ecs_app"
CLUSTER = "tests-cluster"
LOG_GROUP = "tests-ecs"
TASK_ARN = re.compile(r"^arn:aws:ecs:us-east-1:123456789012:task/tests-cluster/[0-9a-f]{32}$")
STABLE = {"Delay": 1, "MaxAttempts": 30}


class Stack(EdgeSession):
    """What the tests share: clients to the cloud, the NLB and its target group, the image."""

    def build_image(self, context: Path, tag: str) -> None:
        self.control("images/build", {"context": str(context), "tags": [tag]})

    def task_definition(self, family: str, **container: Any) -> str:
        definition = {
            "name": family,
            "image": "ecs-tests/app:v1",
            "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": LOG_GROUP,
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "app",
                },
            },
        } | container
        return self.client("ecs").register_task_definition(
            family=family,
            cpu="256",
            memory="512",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            containerDefinitions=[definition],
        )["taskDefinition"]["taskDefinitionArn"]

    def target_group(self, name: str) -> str:
        return self.client("elbv2").create_target_group(
            Name=name,
            Protocol="TCP",
            Port=8080,
            VpcId=self.vpc,
            TargetType="ip",
            HealthCheckProtocol="HTTP",
            HealthCheckPath="/",
            HealthCheckIntervalSeconds=5,  # 0.25 s on loopback
            HealthCheckTimeoutSeconds=2,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]

    def listener(self, port: int, group: str) -> str:
        return self.client("elbv2").create_listener(
            LoadBalancerArn=self.nlb_arn,
            Protocol="TCP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
        )["Listeners"][0]["ListenerArn"]

    def create_service(self, name: str, family: str, count: int, group: str | None) -> None:
        self.client("ecs").create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=family,
            desiredCount=count,
            launchType="FARGATE",
            deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 0},
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": [self.subnet],
                    "securityGroups": [self.security_group],
                    "assignPublicIp": "DISABLED",
                }
            },
            loadBalancers=[
                {"targetGroupArn": group, "containerName": family, "containerPort": 8080}
            ]
            if group
            else [],
        )

    def service(self, name: str) -> dict[str, Any]:
        return self.client("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0]

    def tasks(self, service: str, desired: str = "RUNNING") -> list[dict[str, Any]]:
        ecs = self.client("ecs")
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus=desired)
        if not arns["taskArns"]:
            return []
        return ecs.describe_tasks(cluster=CLUSTER, tasks=arns["taskArns"])["tasks"]

    def health(self, group: str | None = None) -> dict[tuple[str, int], dict[str, str]]:
        described = self.client("elbv2").describe_target_health(TargetGroupArn=group or self.group)
        return {
            (d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]
            for d in described["TargetHealthDescriptions"]
        }

    def log_messages(self, stream: str) -> list[str]:
        try:
            events = self.client("logs").get_log_events(
                logGroupName=LOG_GROUP, logStreamName=stream
            )
        except self.client("logs").exceptions.ResourceNotFoundException:
            return []
        return [e["message"] for e in events["events"]]


@pytest.fixture(scope="module")
def stack(cloud: Any) -> Stack:
    stack = Stack(cloud.port)
    stack.build_image(APP, "ecs-tests/app:v1")
    ec2, elbv2 = stack.client("ec2"), stack.client("elbv2")
    stack.vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    stack.subnet = ec2.create_subnet(VpcId=stack.vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    stack.security_group = ec2.create_security_group(
        GroupName="tasks", Description="tasks", VpcId=stack.vpc
    )["GroupId"]
    nlb = elbv2.create_load_balancer(Name="tests-nlb", Type="network", Subnets=[stack.subnet])
    stack.nlb_arn = nlb["LoadBalancers"][0]["LoadBalancerArn"]
    stack.group = stack.target_group("tests-tg")
    stack.listener(80, stack.group)
    stack.url = stack.control("loadbalancers/tests-nlb")["listeners"]["80"]
    stack.client("ecs").create_cluster(clusterName=CLUSTER)
    stack.client("logs").create_log_group(logGroupName=LOG_GROUP)
    stack.task_definition("web", environment=[{"name": "APP_VERSION", "value": "v1"}])
    return stack


@pytest.fixture(scope="module")
def web(stack: Stack) -> str:
    stack.create_service("web", "web", 2, stack.group)
    stack.client("ecs").get_waiter("services_stable").wait(
        cluster=CLUSTER, services=["web"], WaiterConfig=STABLE
    )
    return "web"


def whoami(stack: Stack) -> dict[str, Any]:
    response = requests.get(f"{stack.url}/whoami", timeout=5)
    response.raise_for_status()
    return response.json()


def test_the_nlb_is_active_with_a_stable_local_url(stack):
    balancer = stack.client("elbv2").describe_load_balancers(Names=["tests-nlb"])
    assert balancer["LoadBalancers"][0]["State"]["Code"] == "active"
    listing = stack.control("loadbalancers")
    assert listing["tests-nlb"]["listeners"] == {"80": stack.url}
    assert listing["tests-nlb"]["dns_name"].endswith(".elb.amazonaws.com")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", stack.url)
    # No healthy target yet: the NLB refuses the connection.
    with pytest.raises(requests.ConnectionError):
        requests.get(stack.url, timeout=5)


def test_a_service_runs_its_tasks_behind_the_nlb(stack, web):
    ecs = stack.client("ecs")
    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[web], WaiterConfig=STABLE)
    service = stack.service(web)
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (2, 2, 0)
    [deployment] = service["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["rolloutState"] == "COMPLETED"
    assert deployment["runningCount"] == 2
    messages = [e["message"] for e in service["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert any(m.startswith("(service web) has started 2 tasks: (task ") for m in messages)

    health = stack.health()
    assert [h["State"] for h in health.values()] == ["healthy", "healthy"]
    answers = [whoami(stack) for _ in range(10)]
    pids = [a["pid"] for a in answers]
    assert len(set(pids)) == 2
    assert all(pids[i] != pids[i + 1] for i in range(9)), "round robin alternates the tasks"
    # Each task listens on the containerPort at its own loopback address, its private IP.
    addresses = {ip for ip, _ in health}
    assert len(addresses) == 2 and "127.0.0.1" not in addresses
    assert {a["port"] for a in answers} == {port for _, port in health} == {8080}

    tasks = stack.tasks(web)
    assert len(tasks) == 2
    for task in tasks:
        assert TASK_ARN.match(task["taskArn"])
        assert (task["lastStatus"], task["desiredStatus"]) == ("RUNNING", "RUNNING")
        assert task["group"] == "service:web" and task["startedBy"] == deployment["id"]
        assert task["taskDefinitionArn"].endswith(":task-definition/web:1")
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        assert details["privateIPv4Address"] in addresses
        [container] = task["containers"]
        assert container["lastStatus"] == "RUNNING"
        assert container["imageDigest"].startswith("sha256:")
        assert "startedAt" in task
    ecs.get_waiter("tasks_running").wait(
        cluster=CLUSTER, tasks=[t["taskArn"] for t in tasks], WaiterConfig={"Delay": 1}
    )

    for task in tasks:
        stream = f"app/web/{task['taskArn'].rsplit('/', 1)[-1]}"
        messages = wait_for(
            lambda stream=stream: [m for m in stack.log_messages(stream) if "GET /whoami" in m],
            f"request lines in {stream}",
        )
        assert messages[0] == "v1 GET /whoami"
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        listening = f"app v1 listening on {details['privateIPv4Address']}:8080"
        assert stack.log_messages(stream)[0] == listening


class Traffic:
    """Clients that each send requests through the NLB one after another until stopped.

    Requests take 30 ms, so that whenever a task stops, requests are in flight on it.
    """

    def __init__(self, url: str, clients: int = 3):
        self.url = f"{url}/whoami?delay=0.03"
        self.answers: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._client) for _ in range(clients)]

    def _client(self) -> None:
        while not self._done.is_set():
            try:
                response = requests.get(self.url, timeout=5)
                response.raise_for_status()
                self.answers.append(response.json())
            except requests.RequestException as exc:
                self.failures.append(repr(exc))

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join()


def test_stopping_a_task_drops_no_request_and_it_is_replaced(stack, web):
    ecs = stack.client("ecs")
    before = {t["taskArn"] for t in stack.tasks(web)}
    victim = sorted(before)[0]
    with Traffic(stack.url) as traffic:
        wait_for(lambda: len(traffic.answers) >= 30, "traffic")
        stopped = ecs.stop_task(cluster=CLUSTER, task=victim, reason="test")
        assert stopped["task"]["desiredStatus"] == "STOPPED"
        ecs.get_waiter("tasks_stopped").wait(
            cluster=CLUSTER, tasks=[victim], WaiterConfig={"Delay": 1}
        )
        wait_for(lambda: len(traffic.answers) >= 200, "200 requests")
    assert traffic.failures == []
    assert len({a["pid"] for a in traffic.answers}) == 3  # the victim, its peer, the new task

    [task] = ecs.describe_tasks(cluster=CLUSTER, tasks=[victim])["tasks"]
    assert (task["lastStatus"], task["stopCode"], task["stoppedReason"]) == (
        "STOPPED",
        "UserInitiated",
        "test",
    )
    assert task["containers"][0]["lastStatus"] == "STOPPED" and "stoppedAt" in task
    stopped_arns = {t["taskArn"] for t in stack.tasks(web, desired="STOPPED")}
    assert victim in stopped_arns

    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[web], WaiterConfig=STABLE)
    after = {t["taskArn"] for t in stack.tasks(web)}
    assert len(after) == 2 and victim not in after and len(after - before) == 1
    assert stack.service(web)["runningCount"] == 2
    assert len(stack.health()) == 2


def test_a_rolling_deployment_drops_no_request(stack, web):
    ecs = stack.client("ecs")
    old_tasks = {t["taskArn"] for t in stack.tasks(web)}
    v2 = stack.task_definition("web", environment=[{"name": "APP_VERSION", "value": "v2"}])
    with Traffic(stack.url) as traffic:
        wait_for(lambda: len(traffic.answers) >= 30, "traffic")
        updated = ecs.update_service(cluster=CLUSTER, service=web, taskDefinition=v2)
        deployments = updated["service"]["deployments"]
        assert [(d["status"], d["rolloutState"]) for d in deployments] == [
            ("PRIMARY", "IN_PROGRESS"),
            ("ACTIVE", "COMPLETED"),
        ]
        new_id = deployments[0]["id"]
        ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[web], WaiterConfig=STABLE)
        # At least 100 requests in all, however fast the deployment went on a busy machine.
        wait_for(lambda: len(traffic.answers) >= 100, "100 requests")
    assert traffic.failures == []
    versions = [a["version"] for a in traffic.answers]
    assert versions[0] == "v1" and versions[-1] == "v2" and len(versions) >= 100
    assert [whoami(stack)["version"] for _ in range(10)] == ["v2"] * 10

    [deployment] = stack.service(web)["deployments"]
    assert (deployment["id"], deployment["taskDefinition"]) == (new_id, v2)
    assert deployment["rolloutState"] == "COMPLETED"
    messages = [e["message"] for e in stack.service(web)["events"]]
    assert messages[:2] == [
        "(service web) has reached a steady state.",
        f"(service web) (deployment {new_id}) deployment completed.",
    ]
    assert "(service web) has begun draining connections on 1 tasks." in messages
    stopped = ecs.describe_tasks(cluster=CLUSTER, tasks=sorted(old_tasks))["tasks"]
    for task in stopped:
        assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "ServiceSchedulerInitiated")
        assert task["stoppedReason"] == f"Scaling activity initiated by (deployment {new_id})"


class _Failing(BaseHTTPRequestHandler):
    """A target that fails its health checks, and records any request that is not one."""

    hits: list[str] = []

    def do_GET(self) -> None:
        if self.headers.get("User-Agent") != "ELB-HealthChecker/2.0":
            _Failing.hits.append(self.path)
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_target() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_target_failing_health_checks_is_unhealthy_and_gets_no_traffic(
    stack, web, failing_target
):
    elbv2 = stack.client("elbv2")
    target = {"Id": "127.0.0.1", "Port": failing_target}
    elbv2.register_targets(TargetGroupArn=stack.group, Targets=[target])
    assert stack.health()[("127.0.0.1", failing_target)]["State"] == "initial"
    state = wait_for(  # after failing for 10 s at least
        lambda: (h := stack.health()[("127.0.0.1", failing_target)])["State"] == "unhealthy" and h,
        "the target to be unhealthy",
        timeout=30,
    )
    assert state["Reason"] == "Target.FailedHealthChecks"
    assert [whoami(stack)["version"] for _ in range(20)] == ["v2"] * 20
    assert _Failing.hits == []

    elbv2.deregister_targets(TargetGroupArn=stack.group, Targets=[target])
    wait_for(lambda: ("127.0.0.1", failing_target) not in stack.health(), "deregistration")
    assert len(stack.health()) == 2


def test_a_task_that_exits_is_stopped_with_its_exit_code_and_replaced(stack):
    ecs = stack.client("ecs")
    stack.task_definition(
        "crash",
        portMappings=[],
        command=["python", "-c", "print('boom', flush=True); raise SystemExit(3)"],
    )
    stack.create_service("crash", "crash", 1, None)
    stopped = wait_for(
        lambda: len(tasks := stack.tasks("crash", desired="STOPPED")) >= 2 and tasks,
        "the crashing task to be replaced",
    )
    for task in stopped:
        assert task["lastStatus"] == "STOPPED"
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
    service = stack.service("crash")
    assert service["runningCount"] == 0 and service["deployments"][0]["failedTasks"] >= 2
    task_id = stopped[0]["taskArn"].rsplit("/", 1)[-1]
    assert wait_for(lambda: stack.log_messages(f"app/crash/{task_id}"), "logs") == ["boom"]

    ecs.update_service(cluster=CLUSTER, service="crash", desiredCount=0)
    assert ecs.delete_service(cluster=CLUSTER, service="crash")["service"]["status"] in (
        "DRAINING",
        "INACTIVE",
    )
    ecs.get_waiter("services_inactive").wait(
        cluster=CLUSTER, services=["crash"], WaiterConfig={"Delay": 1}
    )
    assert stack.tasks("crash") == []
    # Gone from what `mysfits-lab cloud status` and the control route list.
    listed = [s["name"] for s in stack.control("ecs")["services"].values()]
    assert "crash" not in listed and "web" in listed
    assert stack.control("status")["ecs"]["services"] == len(listed)

    # A standalone task: RunTask, then the tasks_stopped waiter sees its exit code.
    run = ecs.run_task(cluster=CLUSTER, taskDefinition="crash", launchType="FARGATE")
    [task] = run["tasks"]
    assert (task["lastStatus"], task["group"]) == ("PROVISIONING", "family:crash")
    ecs.get_waiter("tasks_stopped").wait(
        cluster=CLUSTER, tasks=[task["taskArn"]], WaiterConfig={"Delay": 1}
    )
    [task] = ecs.describe_tasks(cluster=CLUSTER, tasks=[task["taskArn"]])["tasks"]
    assert task["containers"][0]["exitCode"] == 3


def _run_to_the_end(stack: Stack, family: str) -> dict[str, Any]:
    ecs = stack.client("ecs")
    [task] = ecs.run_task(cluster=CLUSTER, taskDefinition=family)["tasks"]
    ecs.get_waiter("tasks_stopped").wait(
        cluster=CLUSTER, tasks=[task["taskArn"]], WaiterConfig={"Delay": 1}
    )
    return ecs.describe_tasks(cluster=CLUSTER, tasks=[task["taskArn"]])["tasks"][0]


def test_tasks_that_cannot_start_say_why(stack):
    stack.task_definition("ghost", image="ecs-tests/missing:v1")
    task = _run_to_the_end(stack, "ghost")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:")
    assert "ecs-tests/missing:v1" in task["stoppedReason"]

    logging = {"logDriver": "awslogs", "options": {"awslogs-group": "no-such-group"}}
    stack.task_definition("nolog", logConfiguration=logging)
    task = _run_to_the_end(stack, "nolog")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("ResourceInitializationError:")
    assert "The specified log group does not exist" in task["stoppedReason"]


def test_the_mysfits_service_answers_through_its_own_listener(stack, tmp_path):
    context = service_bundle.build_context(tmp_path / "context")
    stack.build_image(context, "ecs-tests/mysfits:latest")
    group = stack.target_group("tests-tg-mysfits")
    listener = stack.listener(8080, group)
    url = stack.control("loadbalancers/tests-nlb")["listeners"]["8080"]
    stack.task_definition("mysfits", image="ecs-tests/mysfits:latest")
    stack.create_service("mysfits", "mysfits", 1, group)
    stack.client("ecs").get_waiter("services_stable").wait(
        cluster=CLUSTER, services=["mysfits"], WaiterConfig=STABLE
    )
    listing = requests.get(f"{url}/mysfits", timeout=10)
    assert listing.status_code == 200
    assert len(listing.json()["mysfits"]) == 6

    stack.client("elbv2").delete_listener(ListenerArn=listener)
    assert "8080" not in stack.control("loadbalancers/tests-nlb")["listeners"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/mysfits", timeout=5)


def test_cloud_shutdown_leaves_no_task_process(stack, web):
    tasks = stack.control("ecs")["tasks"]
    pids = [pid for t in tasks if t["lastStatus"] == "RUNNING" for pid in t["pids"]]
    assert len(pids) >= 3 and pids_alive(pids) == pids  # web x2, mysfits
    every_pid = [pid for t in tasks for pid in t["pids"]]
    assert control.down()
    assert pids_alive(every_pid) == []
