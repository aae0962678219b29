"""What the pictures show, as data: the parts of the architecture, the groups that frame them
(VPC, subnets), and one row per notebook placing parts on a grid and joining them with arrows.

A part's real name comes from the outputs store; until the store has it, the part is not built
and the picture draws it dimmed with its generic name. Adding a module's picture is adding its
parts here and a row to ``PICTURES`` (and its parts to the plan, ``00-setup``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import workbook

Values = Mapping[str, Mapping[str, Any]]  # the outputs store: {"group": {"name": value}}
Names = Callable[[Values], list[str] | None]  # a part's name lines; None while it is not built


def value(values: Values, key: str) -> Any:
    group, _, name = key.partition(".")
    return values.get(group, {}).get(name)


def outputs(*keys: str, prefix: tuple[str, ...] = ()) -> Names:
    """Name lines straight from the store (each with its prefix); None until all are there."""

    def names(values: Values) -> list[str] | None:
        found = [value(values, key) for key in keys]
        if any(v in (None, "") for v in found):
            return None
        return [f"{p}{v}" for p, v in zip(prefix or ("",) * len(keys), found, strict=True)]

    return names


def always(*lines: str) -> Names:
    """Parts that are there from the start: you, your browser, the notebook."""
    return lambda values: list(lines)


def when(key: str, *lines: str) -> Names:
    """A fixed description, shown once ``key`` says the part was built."""
    return lambda values: list(lines) if value(values, key) else None


def _image(values: Values) -> list[str] | None:
    uri = value(values, "service.image_uri")
    # repository:tag is what a learner recognises; the registry host is account and region
    return [uri.split("/", 1)[-1]] if uri else None


def _pipeline(values: Values) -> list[str] | None:
    name = value(values, "pipeline.name")
    return [name, "Source → Build → Deploy"] if name else None


def _table(values: Values) -> list[str] | None:
    name = value(values, "data.table")
    return [name, "indexes GoodEvilIndex, LawChaosIndex"] if name else None


def _model_location(values: Values) -> tuple[str, str] | None:
    """``s3://bucket/key`` of the trained model, as (bucket, key)."""
    uri = value(values, "recommendations.model_data")
    if not uri or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _training_data(values: Values) -> list[str] | None:
    location = _model_location(values)
    return [location[0]] if location else None


def _model(values: Values) -> list[str] | None:
    location = _model_location(values)
    if not location:
        return None
    # the key below the training job's output folder: <job>/output/model.tar.gz
    return [location[1].split("/output/", 1)[-1]]


@dataclass(frozen=True)
class Part:
    title: str  # the kind of thing, the same on every picture
    generic: str  # what it is called before it exists
    kind: str  # colour family (draw.KINDS)
    module: str | None  # the notebook that builds it (its badge); None: nobody builds it
    names: Names


@dataclass(frozen=True)
class Frame:
    """A group drawn around parts (or frames): its title and real names sit in its top band."""

    title: str
    generic: str
    kind: str
    members: tuple[str, ...]
    names: Names


