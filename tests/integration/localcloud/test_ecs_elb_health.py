"""Target group health checks through the API, and what a client of the NLB sees when a target
stalls: settings AWS refuses are a ValidationError, a matcher set on an NLB's group is used, and
new connections go around a target that stopped answering, without its being called unhealthy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.constants import DUMMY_CREDENTIALS
from mysfits_lab.localcloud.core.clock import Clock
from tests.helpers import edge_client, wait_for


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("cloud"), providers=["loadbalancers"], clock=Clock()
    )
    threading.Thread(target=cloud.serve_forever, name="edge", daemon=True).start()
    yield cloud.edge_url
    cloud.shutdown()


# moto's state is shared by every cloud in this test process: a region of our own.
REGION = "ca-central-1"


@pytest.fixture(scope="module")
def elbv2(edge: str) -> Any:
    return edge_client(edge, "elbv2", REGION)


@pytest.fixture(scope="module")
def vpc(edge: str) -> dict[str, str]:
    ec2 = edge_client(edge, "ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    return {"vpc": vpc, "subnet": subnet}


class Target:
    """A target on loopback answering ``status`` with its name; ``freeze`` makes it hold every
    request (health checks too) until ``thaw``: the kernel still accepts connections, as with
    a SIGSTOPped process."""

    def __init__(self, name: str, status: int = 200):
        self.name, self.status = name, status
        self.running = threading.Event()
        self.running.set()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target.running.wait()
                body = target.name.encode()
                self.send_response(target.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.address = {"Id": "127.0.0.1", "Port": self.server.server_address[1]}

    def close(self) -> None:
        self.running.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def targets() -> Iterator[list[Target]]:
    made: list[Target] = []
    yield made
    for target in made:
        target.close()


@pytest.fixture(scope="module")
def nlb(elbv2: Any, vpc: dict[str, str]) -> Iterator[str]:
    created = elbv2.create_load_balancer(Name="health-nlb", Type="network", Subnets=[vpc["subnet"]])
    yield created["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=created["LoadBalancers"][0]["LoadBalancerArn"])


def _served(
    edge: str, elbv2: Any, vpc: dict[str, str], nlb: str, port: int, **settings: Any
) -> tuple[str, str]:
    """A target group (an HTTP health check) behind a listener of ``nlb`` on ``port``: its ARN
    and the listener's local URL."""
    group = elbv2.create_target_group(
        Name=f"tg-{port}",
        Protocol="TCP",
        Port=8080,
        VpcId=vpc["vpc"],
        TargetType="ip",
        HealthCheckProtocol="HTTP",
        HealthCheckIntervalSeconds=5,  # 0.25 s on loopback
        HealthCheckTimeoutSeconds=2,  # 5 s on loopback: never less
        HealthyThresholdCount=2,
        **settings,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb,
        Protocol="TCP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    listing = requests.get(f"{edge}/_localcloud/loadbalancers/{REGION}/health-nlb", timeout=5)
    return group, listing.json()["listeners"][str(port)]


def _states(elbv2: Any, group: str) -> list[str]:
    described = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return [d["TargetHealth"]["State"] for d in described]


def _refused(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call(**params)
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError",
        400,
    )
    return error["Error"]["Message"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"Matcher": {"HttpCode": "200-"}}, "Health check matcher HTTP code '200-' must be a"),
        ({"Matcher": {"HttpCode": "2xx"}}, "Health check matcher HTTP code '2xx' must be a"),
        ({"Matcher": {"HttpCode": "abc"}}, "Health check matcher HTTP code 'abc' must be a"),
        ({"Matcher": {"HttpCode": "600"}}, "'600' must be within '200-599'"),
        ({"HealthCheckPath": "health"}, "Health check path 'health' must begin with '/'"),
        # The API model's ranges (checked by the edge): 5-300 s, 2-120 s, 2-10 checks.
        ({"HealthCheckIntervalSeconds": 301}, "HealthCheckIntervalSeconds"),
        ({"HealthCheckIntervalSeconds": 4}, "HealthCheckIntervalSeconds"),
        ({"HealthCheckTimeoutSeconds": 121}, "HealthCheckTimeoutSeconds"),
        ({"HealthyThresholdCount": 11}, "HealthyThresholdCount"),
        ({"UnhealthyThresholdCount": 1}, "UnhealthyThresholdCount"),
    ],
)
def test_settings_aws_refuses_are_a_validation_error(edge, vpc, settings, message):
    # Without client-side checks, as a caller other than boto3 sends them.
    unchecked = boto3.client(
        "elbv2",
        endpoint_url=edge,
        region_name=REGION,
        config=Config(parameter_validation=False),
        **DUMMY_CREDENTIALS,
    )
    name = "tg-refused"
    assert message in _refused(unchecked.create_target_group, **_params(vpc, name, settings))
    with pytest.raises(ClientError, match="TargetGroupNotFound"):
        unchecked.describe_target_groups(Names=[name])


