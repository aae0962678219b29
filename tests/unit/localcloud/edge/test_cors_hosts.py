"""Only the cloud's own pages may call the edge from a browser, and only via loopback names."""

from __future__ import annotations

import requests

from tests.helpers import edge_client

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_foreign_page_cannot_even_send_a_simple_request(make_cloud):
    cloud = make_cloud("cloudformation")
    response = requests.post(
        f"{cloud.edge_url}/",
        data="Action=CreateQueue&QueueName=planted&Version=2012-11-05",
        headers={**FORM, "Origin": "http://127.0.0.1:9"},
        timeout=5,
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert edge_client(cloud.edge_url, "sqs").list_queues().get("QueueUrls", []) == []


def test_a_preflight_from_a_foreign_page_gets_no_grant(make_cloud):
    cloud = make_cloud("cloudformation")
    response = requests.options(
        f"{cloud.edge_url}/",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target",
        },
        timeout=5,
    )
    assert response.status_code == 403
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_the_cloud_own_pages_are_granted_and_moto_grants_are_replaced(make_cloud):
    cloud = make_cloud("cloudformation")
    cloud.edge.cors.allow_port(5555)
    origin = "http://127.0.0.1:5555"
    preflight = requests.options(
        f"{cloud.edge_url}/",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "x-amz-target" in preflight.headers["Access-Control-Allow-Headers"]
    answer = requests.get(f"{cloud.edge_url}/", headers={"Origin": origin}, timeout=5)
    assert answer.headers["Access-Control-Allow-Origin"] == origin  # not moto's "*"
    cloud.edge.cors.revoke_port(5555)
    assert (
        requests.get(f"{cloud.edge_url}/", headers={"Origin": origin}, timeout=5).status_code == 403
    )


def test_a_rebound_host_name_is_refused(make_cloud):
    cloud = make_cloud("cloudformation")
    assert (
        requests.get(
            f"{cloud.edge_url}/", headers={"Host": "attacker.example"}, timeout=5
        ).status_code
        == 403
    )
    for host in (f"127.0.0.1:{cloud.port}", f"localhost:{cloud.port}", "s3.localhost"):
        assert (
            requests.get(f"{cloud.edge_url}/", headers={"Host": host}, timeout=5).status_code != 403
        )
