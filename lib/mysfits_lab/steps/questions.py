"""Module 6: questions from visitors — ``POST /questions`` → Lambda → DynamoDB → stream →
Lambda → SNS email to the staff, traced with X-Ray.

Same calls on both targets. The original's SAM template, built step by step: the questions
table with a ``NEW_IMAGE`` stream; an SNS topic with the administrator's email subscription
(confirmed by the link SNS emails); the function behind the API (``assets/functions/
questions_post``) and the one the stream triggers (``questions_stream``), both traced; the event
source mapping between stream and function; and a REST API whose ``POST /questions`` is an
``AWS_PROXY`` integration, with tracing on its stage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from botocore.exceptions import ClientError

from ..lab import Lab, LabError
from ..waiting import wait_until
from . import functions, iam, rest_apis, website
from .aws_errors import error_code, tolerate
from .checks import Checklist

MODULE = "06-questions"
TABLE = "MysfitsQuestionsTable"
TOPIC = "MythicalMysfitsQuestionsTopic"
API = "QuestionsApi"
POST_FUNCTION = "MysfitsPostQuestionFunction"
STREAM_FUNCTION = "MysfitsProcessQuestionStreamFunction"
CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"
XRAY_WRITE = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSampling*"]
TRACE_HEADER = "X-Amzn-Trace-Id"
STAGE_SERVICE = "AWS::ApiGateway::Stage"
FUNCTION_SERVICE = "AWS::Lambda::Function"
# On local, a stream batch whose function failed (after it emailed) runs again 0.25 s later:
# its second email would be in the outbox within this many seconds of the first.
DUPLICATE_WINDOW = 0.5


@dataclass(frozen=True)
class Names:
    table: str
    topic: str
    api: str
    post_function: str
    stream_function: str
    post_role: str
    stream_role: str
    api_role: str

    @classmethod
    def of(cls, lab: Lab) -> Names:
        return cls(
            table=lab.name(TABLE),
            topic=lab.name(TOPIC),
            api=lab.name(API),
            post_function=lab.name(POST_FUNCTION),
            stream_function=lab.name(STREAM_FUNCTION),
            post_role=lab.name("PostQuestionRole"),
            stream_role=lab.name("ProcessQuestionStreamRole"),
            api_role=lab.name("QuestionsApiRole"),
        )


def admin_email(lab: Lab, given: str | None = None) -> str:
    """Who receives the questions: on AWS an address the learner reads (SNS asks it to
    confirm the subscription by email)."""
    if given:
        return given
    if not lab.is_local:
        raise LabError(
            "On AWS the questions are emailed: set admin_email to an address you can read "
            "(in the parameters cell), then run this cell again."
        )
    return f"staff.{lab.learner}@example.com"


# -- table, topic ---------------------------------------------------------------------------
def create_table(lab: Lab) -> dict[str, Any]:
    """The questions table with a stream of new items (reused when it exists)."""
    dynamodb = lab.client("dynamodb")
    name = Names.of(lab).table
    with tolerate("ResourceInUseException"):
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "QuestionId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "QuestionId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            Tags=lab.tag_list(),
        )

    def active() -> dict[str, Any] | None:
        table = dynamodb.describe_table(TableName=name)["Table"]
        return table if table["TableStatus"] == "ACTIVE" else None

    return wait_until(active, f"table {name} to become active", timeout=lab.wait_budget(120))


def create_topic(lab: Lab, email: str) -> dict[str, Any]:
    """The staff's topic and its email subscription (one per address, reused)."""
    sns = lab.client("sns")
    name = Names.of(lab).topic
    arn = sns.create_topic(
        Name=name, Attributes={"DisplayName": "Mythical Mysfits"}, Tags=lab.tag_list()
    )["TopicArn"]
    existing = _subscription(lab, arn, email)
    if existing is None:
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
        existing = _subscription(lab, arn, email)
    return {"TopicArn": arn, "Subscription": existing}


