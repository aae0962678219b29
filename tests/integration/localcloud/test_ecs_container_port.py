"""ECS tasks on their containerPort, as on Fargate: each task has a loopback address of its own,
reported as its private IP and registered as ``<ip>:<containerPort>``, so two tasks of a service
both listen on 8080 behind the NLB. A container that binds 0.0.0.0:<containerPort> runs once;
a second copy stops with a reason that says why. Where loopback has only 127.0.0.1 (macOS),
tasks share it with a port of their own.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.core.loopback import MODE_VARIABLE
from mysfits_lab.localcloud.core.ports import free_port
from mysfits_lab.localcloud.services.ecs.provider import EcsProvider
from tests.helpers import edge_client, wait_for

CLUSTER = "port-tests"
STABLE = {"Delay": 1, "MaxAttempts": 40}
PROVIDERS: list[str | type] = ["images", "loadbalancers", "ecs"]

# The container: answers who it is (pid, the address and port the request came in on, what
# the cloud told it). It listens on its containerPort (CONTAINER_PORT, 8080 unless set), as on
# Fargate: at $HOST (BIND=host) or at 0.0.0.0 (BIND=wildcard); BIND=port is $HOST:$PORT.
APP = """
import json, os, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIND = os.environ["BIND"]
HOST = "0.0.0.0" if BIND == "wildcard" else os.environ["HOST"]
CONTAINER_PORT = int(os.environ.get("CONTAINER_PORT", "8080"))
PORT = int(os.environ["PORT"]) if BIND == "port" else CONTAINER_PORT


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        address, port = self.connection.getsockname()[:2]
        body = json.dumps({
            "pid": os.getpid(), "address": address, "port": port,
            "HOST": os.environ.get("HOST"), "PORT": os.environ.get("PORT"),
            "hostname": socket.gethostname(),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


print(f"listening on {HOST}:{PORT}", flush=True)
ThreadingHTTPServer((HOST, PORT), Handler).serve_forever()
"""
DOCKERFILE = """
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY app.py /app/
EXPOSE 8080
CMD ["python", "app.py"]
"""


class Cloud:
    """An in-process cloud with the NLB, its VPC and the image; clients in ``region``."""

    def __init__(self, cloud: LocalCloud, region: str, context: Path):
        self.cloud, self.region = cloud, region
        self.edge = cloud.edge_url
        built = requests.post(
            f"{self.edge}/_localcloud/images/build",
            json={"context": str(context), "tags": ["port-tests/app:v1"]},
            timeout=120,
        )
        assert built.status_code == 200, built.text
        self.ecs, self.elbv2 = self.client("ecs"), self.client("elbv2")
        ec2 = self.client("ec2")
        self.vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnet = ec2.create_subnet(VpcId=self.vpc, CidrBlock="10.0.3.0/24")["Subnet"][
            "SubnetId"
        ]
        self.security_group = ec2.create_security_group(
            GroupName="tasks", Description="tasks", VpcId=self.vpc
        )["GroupId"]
        [nlb] = self.elbv2.create_load_balancer(
            Name="port-nlb", Type="network", Subnets=[self.subnet]
        )["LoadBalancers"]
        self.nlb = nlb["LoadBalancerArn"]
        self.ecs.create_cluster(clusterName=CLUSTER)

    def client(self, service: str) -> Any:
        return edge_client(self.edge, service, self.region)

    @property
    def addresses(self) -> set[str]:
        """The loopback addresses the cloud's tasks hold now."""
        ecs = next(p for p in self.cloud.providers if isinstance(p, EcsProvider))
        return ecs.runner.addresses.held()

    def serve(
        self, name: str, listener_port: int, bind: str, count: int, port: int = 8080
    ) -> tuple[str, str]:
        """A service of ``count`` tasks on containerPort ``port`` behind a listener of its own:
        its target group and URL."""
        group = self.elbv2.create_target_group(
            Name=f"tg-{name}",
            Protocol="TCP",
            Port=port,
            VpcId=self.vpc,
            TargetType="ip",
            HealthCheckProtocol="HTTP",
            HealthCheckPath="/",
            HealthCheckIntervalSeconds=5,  # 0.25 s on loopback
            HealthCheckTimeoutSeconds=2,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.create_listener(
            LoadBalancerArn=self.nlb,
            Protocol="TCP",
            Port=listener_port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
        )
        self.ecs.register_task_definition(
            family=name,
            cpu="256",
            memory="512",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            containerDefinitions=[
                {
                    "name": "app",
                    "image": "port-tests/app:v1",
                    "essential": True,
                    "portMappings": [{"containerPort": port, "protocol": "tcp"}],
                    "environment": [
                        {"name": "BIND", "value": bind},
                        {"name": "CONTAINER_PORT", "value": str(port)},
                    ],
                }
            ],
        )
        self.ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=name,
            desiredCount=count,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": [self.subnet],
                    "securityGroups": [self.security_group],
                    "assignPublicIp": "DISABLED",
                }
            },
            loadBalancers=[
                {"targetGroupArn": group, "containerName": "app", "containerPort": port}
            ],
        )
        listing = requests.get(
            f"{self.edge}/_localcloud/loadbalancers/{self.region}/port-nlb", timeout=5
        )
        return group, listing.json()["listeners"][str(listener_port)]

    def tasks(self, service: str, desired: str = "RUNNING") -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus=desired)
        if not arns["taskArns"]:
            return []
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns["taskArns"])["tasks"]

    def health(self, group: str) -> dict[tuple[str, int], str]:
        described = self.elbv2.describe_target_health(TargetGroupArn=group)
        return {
            (d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"]
            for d in described["TargetHealthDescriptions"]
        }

    def stable(self, service: str) -> None:
        self.ecs.get_waiter("services_stable").wait(
            cluster=CLUSTER, services=[service], WaiterConfig=STABLE
        )

    def remove(self, service: str) -> None:
        self.ecs.update_service(cluster=CLUSTER, service=service, desiredCount=0)
        self.ecs.delete_service(cluster=CLUSTER, service=service)
        self.ecs.get_waiter("services_inactive").wait(
            cluster=CLUSTER, services=[service], WaiterConfig=STABLE
        )


def _start(tmp_path_factory: pytest.TempPathFactory, region: str) -> tuple[LocalCloud, Path]:
    context = tmp_path_factory.mktemp("app")
    (context / "app.py").write_text(textwrap.dedent(APP))
    (context / "Dockerfile").write_text(DOCKERFILE)
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("cloud"), region=region, providers=PROVIDERS, clock=Clock()
    )
    threading.Thread(target=cloud.serve_forever, name="edge", daemon=True).start()
    return cloud, context


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud whose tasks have addresses of their own (moto's state is per process: a region
    no other test uses)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(MODE_VARIABLE, raising=False)
        cloud, context = _start(tmp_path_factory, "us-west-2")
    try:
        yield Cloud(cloud, "us-west-2", context)
    finally:
        cloud.shutdown()