PARTS: dict[str, Part] = {
    "browser": Part("Browser", "you", "client", None, always("you, visiting the site")),
    "site-files": Part(
        "Notebook",
        "this notebook",
        "client",
        "01-static-site",
        always("uploads assets/web/ and config.js"),
    ),
    "website": Part(
        "S3 website", "website bucket", "storage", "01-static-site", outputs("website.bucket")
    ),
    "nlb": Part(
        "Load balancer",
        "network load balancer, TCP 80",
        "network",
        "02a-service",
        outputs("service.nlb_dns"),
    ),
    "fargate": Part(
        "Fargate service",
        "ECS service of Fargate tasks",
        "compute",
        "02a-service",
        outputs("service.name", "service.cluster", prefix=("", "in ")),
    ),
    "codebuild": Part(
        "CodeBuild",
        "image build project",
        "devtools",
        "02a-service",
        when("service.image_uri", "builds assets/service/"),
    ),
    "ecr": Part("ECR image", "service image", "devtools", "02a-service", _image),
    "logs": Part(
        "CloudWatch Logs", "log group", "monitoring", "02a-service", outputs("service.log_group")
    ),
    "pipeline-notebook": Part(
        "Notebook",
        "this notebook",
        "client",
        "02b-pipeline",
        always("uploads the service's source.zip"),
    ),
    "source-bucket": Part(
        "S3 source",
        "versioned source bucket",
        "storage",
        "02b-pipeline",
        outputs("pipeline.source_bucket"),
    ),
    "pipeline": Part(
        "CodePipeline", "Source → Build → Deploy", "devtools", "02b-pipeline", _pipeline
    ),
    "pipeline-build": Part(
        "CodeBuild",
        "build project: buildspec.yml",
        "devtools",
        "02b-pipeline",
        outputs("pipeline.project"),
    ),
    "artifacts": Part(
        "S3 artifacts",
        "artifact store bucket",
        "storage",
        "02b-pipeline",
        outputs("pipeline.artifacts_bucket"),
    ),
    "table-notebook": Part(
        "Notebook", "this notebook", "client", "03-data", always("loads the 12 mysfits")
    ),
    "table": Part("DynamoDB table", "MysfitsTable, two indexes", "storage", "03-data", _table),
    "users": Part(
        "Cognito user pool",
        "user pool and app client",
        "monitoring",
        "04-users-api",
        outputs("users.user_pool_id", "users.client_id", prefix=("", "client ")),
    ),
    "api": Part(
        "API Gateway",
        "REST API, stage prod",
        "network",
        "04-users-api",
        outputs("api.name", "api.vpc_link_id", prefix=("", "VPC link ")),
    ),
    "clicks-api": Part(
        "API Gateway",
        "streaming REST API, PUT /clicks",
        "network",
        "05-clickstream",
        outputs("clicks.api_id", prefix=("ClickProcessingApi ",)),
    ),
    "firehose": Part(
        "Firehose",
        "delivery stream, 60 s buffer",
        "compute",
        "05-clickstream",
        outputs("clicks.stream"),
    ),
    "clicks-function": Part(
        "Lambda function",
        "click transform",
        "compute",
        "05-clickstream",
        outputs("clicks.function"),
    ),
    "clicks-bucket": Part(
        "S3 clicks",
        "versioned bucket, firehose/",
        "storage",
        "05-clickstream",
        outputs("clicks.bucket"),
    ),
    "questions-api": Part(
        "API Gateway",
        "questions REST API, traced",
        "network",
        "06-questions",
        outputs("questions.api_id", prefix=("QuestionsApi ",)),
    ),
    "post-function": Part(
        "Lambda function",
        "stores each question",
        "compute",
        "06-questions",
        outputs("questions.post_function"),
    ),
    "questions-table": Part(
        "DynamoDB table",
        "questions, NEW_IMAGE stream",
        "storage",
        "06-questions",
        outputs("questions.table"),
    ),
    "stream-function": Part(
        "Lambda function",
        "emails each new question",
        "compute",
        "06-questions",
        outputs("questions.stream_function"),
    ),
    "topic": Part(
        "SNS topic",
        "the staff's topic",
        "monitoring",
        "06-questions",
        lambda values: (
            [str(value(values, "questions.topic_arn")).rsplit(":", 1)[-1]]
            if value(values, "questions.topic_arn")
            else None
        ),
    ),
    "staff": Part(
        "Staff inbox",
        "email subscription",
        "client",
        "06-questions",
        outputs("questions.admin_email"),
    ),
    "xray": Part(
        "X-Ray",
        "traces and service map",
        "monitoring",
        "06-questions",
        when("questions.api_id", "traces of the API and both functions"),
    ),
    "rec-api": Part(
        "API Gateway",
        "recommendations REST API",
        "network",
        "07-recommendations",
        outputs("recommendations.api_id", prefix=("RecommendationsApi ",)),
    ),
    "rec-function": Part(
        "Lambda function",
        "answers → the endpoint",
        "compute",
        "07-recommendations",
        outputs("recommendations.function"),
    ),
    "data-notebook": Part(
        "Notebook",
        "this notebook",
        "client",
        "07-recommendations",
        always("generates the questionnaire data"),
    ),
    "training-data": Part(
        "S3 training data", "train/ and test/ CSV", "storage", "07-recommendations", _training_data
    ),
    "training-job": Part(
        "Training job",
        "k-NN training job",
        "ml",
        "07-recommendations",
        outputs("recommendations.training_job"),
    ),
    "model": Part("Model artifact", "model.tar.gz in S3", "storage", "07-recommendations", _model),
    "endpoint": Part(
        "Endpoint",
        "k-NN endpoint, ml.m4.xlarge",
        "ml",
        "07-recommendations",
        outputs("recommendations.endpoint_name"),
    ),
    "questionnaire": Part(
        "Questionnaire",
        "a form in this notebook",
        "client",
        "07-recommendations",
        always("your five answers, in the notebook"),
    ),
}

