"""The local cloud process: start, status, edge routing, restart detection."""

import json
import subprocess
import sys

import requests

from mysfits_lab import Lab
from mysfits_lab.localcloud import control


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mysfits_lab.cli", *args], capture_output=True, text=True, timeout=60
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
