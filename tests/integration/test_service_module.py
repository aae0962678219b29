"""Module 2a's steps on a fresh local cloud, with the real service: what a learner sees."""

import threading

import pytest
import requests

from mysfits_lab.steps import service, website
from tests.helpers import wait_for


@pytest.fixture
def built(lab):
    website.build(lab)
    service.build(lab, nat_gateways=0, desired_count=2)
    return lab


def _hammer(url, count, failures, stop_after=None):
    for i in range(count):
        try:
            response = requests.get(f"{url}/mysfits", timeout=5)
            if response.status_code != 200 or len(response.json()["mysfits"]) != 6:
                failures.append(f"{i}: {response.status_code}")
        except requests.RequestException as exc:
            failures.append(f"{i}: {exc}")
        if stop_after and i == stop_after[0]:
            stop_after[1]()


def _running(lab):
    names = service.Names.of(lab)
    described = lab.client("ecs").describe_services(cluster=names.cluster, services=[names.service])
    return described["services"][0]["runningCount"]


def test_the_api_stays_up_while_a_task_is_stopped(built):
    lab, names = built, service.Names.of(built)
    ecs = lab.client("ecs")
    tasks = ecs.list_tasks(cluster=names.cluster, serviceName=names.service)["taskArns"]
    assert len(tasks) == 2
    failures = []
    stop = (50, lambda: ecs.stop_task(cluster=names.cluster, task=tasks[0], reason="test"))
    _hammer(lab.outputs.get("service.url"), 200, failures, stop_after=stop)
    assert failures == []

    def replaced() -> bool:
        now = ecs.list_tasks(cluster=names.cluster, serviceName=names.service)["taskArns"]
        return _running(lab) == 2 and tasks[0] not in now

    wait_for(replaced, "the stopped task to be replaced", timeout=30, interval=0.3)


def test_a_new_image_rolls_out_without_a_failed_request(built, tmp_path):
    lab = built
    url = lab.outputs.get("service.url")
    catalogue = tmp_path / "catalogue.json"
    changed = requests.get(f"{url}/mysfits", timeout=5).json()
    changed["mysfits"][0]["age"] = 44  # the pipeline module's example change: a birthday
    catalogue.write_text(__import__("json").dumps(changed))

    failures = []
    load = threading.Thread(target=_hammer, args=(url, 400, failures))
    load.start()
    image = service.build_service_image(lab, catalogue)
    task_definition = service.register_task_definition(lab, image.uri)
    service.create_service(
        lab, task_definition, lab.outputs.get("service.target_group_arn"), desired_count=2
    )
    service.wait_until_healthy(lab, lab.outputs.get("service.target_group_arn"))
    load.join()
    assert failures == []
    ages = {requests.get(f"{url}/mysfits", timeout=5).json()["mysfits"][0]["age"] for _ in range(6)}
    assert ages == {44}
    assert image.built and lab.outputs.get("service.image_uri") == image.uri


def test_rebuilding_changes_nothing_and_the_site_reads_the_api(built):
    lab = built
    before = lab.outputs.values()["service"]
    service.build(lab, nat_gateways=0, desired_count=2)
    assert lab.outputs.values()["service"] == before
    names = service.Names.of(lab)
    assert (
        len(
            lab.client("ecs").list_task_definitions(familyPrefix=names.family)["taskDefinitionArns"]
        )
        >= 1
    )
    assert len(lab.client("elbv2").describe_load_balancers()["LoadBalancers"]) == 1
    check = website.check_site(lab.outputs.get("website.url"))
    assert check.ok and check.source == "the API"


def test_teardown_removes_the_module_and_the_site_goes_back_to_its_own_list(built):
    lab = built
    url = lab.outputs.get("service.url")
    removed = service.teardown(lab)
    assert "ECS service mysfit-MythicalMysfits-Service" in removed
    assert "stack mysfit-MythicalMysfitsCoreStack" in removed
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/mysfits", timeout=5)
    assert lab.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert lab.client("ecr").describe_repositories()["repositories"] == []
    check = website.check_site(lab.outputs.get("website.url"))
    assert check.ok and check.source == "mysfits.json"
    assert service.teardown(lab) == []