def _subscription(lab: Lab, topic_arn: str, email: str) -> dict[str, Any] | None:
    pages = lab.client("sns").get_paginator("list_subscriptions_by_topic")
    for page in pages.paginate(TopicArn=topic_arn):
        for sub in page["Subscriptions"]:
            if sub["Protocol"] == "email" and sub["Endpoint"] == email:
                return sub
    return None


def confirmation_link(lab: Lab, email: str) -> str:
    """The link of the newest subscription-confirmation email (local: from the outbox)."""
    from .. import outbox

    for message in reversed(outbox.messages(lab.endpoint_url, to=email)):
        if message["subject"] == CONFIRMATION_SUBJECT:
            found = re.search(r"https?://\S+", message["body"])
            if found:
                return found.group(0)
    raise LookupError(f"no subscription confirmation has been emailed to {email}")


def confirm_subscription(lab: Lab, topic_arn: str, email: str) -> dict[str, Any]:
    """Confirm the staff's subscription: on local, open the emailed link as a learner would;
    on AWS, wait until the learner has clicked it in their inbox."""
    if lab.is_local and _subscription(lab, topic_arn, email)["SubscriptionArn"].startswith(
        "Pending"
    ):
        link = wait_until(
            lambda: confirmation_link(lab, email),
            f"the confirmation email to {email}",
            timeout=lab.wait_budget(60),
        )
        requests.get(link, timeout=30).raise_for_status()

    def confirmed() -> dict[str, Any] | None:
        sub = _subscription(lab, topic_arn, email)
        return sub if sub and sub["SubscriptionArn"].startswith("arn:") else None

    return wait_until(
        confirmed,
        f"the subscription of {email} to be confirmed",
        timeout=lab.wait_budget(900),
        interval=lab.poll_interval * 4,
        hint=f"Open the email 'AWS Notification - Subscription Confirmation' sent to {email} "
        "and click 'Confirm subscription'.",
    )


# -- functions and the stream's mapping ---------------------------------------------------
def deploy_functions(lab: Lab, table: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    names = Names.of(lab)
    post_role = functions.execution_role(
        lab,
        names.post_role,
        [
            {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table["TableArn"]},
            {"Effect": "Allow", "Action": XRAY_WRITE, "Resource": "*"},
        ],
    )
    stream_role = functions.execution_role(
        lab,
        names.stream_role,
        [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": table["LatestStreamArn"],
            },
            {"Effect": "Allow", "Action": XRAY_WRITE, "Resource": "*"},
        ],
    )
    post = functions.deploy(lab, post_spec(lab, table, post_role))
    stream = functions.deploy(
        lab,
        functions.FunctionSpec(
            name=names.stream_function,
            folder="questions_stream",
            handler="process_stream.process_stream",
            role_arn=stream_role,
            environment={"SNS_TOPIC_ARN": topic_arn},
            tracing=True,
        ),
    )
    return {"post": post, "stream": stream}


def post_spec(
    lab: Lab, table: dict[str, Any], role_arn: str, fault_injection: bool = False
) -> functions.FunctionSpec:
    environment = {
        "QUESTIONS_TABLE": table["TableName"],
        "ALLOWED_ORIGIN": rest_apis.site_origin(lab),
    }
    if fault_injection:
        environment["FAULT_INJECTION"] = "on"
    return functions.FunctionSpec(
        name=Names.of(lab).post_function,
        folder="questions_post",
        handler="post_question.post_question",
        role_arn=role_arn,
        environment=environment,
        tracing=True,
    )


def connect_stream(lab: Lab, table: dict[str, Any], function_name: str) -> dict[str, Any]:
    """The event source mapping: each new question, one at a time, to the stream function."""
    client = lab.client("lambda")
    stream_arn = table["LatestStreamArn"]
    found = client.list_event_source_mappings(
        EventSourceArn=stream_arn, FunctionName=function_name
    )["EventSourceMappings"]
    if found:
        mapping = found[0]
    else:
        mapping = client.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName=function_name,
            StartingPosition="TRIM_HORIZON",
            BatchSize=1,
            MaximumRetryAttempts=2,
        )

    def enabled() -> dict[str, Any] | None:
        current = client.get_event_source_mapping(UUID=mapping["UUID"])
        return current if current["State"] == "Enabled" else None

    return wait_until(
        enabled,
        "the stream's event source mapping to be enabled",
        timeout=lab.wait_budget(300),
        interval=lab.poll_interval,
    )


