"""A malformed-request corpus for every service the workbook uses: each answer is a 4xx that
boto3 reads as an AWS error of that service's protocol (a code, not just a status) — never a
5xx, whatever is wrong: types, JSON, required members, integers, enums, query parameters,
Content-Length, X-Amz-Target, signatures, a body on a GET.

Requests start as botocore builds them for an operation (only its required members, each the
simplest valid value) and are then broken one thing at a time, on the wire or in the parameters
botocore serializes without validating.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.model import OperationModel, Shape
from botocore.parsers import ResponseParserError

from mysfits_lab.localcloud import control
from tests.security.wire import Answer, Wire, built, client, parsed_error, sample, send

# Operations of each service: the workbook's, and a few more of each protocol's shapes.
OPERATIONS = {
    "s3": ["PutObject", "ListObjectsV2", "PutBucketWebsite", "DeleteObjects", "UploadPart"],
    "ecs": ["RunTask", "CreateService", "RegisterTaskDefinition", "UpdateService"],
    "elbv2": ["CreateLoadBalancer", "CreateTargetGroup", "RegisterTargets", "CreateListener"],
    "cloudformation": ["CreateStack", "DescribeStacks", "DescribeStackEvents", "UpdateStack"],
    "codebuild": ["CreateProject", "StartBuild", "BatchGetBuilds", "ListBuildsForProject"],
    "ecr": ["CreateRepository", "DescribeImages", "PutImage", "BatchGetImage"],
    "logs": ["CreateLogGroup", "PutLogEvents", "GetLogEvents", "FilterLogEvents"],
    "iam": ["CreateRole", "PutRolePolicy", "AttachRolePolicy", "ListRoles"],
    "sts": ["AssumeRole", "GetCallerIdentity", "GetFederationToken"],
    "ec2": ["DescribeVpcs", "CreateSubnet", "CreateSecurityGroup", "RunInstances"],
    "sagemaker": ["CreateTrainingJob", "CreateEndpoint", "CreateModel", "ListTrainingJobs"],
    "sagemaker-runtime": ["InvokeEndpoint"],
    "dynamodb": ["CreateTable", "PutItem", "Query", "BatchWriteItem"],
    "cognito-idp": ["SignUp", "InitiateAuth", "CreateUserPool", "ListUsers"],
    "apigateway": ["ImportRestApi", "CreateDeployment", "PutIntegration", "GetRestApis"],
    "lambda": ["CreateFunction", "Invoke", "CreateEventSourceMapping", "ListFunctions"],
    "firehose": ["CreateDeliveryStream", "PutRecord", "PutRecordBatch"],
    "sns": ["CreateTopic", "Subscribe", "Publish", "ListTopics"],
    "xray": ["PutTraceSegments", "GetServiceGraph", "GetTraceSummaries", "BatchGetTraces"],
    "codepipeline": ["CreatePipeline", "StartPipelineExecution", "GetPipelineState"],
}
# A value of the wrong JSON type for each kind of member.
WRONG_JSON = {
    "string": 12345,
    "integer": "abc",
    "long": "abc",
    "float": "x",
    "double": "x",
    "boolean": "yes",
    "list": {"not": "a list"},
    "map": ["not", "a", "map"],
    "structure": "not a structure",
    "timestamp": "not a date",
    "blob": "!!! not base64 !!!",
}
NUMBERS = ("integer", "long")


@dataclass(frozen=True)
class Case:
    service: str
    operation: str  # whose output shape boto3 would parse the answer with
    what: str
    wire: Wire | None  # None: botocore could not even build it


def _members(shape: Shape | None, body_only: bool) -> list[tuple[str, Shape]]:
    """Members worth breaking: required ones first, then one of each other kind."""
    if shape is None:
        return []
    chosen, kinds = [], set()
    for name in [*shape.required_members, *shape.members]:
        member = shape.members[name]
        if body_only and member.serialization.get("location"):
            continue
        kind = "enum" if getattr(member, "enum", None) else member.type_name
        wanted = name in shape.required_members or kind not in kinds
        if wanted and (name, member) not in chosen:
            chosen.append((name, member))
            kinds.add(kind)
    return chosen[:5]


def _json_cases(service: str, model: OperationModel, base: Wire) -> Iterator[Case]:
    if not base.body.startswith(b"{"):
        return
    body = json.loads(base.body)
    op = model.name

    def variant(what: str, name: str, value: Any) -> Case:
        changed = {**body, name: value}
        return Case(service, op, what, base.but(body=json.dumps(changed).encode()))

    for name, member in _members(model.input_shape, body_only=True):
        wire_name = member.serialization.get("name", name)
        yield variant(f"{name}: wrong JSON type", wire_name, WRONG_JSON[member.type_name])
        if member.type_name in NUMBERS:
            yield variant(f"{name}: huge integer", wire_name, 10**30)
        if getattr(member, "enum", None):
            yield variant(f"{name}: not in its enum", wire_name, "NOT_A_VALUE")
        if member.type_name == "string" and "max" in member.metadata:
            yield variant(f"{name}: too long", wire_name, "a" * (member.metadata["max"] + 1))
        if name in model.input_shape.required_members:
            yield variant(f"{name}: null", wire_name, None)


def _param_cases(service: str, model: OperationModel, api: Any) -> Iterator[Case]:
    """Broken parameters botocore serializes as given (query strings, headers, URI labels)."""
    op, shape = model.name, model.input_shape
    valid = sample(shape)
    for name, member in _members(shape, body_only=False):
        location = member.serialization.get("location")
        if model.metadata["protocol"] in ("json", "rest-json") and not location:
            continue  # body members are broken on the wire, above
        if member.type_name in NUMBERS:
            yield _built(api, service, op, f"{name}: not a number", {**valid, name: "abc"})
            yield _built(api, service, op, f"{name}: huge integer", {**valid, name: 10**30})
        if member.type_name == "boolean" and location:
            yield _built(api, service, op, f"{name}: not a boolean", {**valid, name: "maybe"})
        if getattr(member, "enum", None):
            yield _built(api, service, op, f"{name}: not in its enum", {**valid, name: "NOPE"})
        if member.type_name == "string" and "max" in member.metadata:
            too_long = "a" * (member.metadata["max"] + 1)
            yield _built(api, service, op, f"{name}: too long", {**valid, name: too_long})


def _built(api: Any, service: str, op: str, what: str, params: dict[str, Any]) -> Case:
    try:
        return Case(service, op, what, built(api, op, params))
    except Exception:  # botocore cannot serialize it at all: nothing to send
        return Case(service, op, what, None)


def _wire_cases(service: str, protocol: str, op: str, base: Wire) -> Iterator[Case]:
    """What is wrong on the wire, whatever the operation."""

    def case(what: str, wire: Wire) -> Case:
        return Case(service, op, what, wire)

    if protocol in ("json", "rest-json"):
        yield case("not JSON", base.but(body=b"{this is not json"))
        yield case("a JSON array", base.but(body=b"[1, 2, 3]"))
        yield case("not UTF-8", base.but(body=b'{"a": "\xff\xfe\xfd"}'))
        yield case("nested 5000 deep", base.but(body=b'{"a":' * 5000 + b"1" + b"}" * 5000))
    if protocol == "json":
        prefix = base.headers["X-Amz-Target"].rsplit(".", 1)[0]
        yield case("unknown X-Amz-Target", base.with_headers(X_Amz_Target=f"{prefix}.NoSuchThing"))
        yield case("no X-Amz-Target", base.with_headers(X_Amz_Target=None))
        yield case("X-Amz-Target of no service", base.with_headers(X_Amz_Target="Nope.Nope"))
    if protocol in ("query", "ec2"):
        text = base.body.decode()
        action = f"Action={op}"
        yield case("unknown Action", base.but(body=text.replace(action, "Action=NoSuch").encode()))
        yield case("no Action", base.but(body=text.replace(action, "").encode()))
        yield case("form of bad escapes", base.but(body=f"{text}&%zz=%G1&&=&x".encode()))
        yield case("not a form", base.with_headers(Content_Type="application/json"))
    if protocol.startswith("rest"):
        yield case("no such path", base.but(method="PATCH", path="/no/such/thing/here"))
    yield case("bad query string", base.but(path=base.path.split("?")[0] + "?%zz&a=%G1&&=&x"))
    auth = base.headers.get("Authorization", "")
    for what, value in (
        ("garbage signature", "AWS4-HMAC-SHA256 Credential=garbage"),
        ("not SigV4", "Bearer not-a-token"),
        ("signature of a path region", auth.replace("/us-east-1/", "/../../etc/")),
        ("credential of 7 parts", auth.replace("/aws4_request", "/aws4_request/x/y")),
    ):
        yield case(what, base.with_headers(Authorization=value))
    yield case("a body on a GET", base.but(method="GET", body=b'{"a": 1}'))
    yield case("Content-Length not a number", base.but(content_length="abc"))
    yield case("negative Content-Length", base.but(content_length="-1"))
    yield case("Content-Length in exponent form", base.but(content_length="1e3"))
    long_body = base.body + b" " * 64
    yield case("body shorter than its Content-Length", base.but(body=long_body, cut_after=8))
    yield case("a terabyte announced", base.but(content_length=str(10**12), cut_after=0))


def corpus(edge_url: str) -> list[Case]:
    cases: list[Case] = []
    for service, operations in OPERATIONS.items():
        api = client(service, edge_url)
        protocol = api.meta.service_model.resolved_protocol
        for op in operations:
            model = api.meta.service_model.operation_model(op)
            base = built(api, op, sample(model.input_shape))
            if model.input_shape is not None and model.input_shape.required_members:
                cases.append(_built(api, service, op, "no required member", {}))
            cases.extend(_json_cases(service, model, base))
            cases.extend(_param_cases(service, model, api))
        first = operations[0]
        base = built(api, first, sample(api.meta.service_model.operation_model(first).input_shape))
        cases.extend(_wire_cases(service, protocol, first, base))
    return [case for case in cases if case.wire is not None]


def _verdict(case: Case, answer: Answer, model: OperationModel) -> str | None:
    """What is wrong with an answer (None: nothing)."""
    if answer.status >= 500:
        return f"{answer.status}: {answer.body[:300]!r}"
    if answer.status < 400:
        return None
    try:
        code = parsed_error(model, answer).get("Code", "")
    except ResponseParserError as exc:
        return f"{answer.status} unreadable: {exc}"
    if not code or code == str(answer.status):
        return (
            f"{answer.status} not in {model.service_model.resolved_protocol}: {answer.body[:200]!r}"
        )
    return None


@pytest.fixture(scope="module")
def edge(cloud) -> str:
    return control.status().edge_url


def test_no_malformed_request_gets_a_5xx_and_every_4xx_is_an_aws_error(edge):
    port = int(edge.rsplit(":", 1)[1])
    cases = corpus(edge)
    statuses: Counter[str] = Counter()
    problems = []
    for case in cases:
        assert case.wire is not None
        answer = send(port, case.wire)
        statuses[f"{answer.status // 100}xx"] += 1
        model = client(case.service, edge).meta.service_model.operation_model(case.operation)
        problem = _verdict(case, answer, model)
        if problem:
            problems.append(f"{case.service} {case.operation} [{case.what}] -> {problem}")
    print(
        f"\nmalformed corpus: {len(cases)} requests tried over {len(OPERATIONS)} services; "
        f"answers {dict(sorted(statuses.items()))}; 5xx seen: {statuses['5xx']}"
    )
    assert len(cases) >= 300
    assert not problems, "\n".join(problems)
    assert control.status().running  # and the cloud is still there
