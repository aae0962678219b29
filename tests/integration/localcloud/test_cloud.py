"""The local cloud process: start, status, edge routing, restart detection."""

import json
import os
import socket
import subprocess
import sys

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab import Lab, LabError
from mysfits_lab.localcloud import control
from tests.helpers import free_port


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "mysfits_lab.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_status_json_has_the_contract_fields(cloud):
    result = _cli("cloud", "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["edge_url"] == f"http://127.0.0.1:{cloud.port}"
    assert status["instance_id"] and isinstance(status["pid"], int)


def test_cloud_up_is_idempotent(cloud):
    first = control.status()
    again = control.up()
    assert again.instance_id == first.instance_id and again.pid == first.pid


def test_edge_forwards_aws_calls_to_moto(lab):
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="edge-check")
    assert "edge-check" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    identity = lab.client("sts").get_caller_identity()
    assert identity["Account"] == "123456789012"


def test_status_lists_every_website_and_load_balancer_listener(lab):
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="listed-site")
    s3.put_bucket_website(
        Bucket="listed-site", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    elbv2 = lab.client("elbv2")
    nlb = elbv2.create_load_balancer(Name="listed-nlb", Type="network", Subnets=[subnet])
    group = elbv2.create_target_group(
        Name="listed-tg", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    site = lab.website_url("listed-site")
    listener = lab.load_balancer_url("listed-nlb", "unused")

    result = _cli("cloud", "status")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["website", "listed-site", site] in rows
    assert ["load", "balancer", "(network)", "listed-nlb", "us-east-1", "80", listener] in rows


def test_unknown_control_endpoint_is_a_json_404(cloud):
    response = requests.get(f"http://127.0.0.1:{cloud.port}/_localcloud/nothing", timeout=5)
    assert response.status_code == 404
    assert "nothing" in response.json()["message"]


def test_a_restarted_cloud_is_detected_and_stale_outputs_set_aside(cloud, clean_aws_env, capsys):
    lab = Lab.connect()
    lab.outputs.record("01-static-site", {"website.bucket": "gone-soon"})
    old_instance = lab.cloud_instance

    control.down()
    assert not control.status().running
    result = _cli("cloud", "status")
    assert result.returncode == 3 and "not running" in result.stdout

    relab = Lab.connect()
    assert relab.cloud_instance != old_instance
    assert relab.cloud_restarted
    message = capsys.readouterr().err
    assert "local cloud was restarted" in message and "01-static-site" in message
    assert "website.bucket" not in relab.outputs
    assert relab.outputs.get("lab.cloud_instance") == relab.cloud_instance
    # A second connect to the same cloud is quiet.
    assert not Lab.connect().cloud_restarted


def test_an_open_lab_hears_that_its_cloud_restarted(cloud, clean_aws_env):
    lab = Lab.connect()
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="before-restart")
    with pytest.raises(ClientError):  # the same cloud: an error is just an error
        s3.head_bucket(Bucket="never-made")
    try:
        control.down()
        control.up()
        with pytest.raises(LabError) as caught:
            s3.head_bucket(Bucket="before-restart")
        message = str(caught.value)
        assert message.startswith("s3.HeadBucket failed: The local cloud was restarted")
        assert "01-static-site" in message and "run the cells again from the top" in message
        # "Endpoint ... not found", from a client made after the restart
        runtime = lab.client("sagemaker-runtime")
        with pytest.raises(LabError, match="local cloud was restarted"):
            runtime.invoke_endpoint(EndpointName="gone", Body=b"1", ContentType="text/csv")
        with pytest.raises(LabError, match="local cloud was restarted"):
            lab.website_url("before-restart")

        control.down()
        with pytest.raises(LabError, match="is not running any more"):
            s3.list_buckets()
    finally:
        control.up()


def _fresh_home(tmp_path, port: int) -> dict[str, str]:
    return os.environ | {
        "MYSFITS_LAB_HOME": str(tmp_path / "home"),
        "MYSFITS_LAB_EDGE_PORT": str(port),
    }


def test_a_taken_edge_port_is_one_clear_line(tmp_path):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = _cli("cloud", "up", env=_fresh_home(tmp_path, port))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"port {port} is taken by another program" in result.stderr


def test_a_failed_start_shows_only_its_own_log_lines(tmp_path):
    log = tmp_path / "home" / "cloud" / "cloud.log"
    log.parent.mkdir(parents=True)
    log.write_text("a line from an earlier cloud\n")
    env = _fresh_home(tmp_path, free_port()) | {"MYSFITS_LAB_PROVIDERS": "no-such-provider"}
    result = _cli("cloud", "up", env=env)
    assert result.returncode == 2
    assert "exited during start-up" in result.stderr and "no-such-provider" in result.stderr
    assert "earlier cloud" not in result.stderr
    assert "earlier cloud" in log.read_text()  # the log itself keeps every run