# -- the API ------------------------------------------------------------------------------
def openapi_document(lab: Lab, function_arn: str) -> dict[str, Any]:
    post = rest_apis.lambda_proxy(
        lab, Names.of(lab).api_role, function_arn, "Ask the staff a question"
    )
    return rest_apis.document(
        lab,
        Names.of(lab).api,
        "Questions from visitors to the Mythical Mysfits staff.",
        {"/questions": {"post": post}},
    )


def create_api(lab: Lab, function_arn: str) -> dict[str, Any]:
    """Import (or overwrite) and deploy the questions API, with X-Ray tracing on its stage."""
    document = openapi_document(lab, function_arn)
    api = rest_apis.import_api(lab, Names.of(lab).api, document)
    deployment = rest_apis.deploy(lab, api["id"], document)
    lab.client("apigateway").update_stage(
        restApiId=api["id"],
        stageName=rest_apis.STAGE,
        patchOperations=[{"op": "replace", "path": "/tracingEnabled", "value": "true"}],
    )
    return {"id": api["id"], "url": rest_apis.stage_url(lab, api["id"]), **deployment}


def record(
    lab: Lab, api: dict[str, Any], table: dict[str, Any], topic_arn: str, email: str
) -> dict[str, Any]:
    names = Names.of(lab)
    recorded = lab.outputs.record(
        MODULE,
        {
            "questions.url": api["url"],
            "questions.api_id": api["id"],
            "questions.table": table["TableName"],
            "questions.topic_arn": topic_arn,
            "questions.admin_email": email,
            "questions.post_function": names.post_function,
            "questions.stream_function": names.stream_function,
        },
    )
    website.publish_config(lab)  # the site now shows "Contact us"
    return recorded


def build(lab: Lab, email: str | None = None) -> dict[str, Any]:
    address = admin_email(lab, email or lab.outputs.get_or("questions.admin_email"))
    table = create_table(lab)
    topic = create_topic(lab, address)
    confirm_subscription(lab, topic["TopicArn"], address)
    deployed = deploy_functions(lab, table, topic["TopicArn"])
    connect_stream(lab, table, deployed["stream"]["FunctionName"])
    api = create_api(lab, deployed["post"]["FunctionArn"])
    return record(lab, api, table, topic["TopicArn"], address)


def is_built(lab: Lab) -> bool:
    return rest_apis.is_deployed(lab, lab.outputs.get_or("questions.api_id"))


# -- asking, reading the staff's mail ---------------------------------------------------
def ask(lab: Lab, email: str, text: str) -> requests.Response:
    """What the site's "Contact us" form sends."""
    return requests.post(
        f"{lab.outputs.get('questions.url')}/questions",
        json={"email": email, "questionText": text},
        timeout=60,
    )


def staff_mail(lab: Lab, containing: str | None = None) -> list[dict[str, Any]]:
    """The questions the staff received (local: the outbox), newest last."""
    from .. import outbox

    email = lab.outputs.get("questions.admin_email")
    found = [
        {"time": m["time"], "subject": m["subject"], "body": m["body"].split("\n--")[0].strip()}
        for m in outbox.messages(lab.endpoint_url, to=email)
        if m["subject"] != CONFIRMATION_SUBJECT
    ]
    return [m for m in found if containing is None or containing in m["body"]]


def wait_for_mail(lab: Lab, containing: str, progress: bool = True) -> dict[str, Any]:
    """Wait until the staff's email about a question containing ``containing`` arrives."""
    if not lab.is_local:
        raise LabError("On AWS the question goes to your inbox: look for it there.")
    return wait_until(
        lambda: (staff_mail(lab, containing) or [None])[-1],
        "the staff's email about the question",
        timeout=lab.wait_budget(120),
        interval=lab.poll_interval,
        progress=progress,
        hint=f"The stream function's log group /aws/lambda/{Names.of(lab).stream_function} "
        "says what happened to the question.",
    )


