import boto3
import pytest

from mysfits_lab.lab import Lab, LabError
from mysfits_lab.steps import costs


def _lab(tmp_path, monkeypatch, target):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return Lab(target, "us-east-1", "mysfit", session, "123456789012")


def test_fewer_nat_gateways_cost_less():
    def hourly(nats):
        return sum(item.total for item in costs.service_costs(nats))

    assert hourly(0) < hourly(1) < hourly(2)
    assert {i.resource for i in costs.service_costs(0)}.isdisjoint({"NAT gateway"})
    assert costs.rows(costs.service_costs(1))[-1]["resource"] == "total"


def test_aws_target_refuses_without_confirmation(tmp_path, monkeypatch):
    items = costs.service_costs(2)
    with pytest.raises(LabError, match="confirm_costs = True"):
        costs.confirm(_lab(tmp_path, monkeypatch, "aws"), items, confirm_costs=False)
    assert "Confirmed" in costs.confirm(_lab(tmp_path, monkeypatch, "aws"), items, True)
    assert "nothing is billed" in costs.confirm(_lab(tmp_path, monkeypatch, "local"), items, False)


def test_nat_comparison_shows_what_each_choice_costs():
    rows = costs.nat_comparison()
    assert [r["nat_gateways"] for r in rows] == ["0", "1", "2"]
    hourly = [float(r["USD/hour"]) for r in rows]
    assert hourly == sorted(hourly) and hourly[2] - hourly[0] > 0.08
    assert rows[0]["tasks run in"].startswith("public")