PLANNED = tuple(m.notebook for m in workbook.MODULES if m.planned)
if PLANNED:
    PARTS["planned"] = Part(
        "Planned",
        "later notebooks",
        "planned",
        None,
        always("not in this workbook yet: " + ", ".join(PLANNED)),
    )

FRAMES: dict[str, Frame] = {
    "vpc": Frame(
        "VPC",
        "core network stack",
        "network",
        ("public-subnets", "service-subnets"),
        outputs("network.vpc_id", "network.stack_name", prefix=("", "stack ")),
    ),
    "public-subnets": Frame(
        "public subnets",
        "two availability zones",
        "public",
        ("nlb",),
        outputs("network.public_subnet_one", "network.public_subnet_two"),
    ),
    "service-subnets": Frame(
        "service subnets",
        "two availability zones",
        "private",
        ("fargate",),
        outputs("network.service_subnet_one", "network.service_subnet_two"),
    ),
}


@dataclass(frozen=True)
class Slot:
    part: str
    column: int
    row: int
    span: int = 1  # columns


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Picture:
    slots: tuple[Slot, ...]
    arrows: tuple[Arrow, ...]
    frames: tuple[str, ...] = ()


_SERVICE_SLOTS = (
    Slot("website", 0, 0),
    Slot("codebuild", 3, 0),
    Slot("browser", 0, 1),
    Slot("nlb", 1, 1),
    Slot("fargate", 2, 1),
    Slot("ecr", 3, 1),
    Slot("logs", 2, 2),
)
_SERVICE_ARROWS = (
    Arrow("browser", "website", "page"),
    Arrow("browser", "nlb", "API"),
    Arrow("nlb", "fargate", "8080"),
    Arrow("codebuild", "ecr", "push"),
    Arrow("ecr", "fargate", "pull"),
    Arrow("fargate", "logs", "logs"),
)
# 02b: a source upload flows Source → Build → Deploy, through ECR, to the service behind the NLB.
_PIPELINE_SLOTS = (
    Slot("pipeline-notebook", 0, 0),
    Slot("source-bucket", 1, 0),
    Slot("artifacts", 3, 0),
    Slot("pipeline", 1, 1, span=3),
    Slot("pipeline-build", 1, 2),
    Slot("ecr", 2, 2),
    Slot("fargate", 3, 2),
    Slot("browser", 2, 3),
    Slot("nlb", 3, 3),
)
_PIPELINE_ARROWS = (
    Arrow("pipeline-notebook", "source-bucket", "upload"),
    Arrow("source-bucket", "pipeline", "Source"),
    Arrow("pipeline", "artifacts", "artifacts"),
    Arrow("pipeline", "pipeline-build", "Build"),
    Arrow("pipeline-build", "ecr", "push"),
    Arrow("ecr", "fargate", "pull"),
    Arrow("pipeline", "fargate", "Deploy"),
    Arrow("browser", "nlb", "API"),
    Arrow("nlb", "fargate", "8080"),
)
# In the plan, the pipeline hangs below the registry its builds push to.
_PLAN_PIPELINE_SLOTS = (
    Slot("pipeline-build", 3, 2),
    Slot("pipeline-notebook", 0, 3),
    Slot("source-bucket", 1, 3),
    Slot("pipeline", 2, 3, span=2),
    Slot("artifacts", 3, 4),
)
_PLAN_PIPELINE_ARROWS = (
    Arrow("pipeline-build", "ecr", "push"),
    Arrow("pipeline-notebook", "source-bucket", "upload"),
    Arrow("source-bucket", "pipeline", "Source"),
    Arrow("pipeline", "pipeline-build", "Build"),
    Arrow("pipeline", "artifacts", "artifacts"),
)
# 03: the service reads the table; the notebook loads it and pushes the settings change that
# the pipeline deploys.
_DATA_SLOTS = (
    Slot("website", 0, 0),
    Slot("browser", 0, 1),
    Slot("nlb", 1, 1),
    Slot("fargate", 2, 1),
    Slot("table", 3, 1),
    Slot("pipeline", 2, 2),
    Slot("table-notebook", 3, 2),
)
_DATA_ARROWS = (
    Arrow("browser", "website", "page"),
    Arrow("browser", "nlb", "API"),
    Arrow("nlb", "fargate", "8080"),
    Arrow("fargate", "table", "reads"),
    Arrow("table-notebook", "table", "load 12"),
    Arrow("table-notebook", "pipeline", "push"),
    Arrow("pipeline", "fargate", "Deploy"),
)
# In the plan, below the pipeline: every place next to the service is taken.
_PLAN_DATA_SLOTS = (Slot("table-notebook", 0, 4), Slot("table", 1, 4))
_PLAN_DATA_ARROWS = (Arrow("table-notebook", "table", "load 12"),)
# 04: the browser signs in with Cognito and calls the API, which checks the token against the
# pool's keys and passes the request through the VPC link to the load balancer.
_API_SLOTS = (
    Slot("users", 0, 0, span=2),
    Slot("browser", 0, 1),
    Slot("api", 1, 1),
    Slot("nlb", 2, 1),
    Slot("fargate", 3, 1),
    Slot("website", 0, 2),
    Slot("table", 3, 2),
)
_API_ARROWS = (
    Arrow("browser", "website", "page"),
    Arrow("browser", "users", "sign in"),
    Arrow("browser", "api", "API"),
    Arrow("api", "users", "keys"),
    Arrow("api", "nlb", "VPC link"),
    Arrow("nlb", "fargate", "8080"),
    Arrow("fargate", "table", "likes"),
)
# In the plan, in the free column next to the recommender.
_PLAN_API_SLOTS = (Slot("api", 3, 5), Slot("users", 3, 6))
_PLAN_API_ARROWS = (Arrow("api", "users", "keys"),)
# 05: profile views go to the streaming API, which puts them into Firehose; Firehose has the
# function enrich each batch (it looks mysfits up through the module-4 API) and writes to S3.
_CLICKS_SLOTS = (
    Slot("browser", 0, 0),
    Slot("clicks-api", 1, 0),
    Slot("firehose", 2, 0),
    Slot("clicks-bucket", 3, 0),
    Slot("website", 0, 1),
    Slot("api", 1, 1),
    Slot("clicks-function", 2, 1),
)
_CLICKS_ARROWS = (
    Arrow("browser", "clicks-api", "clicks"),
    Arrow("clicks-api", "firehose", "put"),
    Arrow("firehose", "clicks-bucket", "batches"),
    Arrow("firehose", "clicks-function", "transform"),
    Arrow("clicks-function", "api", "lookup"),
    Arrow("browser", "website", "page"),
)
_PLAN_CLICKS_SLOTS = (
    Slot("clicks-api", 0, 7),
    Slot("firehose", 1, 7),
    Slot("clicks-bucket", 2, 7),
    Slot("clicks-function", 1, 8),
)
_PLAN_CLICKS_ARROWS = (
    Arrow("clicks-api", "firehose", "put"),
    Arrow("firehose", "clicks-bucket", "batches"),
    Arrow("firehose", "clicks-function", "transform"),
)
# 06: the form's question goes through the API to a function that stores it; the table's
# stream triggers a second function that publishes to the staff's topic; X-Ray traces it.
_QUESTIONS_SLOTS = (
    Slot("browser", 0, 0),
    Slot("questions-api", 1, 0),
    Slot("post-function", 2, 0),
    Slot("questions-table", 3, 0),
    Slot("xray", 1, 1),
    Slot("topic", 2, 1),
    Slot("stream-function", 3, 1),
    Slot("staff", 2, 2),
)
_QUESTIONS_ARROWS = (
    Arrow("browser", "questions-api", "ask"),
    Arrow("questions-api", "post-function", "proxy"),
    Arrow("post-function", "questions-table", "put"),
    Arrow("questions-table", "stream-function", "stream"),
    Arrow("stream-function", "topic", "publish"),
    Arrow("topic", "staff", "email"),
    Arrow("questions-api", "xray", "traces"),
)
_PLAN_QUESTIONS_SLOTS = (
    Slot("questions-api", 0, 9),
    Slot("post-function", 1, 9),
    Slot("questions-table", 2, 9),
    Slot("xray", 0, 10),
    Slot("topic", 1, 10),
    Slot("stream-function", 2, 10),
    Slot("staff", 1, 11),
)
_PLAN_QUESTIONS_ARROWS = (
    Arrow("questions-api", "post-function", "proxy"),
    Arrow("post-function", "questions-table", "put"),
    Arrow("questions-table", "stream-function", "stream"),
    Arrow("stream-function", "topic", "publish"),
    Arrow("topic", "staff", "email"),
    Arrow("questions-api", "xray", "traces"),
)
_RECOMMENDER_ARROWS = (
    Arrow("data-notebook", "training-data", "upload"),
    Arrow("training-data", "training-job", "train"),
    Arrow("training-job", "model", "writes"),
    Arrow("model", "endpoint", "deploy"),
    Arrow("questionnaire", "endpoint", "ask"),
)