# -- traces ----------------------------------------------------------------------------------
def _trace_id(answer: requests.Response) -> str | None:
    """The X-Ray trace of an answer of the questions API (API Gateway names it in a successful
    answer's X-Amzn-Trace-Id)."""
    found = re.search(r"Root=(1-[0-9a-f]{8}-[0-9a-f]{24})", answer.headers.get(TRACE_HEADER, ""))
    return found.group(1) if found else None


def wait_for_trace(lab: Lab, answer: requests.Response) -> dict[str, Any] | None:
    """Wait until the trace of ``answer`` is whole in X-Ray (None for an untraced answer)."""
    trace = _trace_id(answer)
    if trace is None:
        return None
    started = int(trace.split("-")[1], 16)  # a trace id carries its start, in epoch seconds
    return _wait_for_whole_traces(lab, started, 1, lambda s: s["Id"] == trace, "its trace")[0]


def wait_for_fault_traces(lab: Lab, since: float, statuses: list[int]) -> list[dict[str, Any]]:
    """Wait until X-Ray holds the whole traces of a burst of questions sent since ``since``:
    on local, which traces every request, the trace of each failed answer; on AWS, whose default
    sampling rule keeps the first request each second and 5% of the rest, the burst's first."""
    if lab.is_local:
        failed = sum(status >= 500 for status in statuses)
        return _wait_for_whole_traces(lab, since, failed, _has_fault, "the traces with a fault")
    return _wait_for_whole_traces(lab, since, 1, lambda _: True, "the first trace")


def _has_fault(summary: dict[str, Any]) -> bool:
    return bool(summary.get("HasFault"))


def _wait_for_whole_traces(
    lab: Lab, since: float, count: int, keep: Callable[[dict[str, Any]], bool], what: str
) -> list[dict[str, Any]]:
    """Summaries of ``count`` traces since ``since`` that ``keep`` keeps, once whole: segments
    reach X-Ray a moment after the request, API Gateway's once its answer has gone."""
    if not count:
        return []
    xray = lab.client("xray")

    def whole() -> list[dict[str, Any]] | None:
        page = xray.get_trace_summaries(StartTime=since, EndTime=time.time())
        found = [s for s in page["TraceSummaries"] if keep(s) and _is_whole(s)]
        return found if len(found) >= count else None

    return wait_until(
        whole, f"{what} to reach X-Ray", timeout=lab.wait_budget(60), interval=lab.poll_interval
    )


def _is_whole(summary: dict[str, Any]) -> bool:
    """Whether a trace holds API Gateway's segment (its entry point) and the function's."""
    services = {service.get("Type") for service in summary.get("ServiceIds", [])}
    entry = summary.get("EntryPoint", {}).get("Type")
    return entry == STAGE_SERVICE and FUNCTION_SERVICE in services


# -- the deliberate fault ------------------------------------------------------------------
def set_fault_injection(lab: Lab, on: bool) -> dict[str, Any]:
    """Switch the original's third deployment on or off: five requests in six hang 5 s and
    fail inside ``hanging_exception``."""
    table = lab.client("dynamodb").describe_table(TableName=Names.of(lab).table)["Table"]
    role = lab.client("iam").get_role(RoleName=Names.of(lab).post_role)["Role"]["Arn"]
    return functions.deploy(lab, post_spec(lab, table, role, fault_injection=on))


