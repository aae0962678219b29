"""Module 0: connect, check the target answers, and show the plan of the workbook."""

from __future__ import annotations

from typing import Any

from ..lab import Lab
from ..paths import notebooks_dir
from . import STEP_MODULES, builder

MODULE = "00-setup"

# What each notebook builds, in the learner's words.
PLAN: list[tuple[str, str]] = [
    ("01-static-site", "S3 bucket with website hosting and the first version of the site"),
    (
        "02a-service",
        "VPC stack, container image, ECS Fargate service behind a network load balancer",
    ),
    ("02b-pipeline", "CodePipeline: source, build and deploy of the service"),
    ("03-data", "DynamoDB table of mysfits; the service reads from it"),
    ("04-users-api", "Cognito users and an API Gateway REST API in front of the service"),
    ("05-clickstream", "Kinesis Firehose with a Lambda transform: clicks land in S3"),
    ("06-questions", "Questions service: DynamoDB Streams, Lambda, SNS, X-Ray"),
    ("07-recommendations", "SageMaker k-NN recommender: train, deploy, ask"),
]


def check(lab: Lab) -> str:
    """Prove the target answers: who we are, and that S3 lists buckets."""
    identity = lab.client("sts").get_caller_identity()
    lab.client("s3").list_buckets()
    return (
        f"Connected to {lab.where} in {lab.region} as account {identity['Account']}; "
        f"learner '{lab.learner}' is ready."
    )


def plan(lab: Lab) -> list[dict[str, Any]]:
    rows = []
    for notebook, builds in PLAN:
        if not (notebooks_dir() / f"{notebook}.ipynb").exists():
            status = "not in this workbook yet"
        elif notebook in STEP_MODULES:
            status = "built" if builder(notebook)[1](lab) else "to do"
        else:
            status = "to do"
        rows.append({"notebook": notebook, "builds": builds, "status": status})
    return rows
