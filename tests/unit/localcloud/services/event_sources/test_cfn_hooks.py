"""A stack's AWS::Lambda::EventSourceMapping goes to the provider, not to moto's Lambda backend,
while a cloud runs — and moto's own resource class comes back when the last cloud stops."""

from __future__ import annotations

from typing import Any

import pytest
from moto.awslambda.models import EventSourceMapping

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.event_sources import cfn_hooks


class Owner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []

    def create_mapping(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        self.calls.append(("create", params, region))
        if params.get("FunctionName") == "nobody":
            raise ServiceError("InvalidParameterValueException", "Function does not exist")
        return {"UUID": "u-1", "EventSourceMappingArn": "arn:esm:u-1"}

    def update_mapping(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        self.calls.append(("update", params, region))
        return {"UUID": params["UUID"], "EventSourceMappingArn": "arn:esm:u-1"}

    def delete_mapping(self, uuid: str, region: str) -> dict[str, Any]:
        self.calls.append(("delete", uuid, region))
        raise ServiceError("ResourceNotFoundException", "gone", 404)


def test_properties_become_api_parameters():
    params = cfn_hooks.stack_params(
        {
            "BatchSize": "5",
            "Enabled": "false",
            "BisectBatchOnFunctionError": "True",
            "Tags": [{"Key": "team", "Value": "mysfits"}],
            "X": "y",
        }
    )
    assert params == {
        "BatchSize": 5,
        "Enabled": False,
        "BisectBatchOnFunctionError": True,
        "Tags": {"team": "mysfits"},
        "X": "y",
    }


@pytest.mark.parametrize("properties", [{"BatchSize": "many"}, {"BatchSize": 0}])
def test_numbers_out_of_range_fail_the_stack_with_a_validation_error(properties):
    with pytest.raises(Exception) as error:
        cfn_hooks.stack_params(properties)
    assert type(error.value).__name__ == "ValidationError"
    assert "BatchSize" in error.value.message


def test_while_installed_the_resource_class_creates_updates_and_deletes_here():
    original = EventSourceMapping.__dict__["create_from_cloudformation_json"]
    owner = Owner()
    cfn_hooks.install(owner)
    try:
        resource = EventSourceMapping.create_from_cloudformation_json(
            "Trigger", {"Properties": {"FunctionName": "f", "BatchSize": "2"}}, "1", "eu-west-1"
        )
        assert (resource.physical_resource_id, resource.is_created()) == ("u-1", True)
        assert resource.get_cfn_attribute("EventSourceMappingArn") == "arn:esm:u-1"
        assert resource.get_cfn_attribute("Id") == "u-1"
        assert owner.calls[0] == ("create", {"FunctionName": "f", "BatchSize": 2}, "eu-west-1")

        updated = EventSourceMapping.update_from_cloudformation_json(
            resource,
            "Trigger",
            {"Properties": {"EventSourceArn": "x", "StartingPosition": "LATEST", "BatchSize": 3}},
            "1",
            "eu-west-1",
        )
        assert updated.uuid == "u-1"
        assert owner.calls[1] == ("update", {"BatchSize": 3, "UUID": "u-1"}, "eu-west-1")

        resource.delete("1", "eu-west-1")  # already gone counts as deleted
        assert owner.calls[2] == ("delete", "u-1", "eu-west-1")

        with pytest.raises(Exception) as refused:
            EventSourceMapping.create_from_cloudformation_json(
                "T", {"Properties": {"FunctionName": "nobody"}}, "1", "eu-west-1"
            )
        assert type(refused.value).__name__ == "ValidationError"
        assert "Function does not exist" in refused.value.message
    finally:
        cfn_hooks.uninstall(owner)
    assert EventSourceMapping.__dict__["create_from_cloudformation_json"] is original


def test_the_hooks_stay_while_another_cloud_still_runs():
    original = EventSourceMapping.__dict__["delete_from_cloudformation_json"]
    first, second = Owner(), Owner()
    cfn_hooks.install(first)
    cfn_hooks.install(second)
    cfn_hooks.uninstall(second)
    assert EventSourceMapping.__dict__["delete_from_cloudformation_json"] is not original
    cfn_hooks.uninstall(first)
    assert EventSourceMapping.__dict__["delete_from_cloudformation_json"] is original