def _params(vpc: dict[str, str], name: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": name,
        "Protocol": "TCP",
        "Port": 8080,
        "VpcId": vpc["vpc"],
        "TargetType": "ip",
        "HealthCheckProtocol": "HTTP",
    } | settings


def test_an_alb_group_takes_codes_up_to_499(elbv2, vpc):
    settings = {"Protocol": "HTTP", "Matcher": {"HttpCode": "500"}}
    assert "must be within '200-499'" in _refused(
        elbv2.create_target_group, **_params(vpc, "tg-alb", settings)
    )
    settings["Matcher"] = {"HttpCode": "200-499"}
    [group] = elbv2.create_target_group(**_params(vpc, "tg-alb", settings))["TargetGroups"]
    assert group["Matcher"]["HttpCode"] == "200-499"
    elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])


def test_a_matcher_set_on_an_nlb_group_is_checked_kept_and_used(edge, elbv2, vpc, nlb, targets):
    targets.append(target := Target("accepted", status=202))
    group, _ = _served(edge, elbv2, vpc, nlb, 81, Matcher={"HttpCode": "200"})
    elbv2.register_targets(TargetGroupArn=group, Targets=[target.address])
    time.sleep(1.5)  # checks answered 202, not matched: still initial (failing is not enough)
    assert _states(elbv2, group) == ["initial"]

    for bad in ("200-", "2xx", "abc"):
        _refused(elbv2.modify_target_group, TargetGroupArn=group, Matcher={"HttpCode": bad})
    elbv2.modify_target_group(TargetGroupArn=group, Matcher={"HttpCode": "200,202"})
    [described] = elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"]
    assert described["Matcher"] == {"HttpCode": "200,202"}
    wait_for(lambda: _states(elbv2, group) == ["healthy"], "the target to match", 5)


def test_new_connections_go_around_a_target_that_stopped_answering(edge, elbv2, vpc, nlb, targets):
    targets += [Target("frozen"), Target("live")]
    frozen, live = targets
    group, url = _served(edge, elbv2, vpc, nlb, 82)
    elbv2.register_targets(TargetGroupArn=group, Targets=[frozen.address, live.address])
    wait_for(lambda: _states(elbv2, group) == ["healthy", "healthy"], "two healthy targets")

    frozen.running.clear()
    answers: list[str] = []

    def get(_: int) -> None:
        answers.append(requests.get(url, timeout=10).text)

    with ThreadPoolExecutor(64) as pool:
        for index in range(60):  # 20 a second for 3 s, each on its own connection
            pool.submit(get, index)
            time.sleep(0.05)
        assert _states(elbv2, group) == ["healthy", "healthy"]  # not dead, only slow
        frozen.running.set()
    assert len(answers) == 60  # every request answered: the stuck ones once thawed
    # Half a second after its first unanswered request the frozen target got no new connection
    # (about 5 of 60); round robin alone would have sent it half of them.
    assert answers.count("frozen") <= 12, answers.count("frozen")