def _through(url: str, times: int) -> list[dict[str, Any]]:
    answers = []
    for _ in range(times):
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        answers.append(response.json())
    return answers


def _private_ips(task: dict[str, Any]) -> tuple[str, str]:
    """The task's private IP as its ENI attachment and its container report it."""
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    [container] = task["containers"]
    return details["privateIPv4Address"], container["networkInterfaces"][0]["privateIpv4Address"]


def test_two_tasks_listen_on_8080_at_their_own_addresses_behind_the_nlb(own):
    group, url = own.serve("own", 80, bind="host", count=2)
    own.stable("own")

    tasks = own.tasks("own")
    assert len(tasks) == 2 and all(t["lastStatus"] == "RUNNING" for t in tasks)
    ips = set()
    for task in tasks:
        eni, container = _private_ips(task)
        assert eni == container and eni.startswith("127.") and eni != "127.0.0.1"
        ips.add(eni)
    assert len(ips) == 2
    assert own.health(group) == {(ip, 8080): "healthy" for ip in ips}
    assert own.addresses == ips

    answers = _through(url, 12)
    assert {(a["address"], a["port"]) for a in answers} == {(ip, 8080) for ip in ips}
    assert len({a["pid"] for a in answers}) == 2  # both tasks serve, in turn
    assert all(a["HOST"] == a["address"] and a["PORT"] == "8080" for a in answers)