def ask_many(lab: Lab, count: int, email: str) -> list[int]:
    """``count`` questions at once, as a busy day would send them; their HTTP statuses."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = pool.map(
            lambda i: ask(lab, email, f"Question {i + 1} of a busy day").status_code,
            range(count),
        )
        return list(answers)


# -- checking -----------------------------------------------------------------------------
def check(lab: Lab) -> Checklist:
    marker = f"check {int(time.time() * 1000)}"
    good = ask(lab, "visitor@example.com", f"Do mysfits like tea? ({marker})")
    rows = [{"what": "POST /questions answered 200", "as expected": good.status_code == 200}]
    bad_email = ask(lab, "not an address", "Hello?")
    empty = ask(lab, "visitor@example.com", "")
    long = ask(lab, "visitor@example.com", "?" * 2001)
    rows.append(
        {
            "what": "bad email, empty and too long questions answered 400",
            "as expected": [bad_email.status_code, empty.status_code, long.status_code]
            == [400] * 3,
        }
    )
    stored = _stored(lab, marker)
    rows.append({"what": "the question is in the table", "as expected": stored == 1})
    if lab.is_local:
        wait_for_mail(lab, marker, progress=False)  # the check's output reads the same each run
        time.sleep(DUPLICATE_WINDOW)
        rows.append(
            {
                "what": "the staff got exactly one email",
                "as expected": len(staff_mail(lab, marker)) == 1,
            }
        )
    return Checklist(
        rows,
        "OK: a question is stored, emailed to the staff once, and traced; bad input is "
        "answered 400 with the reason.",
    )


def _stored(lab: Lab, marker: str) -> int:
    table = lab.outputs.get("questions.table")
    pages = lab.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return sum(
        marker in item["QuestionText"]["S"] for page in pages for item in page.get("Items", [])
    )


# -- clean-up ---------------------------------------------------------------------------
def teardown(lab: Lab) -> list[str]:
    names = Names.of(lab)
    removed = rest_apis.delete_api(lab, names.api)
    client = lab.client("lambda")
    with tolerate("ResourceNotFoundException"):
        mappings = client.list_event_source_mappings(FunctionName=names.stream_function)
        for mapping in mappings["EventSourceMappings"]:
            client.delete_event_source_mapping(UUID=mapping["UUID"])
            removed.append(f"event source mapping {mapping['UUID']}")
    for name in (names.post_function, names.stream_function):
        removed += functions.delete(lab, name)
    for role in (names.api_role, names.post_role, names.stream_role):
        removed += iam.delete_role(lab, role)
    topic_arn = lab.outputs.get_or("questions.topic_arn")
    if topic_arn:
        with tolerate("NotFound", "NotFoundException"):
            lab.client("sns").delete_topic(TopicArn=topic_arn)
            removed.append(f"SNS topic {names.topic}")
    try:
        lab.client("dynamodb").delete_table(TableName=names.table)
        removed.append(f"DynamoDB table {names.table}")
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    lab.outputs.forget(
        "questions.url",
        "questions.api_id",
        "questions.table",
        "questions.topic_arn",
        "questions.admin_email",
        "questions.post_function",
        "questions.stream_function",
    )
    if website.is_built(lab):
        website.publish_config(lab)
    return removed


# -- rows for the notebook's tables -----------------------------------------------------------
def table_row(table: dict[str, Any]) -> dict[str, str]:
    return {
        "table": table["TableName"],
        "status": table["TableStatus"],
        "stream": table["StreamSpecification"]["StreamViewType"],
    }


def subscription_row(topic_arn: str, subscription: dict[str, Any]) -> dict[str, str]:
    return {
        "topic": topic_arn.rsplit(":", 1)[1],
        "protocol": subscription["Protocol"],
        "endpoint": subscription["Endpoint"],
        "subscription": subscription["SubscriptionArn"].rsplit(":", 1)[1],
    }


def function_rows(deployed: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "function": f["FunctionName"],
            "handler": f["Handler"],
            "tracing": f["TracingConfig"]["Mode"],
            "deployment": f["action"],
        }
        for f in deployed.values()
    ]


def mapping_row(mapping: dict[str, Any]) -> dict[str, Any]:
    return {
        "mapping": mapping["UUID"],
        "state": mapping["State"],
        "batch size": mapping["BatchSize"],
        "starting position": mapping["StartingPosition"],
    }
