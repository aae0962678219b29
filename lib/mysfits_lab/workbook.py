"""The workbook's one table of modules: adding a notebook is adding a row here.

The runner (order, summary), the outputs store (who produces a group), ``Lab.prepare``
(prerequisites, step modules) and the setup notebook's plan all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Module:
    notebook: str  # notebooks/<notebook>.ipynb
    builds: str  # what it builds, in the learner's words (the setup notebook's plan)
    steps: str | None = None  # mysfits_lab.steps.<steps>: build / is_built / teardown
    prerequisites: tuple[str, ...] = ()  # earlier notebooks whose resources it needs
    outputs: tuple[str, ...] = ()  # output groups it records (it is their only producer)
    key_outputs: tuple[str, ...] = ()  # "group.name" values shown in the run summary
    planned: bool = False  # True until its notebook is written


MODULES: tuple[Module, ...] = (
    Module(
        "00-setup",
        "connects to the target, checks it answers, shows this plan",
        outputs=("lab",),
    ),
    Module(
        "01-static-site",
        "S3 bucket with website hosting and the first version of the site",
        steps="website",
        outputs=("website",),
        key_outputs=("website.url",),
    ),
    Module(
        "02a-service",
        "VPC stack, container image, ECS Fargate service behind a network load balancer",
        steps="service",
        prerequisites=("01-static-site",),
        outputs=("network", "service"),
        key_outputs=("service.url",),
    ),
    Module(
        "02b-pipeline",
        "CodePipeline from an S3 source: CodeBuild builds the service, ECS deploys each change",
        steps="pipeline",
        prerequisites=("01-static-site", "02a-service"),
        outputs=("pipeline",),
        key_outputs=("pipeline.name",),
    ),
    Module(
        "03-data",
        "DynamoDB table of the 12 mysfits, two indexes; the pipeline switches the service to it",
        steps="data",
        prerequisites=("01-static-site", "02a-service", "02b-pipeline"),
        outputs=("data",),
        key_outputs=("data.table",),
    ),
    Module(
        "04-users-api",
        "Cognito users; an API Gateway REST API, through a VPC link, guards likes and adoptions",
        steps="api",
        prerequisites=("01-static-site", "02a-service", "02b-pipeline", "03-data"),
        outputs=("users", "api"),
        key_outputs=("api.url",),
    ),
    Module(
        "05-clickstream",
        "a click stream: API Gateway to Firehose, a Lambda transform, enriched clicks in S3",
        steps="clicks",
        prerequisites=("01-static-site", "02a-service", "02b-pipeline", "03-data", "04-users-api"),
        outputs=("clicks",),
        key_outputs=("clicks.url",),
    ),
    Module(
        "06-questions",
        "questions to the staff: API to Lambda to DynamoDB, its stream to Lambda to SNS; X-Ray",
        steps="questions",
        prerequisites=("01-static-site", "02a-service", "02b-pipeline", "03-data"),
        outputs=("questions",),
        key_outputs=("questions.url",),
    ),
    Module(
        "07-recommendations",
        "SageMaker k-NN recommender: train, deploy, ask; an API for the site's questionnaire",
        steps="recommendations",
        prerequisites=("01-static-site",),
        outputs=("recommendations",),
        key_outputs=("recommendations.endpoint_name",),
    ),
    Module(
        "99-teardown",
        "lists everything of yours and, with remove = True, deletes it and proves nothing is left",
    ),
)

_BY_NOTEBOOK = {m.notebook: m for m in MODULES}
_PRODUCERS = {group: m.notebook for m in MODULES for group in m.outputs}


def notebooks() -> list[str]:
    """Every notebook of the workbook, in the order a learner runs them."""
    return [m.notebook for m in MODULES]


def module(notebook: str) -> Module:
    """The row of ``notebook``; KeyError naming the known notebooks when there is none."""
    try:
        return _BY_NOTEBOOK[notebook]
    except KeyError:
        raise KeyError(f"unknown module {notebook!r}; known: {', '.join(_BY_NOTEBOOK)}") from None


def producer(group: str) -> str | None:
    """The notebook that records the outputs of ``group``, if any does."""
    return _PRODUCERS.get(group)