def _recommender_slots(top: int) -> tuple[Slot, ...]:
    return (
        Slot("data-notebook", 0, top),
        Slot("training-data", 1, top),
        Slot("training-job", 2, top),
        Slot("questionnaire", 0, top + 1),
        Slot("endpoint", 1, top + 1),
        Slot("model", 2, top + 1),
    )


# One row per written notebook; 00-setup's is the plan: every part, badged by its notebook.
PICTURES: dict[str, Picture] = {
    "00-setup": Picture(
        slots=(
            Slot("site-files", 1, 0),
            *_SERVICE_SLOTS,
            *_PLAN_PIPELINE_SLOTS,
            *_PLAN_DATA_SLOTS,
            *_PLAN_API_SLOTS,
            *_recommender_slots(top=5),
            *_PLAN_CLICKS_SLOTS,
            *_PLAN_QUESTIONS_SLOTS,
            Slot("rec-api", 3, 7),
            Slot("rec-function", 3, 8),
        )
        + ((Slot("planned", 0, 2, span=2),) if PLANNED else ()),
        arrows=(
            Arrow("site-files", "website", "upload"),
            *_SERVICE_ARROWS,
            *_PLAN_PIPELINE_ARROWS,
            *_PLAN_DATA_ARROWS,
            *_PLAN_API_ARROWS,
            *_RECOMMENDER_ARROWS,
            *_PLAN_CLICKS_ARROWS,
            *_PLAN_QUESTIONS_ARROWS,
            Arrow("rec-api", "rec-function", "proxy"),
        ),
        frames=("vpc", "public-subnets", "service-subnets"),
    ),
    "01-static-site": Picture(
        slots=(Slot("browser", 0, 0), Slot("website", 1, 0), Slot("site-files", 2, 0)),
        arrows=(Arrow("browser", "website", "GET /"), Arrow("site-files", "website", "upload")),
    ),
    "02a-service": Picture(
        slots=_SERVICE_SLOTS,
        arrows=_SERVICE_ARROWS,
        frames=("vpc", "public-subnets", "service-subnets"),
    ),
    "02b-pipeline": Picture(slots=_PIPELINE_SLOTS, arrows=_PIPELINE_ARROWS),
    "03-data": Picture(
        slots=_DATA_SLOTS, arrows=_DATA_ARROWS, frames=("vpc", "public-subnets", "service-subnets")
    ),
    "04-users-api": Picture(
        slots=_API_SLOTS, arrows=_API_ARROWS, frames=("vpc", "public-subnets", "service-subnets")
    ),
    "05-clickstream": Picture(slots=_CLICKS_SLOTS, arrows=_CLICKS_ARROWS),
    "06-questions": Picture(slots=_QUESTIONS_SLOTS, arrows=_QUESTIONS_ARROWS),
    "07-recommendations": Picture(
        slots=(
            *_recommender_slots(top=0),
            Slot("rec-api", 0, 2),
            Slot("rec-function", 1, 2),
            Slot("browser", 0, 3),
        ),
        arrows=(
            *_RECOMMENDER_ARROWS,
            Arrow("browser", "rec-api", "answers"),
            Arrow("rec-api", "rec-function", "proxy"),
            Arrow("rec-function", "endpoint", "ask"),
        ),
    ),
}


# The teardown shows the plan's parts: solid while they exist, dashed once removed.
PICTURES["99-teardown"] = PICTURES["00-setup"]


def picture(notebook: str) -> Picture:
    try:
        return PICTURES[notebook]
    except KeyError:
        raise KeyError(f"no picture for {notebook!r}; pictures: {', '.join(PICTURES)}") from None
