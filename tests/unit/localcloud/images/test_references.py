"""Image references parsed as the docker CLI parses them."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.images.references import parse_reference

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_references_parse_like_docker():
    ecr = parse_reference(f"{REGISTRY}/team/web:v2")
    assert (ecr.registry, ecr.repository, ecr.tag, ecr.ecr) == (
        REGISTRY,
        "team/web",
        "v2",
        ("123456789012", "us-east-1"),
    )
    assert str(parse_reference("web")) == "web:latest"
    assert parse_reference("localhost:5000/web").registry == "localhost:5000"
    with pytest.raises(ValueError, match="must be lowercase"):
        parse_reference("Web:1")
