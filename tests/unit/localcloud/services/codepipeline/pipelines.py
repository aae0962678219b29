"""Pipeline declarations for the unit tests: the workshop's three stages."""

from __future__ import annotations

import copy
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/pipeline"


def action(name: str, kind: tuple[str, str], config: dict[str, str], **extra: Any) -> dict:
    return {
        "name": name,
        "actionTypeId": {"category": kind[0], "owner": "AWS", "provider": kind[1], "version": "1"},
        "configuration": config,
        **extra,
    }


WORKSHOP: dict[str, Any] = {
    "name": "web-pipeline",
    "roleArn": ROLE,
    "artifactStore": {"type": "S3", "location": "artifacts"},
    "stages": [
        {
            "name": "Source",
            "actions": [
                action(
                    "Source",
                    ("Source", "S3"),
                    {"S3Bucket": "src", "S3ObjectKey": "app.zip"},
                    outputArtifacts=[{"name": "SourceArtifact"}],
                )
            ],
        },
        {
            "name": "Build",
            "actions": [
                action(
                    "Build",
                    ("Build", "CodeBuild"),
                    {"ProjectName": "build"},
                    inputArtifacts=[{"name": "SourceArtifact"}],
                    outputArtifacts=[{"name": "BuildArtifact"}],
                )
            ],
        },
        {
            "name": "Deploy",
            "actions": [
                action(
                    "Deploy",
                    ("Deploy", "ECS"),
                    {"ClusterName": "cluster", "ServiceName": "web"},
                    inputArtifacts=[{"name": "BuildArtifact"}],
                )
            ],
        },
    ],
}


def workshop(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(WORKSHOP) | changes
