"""Network load balancers of the same names in two regions of one local cloud: each call is
answered in its own region, each listener forwards to its own targets, and deleting one leaves
the other serving."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.core.clock import Clock
from tests.helpers import edge_client, wait_for

REGIONS = ("eu-west-1", "us-east-1")  # the cloud's default region last: it must not win
NAME = "regional-nlb"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cloud = LocalCloud(
        0, tmp_path_factory.mktemp("cloud"), providers=["loadbalancers"], clock=Clock()
    )
    threading.Thread(target=cloud.serve_forever, name="edge", daemon=True).start()
    yield cloud.edge_url
    cloud.shutdown()


def _server(answer: str) -> ThreadingHTTPServer:
    """A target on loopback that answers every GET with ``answer``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answer.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, ThreadingHTTPServer]]:
    servers = {region: _server(f"served in {region}") for region in REGIONS}
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


class Regional:
    """One region's NLB, target group and listener, with a registered target."""

    def __init__(self, edge: str, region: str, target_port: int):
        self.edge, self.region = edge, region
        self.elbv2 = edge_client(edge, "elbv2", region)
        ec2 = edge_client(edge, "ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        [lb] = self.elbv2.create_load_balancer(Name=NAME, Type="network", Subnets=[subnet])[
            "LoadBalancers"
        ]
        self.lb_arn = lb["LoadBalancerArn"]
        [group] = self.elbv2.create_target_group(
            Name="regional-tg",
            Protocol="TCP",
            Port=8080,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckProtocol="HTTP",
            HealthCheckIntervalSeconds=5,  # 0.25 s on loopback
            HealthCheckTimeoutSeconds=2,
            HealthyThresholdCount=2,
        )["TargetGroups"]
        self.group_arn = group["TargetGroupArn"]
        self.elbv2.create_listener(
            LoadBalancerArn=self.lb_arn,
            Protocol="TCP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.group_arn}],
        )
        self.target = {"Id": "127.0.0.1", "Port": target_port}
        self.elbv2.register_targets(TargetGroupArn=self.group_arn, Targets=[self.target])

    def health(self) -> list[dict[str, Any]]:
        described = self.elbv2.describe_target_health(TargetGroupArn=self.group_arn)
        return described["TargetHealthDescriptions"]

    def healthy(self) -> bool:
        return [h["TargetHealth"]["State"] for h in self.health()] == ["healthy"]

    def url(self) -> str:
        control = requests.get(f"{self.edge}/_localcloud/loadbalancers/{self.region}/{NAME}")
        assert control.status_code == 200, control.text
        return control.json()["listeners"]["80"]


@pytest.fixture(scope="module")
def regions(edge, targets) -> dict[str, Regional]:
    built = {r: Regional(edge, r, targets[r].server_address[1]) for r in REGIONS}
    for regional in built.values():
        wait_for(regional.healthy, f"the target in {regional.region} to be healthy")
    return built


def test_each_region_answers_for_its_own_load_balancer(regions):
    arns = {r: regional.lb_arn for r, regional in regions.items()}
    assert all(f":{region}:" in arn for region, arn in arns.items())
    for region, regional in regions.items():
        [lb] = regional.elbv2.describe_load_balancers(Names=[NAME])["LoadBalancers"]
        assert (lb["LoadBalancerArn"], lb["State"]["Code"]) == (arns[region], "active")
        [health] = regional.health()
        assert health["Target"] == {"Id": "127.0.0.1", "Port": regional.target["Port"]}


def test_traffic_through_each_listener_reaches_its_own_target(edge, regions):
    urls = {region: regional.url() for region, regional in regions.items()}
    assert len(set(urls.values())) == 2
    for region, url in urls.items():
        assert [requests.get(url, timeout=5).text for _ in range(3)] == [f"served in {region}"] * 3

    listing = requests.get(f"{edge}/_localcloud/loadbalancers").json()
    assert listing[NAME]["region"] == "us-east-1"  # the cloud's default region keeps the name
    assert listing[f"eu-west-1/{NAME}"]["listeners"] == {"80": urls["eu-west-1"]}
    by_name = requests.get(f"{edge}/_localcloud/loadbalancers/{NAME}").json()
    assert by_name["listeners"] == {"80": urls["us-east-1"]}


def test_deleting_one_region_leaves_the_other_serving(edge, regions):
    europe, america = regions["eu-west-1"], regions["us-east-1"]
    europe_url, america_url = europe.url(), america.url()
    europe.elbv2.delete_load_balancer(LoadBalancerArn=europe.lb_arn)
    europe.elbv2.delete_target_group(TargetGroupArn=europe.group_arn)

    with pytest.raises(requests.ConnectionError):
        requests.get(europe_url, timeout=5)
    missing = requests.get(f"{edge}/_localcloud/loadbalancers/eu-west-1/{NAME}")
    assert missing.status_code == 404
    assert europe.elbv2.describe_load_balancers()["LoadBalancers"] == []

    assert requests.get(america_url, timeout=5).text == "served in us-east-1"
    assert america.healthy()
    [lb] = america.elbv2.describe_load_balancers()["LoadBalancers"]
    assert lb["LoadBalancerArn"] == america.lb_arn
    listing = requests.get(f"{edge}/_localcloud/loadbalancers").json()
    assert list(listing) == [NAME] and listing[NAME]["region"] == "us-east-1"