def test_stopped_tasks_give_their_addresses_back(own):
    before = {_private_ips(t)[0] for t in own.tasks("own")}
    own.remove("own")
    assert all(t["lastStatus"] == "STOPPED" for t in own.tasks("own", desired="STOPPED"))
    assert before and not before & own.addresses
    stopped = {_private_ips(t)[0] for t in own.tasks("own", desired="STOPPED")}
    assert before <= stopped  # a stopped task still reports the IP it had


def test_a_container_binding_0_0_0_0_runs_once_and_a_second_copy_says_why(own):
    # A port nothing else binds (8080 may be in use by other clouds' tasks on this machine).
    port = free_port("0.0.0.0")
    group, url = own.serve("wildcard", 81, bind="wildcard", count=2, port=port)

    def settled() -> list[dict[str, Any]] | None:
        stopped = own.tasks("wildcard", desired="STOPPED")
        running = [t for t in own.tasks("wildcard") if t["lastStatus"] == "RUNNING"]
        return stopped if len(stopped) >= 2 and len(running) == 1 else None

    stopped = wait_for(settled, "one running task, two stopped", timeout=30)
    for task in stopped:
        assert task["stopCode"] in ("TaskFailedToStart", "EssentialContainerExited")
        reason = task["stoppedReason"]
        assert f"address already in use: another task binds 0.0.0.0:{port}" in reason
        assert "bind your task's own address $HOST (127." in reason
    # Replacements are refused before they start, once one copy holds the port.
    assert any(t["stopCode"] == "TaskFailedToStart" for t in stopped)

    [running] = [t for t in own.tasks("wildcard") if t["lastStatus"] == "RUNNING"]
    ip = _private_ips(running)[0]
    assert wait_for(lambda: own.health(group).get((ip, port)) == "healthy", "healthy")
    answers = _through(url, 4)
    assert {(a["address"], a["port"]) for a in answers} == {(ip, port)}
    service = own.ecs.describe_services(cluster=CLUSTER, services=["wildcard"])["services"][0]
    assert (service["desiredCount"], service["runningCount"]) == (2, 1)
    assert service["deployments"][0]["failedTasks"] >= 2
    own.remove("wildcard")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud that behaves as on macOS, where loopback has no address but 127.0.0.1."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MODE_VARIABLE, "shared")
        cloud, context = _start(tmp_path_factory, "eu-north-1")
    try:
        yield Cloud(cloud, "eu-north-1", context)
    finally:
        cloud.shutdown()


def test_without_loopback_addresses_tasks_share_127_0_0_1_with_ports_of_their_own(shared):
    # The container honours $PORT here: with one address, that is the only way for two.
    group, url = shared.serve("shared", 80, bind="port", count=2)
    shared.stable("shared")
    assert shared.tasks("shared", desired="STOPPED") == []
    tasks = shared.tasks("shared")
    assert {_private_ips(t) for t in tasks} == {("127.0.0.1", "127.0.0.1")}
    health = shared.health(group)
    assert {ip for ip, _ in health} == {"127.0.0.1"} and len(health) == 2
    assert 8080 not in {port for _, port in health}
    answers = _through(url, 6)
    assert {a["port"] for a in answers} == {port for _, port in health}
    assert all(a["HOST"] == "127.0.0.1" and a["PORT"] == str(a["port"]) for a in answers)
    assert shared.addresses == set()
