"""Enumerated values AWS takes in any case are spelled as the API wants them — exactly the
properties the CloudFormation registry schemas mark case-insensitive (cfn-lint ships them)."""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint

from mysfits_lab.localcloud.services.cloudformation.enums import CASE_INSENSITIVE, normalize

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


def test_eip_domain_in_any_case():
    assert normalize("AWS::EC2::EIP", {"Domain": "VPC"}) == {"Domain": "vpc"}
    assert normalize("AWS::EC2::EIP", {"Domain": "Standard"}) == {"Domain": "standard"}
    # Other values become vpc, as the EIP reference says (cfn-lint W3700).
    assert normalize("AWS::EC2::EIP", {"Domain": "anything"}) == {"Domain": "vpc"}
    assert normalize("AWS::EC2::Volume", {"VolumeType": "GP3"}) == {"VolumeType": "gp3"}


def test_case_sensitive_enums_are_left_alone():
    assert normalize("AWS::Lambda::Function", {"Runtime": "Python3.12"}) == {
        "Runtime": "Python3.12"
    }
    assert normalize("AWS::EC2::EIP", {}) == {}


def _case_insensitive(resource_type: str) -> dict[tuple[str, ...], list[str]]:
    providers = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{providers[resource_type]}.json").read_text())
    found: dict[tuple[str, ...], list[str]] = {}
    for name, spec in schema.get("properties", {}).items():
        if "$ref" in spec:
            spec = schema["definitions"][spec["$ref"].split("/")[-1]]
        if "enumCaseInsensitive" in spec:
            found[(name,)] = spec["enumCaseInsensitive"]
    return found


def test_the_table_is_the_registry_schemas():
    for (resource_type, path), values in CASE_INSENSITIVE.items():
        schema = _case_insensitive(resource_type)
        assert path in schema, f"{resource_type} {path} is not case-insensitive on AWS"
        assert sorted(v.lower() for v in values) == sorted(schema[path])
