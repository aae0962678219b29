"""Module 5: the click stream — ``PUT /clicks`` → Firehose → a Lambda transform → S3.

Same calls on both targets. The original's SAM template, built step by step: a versioned
bucket for the clicks; the transform function (``assets/functions/clicks``) that adds each
mysfit's species and alignment, looked up through the module-4 API; a delivery stream that
buffers clicks for the function (15 s) and what it returns for the bucket (15 s or 50 MB) — the
original's 60 s and Lambda's default 60 s made a learner wait up to two minutes; and a second
REST API whose ``PUT /clicks`` hands the request body to Firehose's ``PutRecord`` through a
Velocity mapping template — no code of ours between the browser and Firehose.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from botocore.exceptions import ClientError

from ..lab import Lab, LabError
from ..waiting import wait_until
from . import functions, iam, rest_apis, website
from .aws_errors import error_code, tolerate
from .buckets import delete_bucket, ensure_bucket
from .checks import Checklist

MODULE = "05-clickstream"
API = "ClickProcessingApi"
STREAM = "MysfitsFireHoseToS3"
FUNCTION = "MysfitsClicksProcessor"
BUCKET_PURPOSE = "clicks"
PREFIX = "firehose/"
FAILED_PREFIX = f"{PREFIX}processing-failed/"  # where Firehose keeps what the transform failed
# Firehose buffers twice: before it calls the function, then before it writes to S3. A lone
# click waits both intervals (the local cloud scales them down).
BUFFER_SECONDS = 15  # the destination's BufferingHints (the original's 60 s, shortened)
BUFFER_MB = 50
FUNCTION_BUFFER_SECONDS = 15  # the processor's BufferIntervalInSeconds (60 s by default)
DELIVERY_SECONDS = FUNCTION_BUFFER_SECONDS + BUFFER_SECONDS
# The original's mapping template: the whole body, re-serialised, base64-encoded into one record.
TEMPLATE = (
    '{ "DeliveryStreamName": "%s", "Record": { "Data": "$util.base64Encode($input.json(\'$\'))" } }'
)


@dataclass(frozen=True)
class Names:
    api: str
    stream: str
    function: str
    function_role: str
    firehose_role: str
    api_role: str

    @classmethod
    def of(cls, lab: Lab) -> Names:
        return cls(
            api=lab.name(API),
            stream=lab.name(STREAM),
            function=lab.name(FUNCTION),
            function_role=lab.name("ClicksProcessorRole"),
            firehose_role=lab.name("FirehoseDeliveryRole"),
            api_role=lab.name("ClickProcessingApiRole"),
        )


# -- the bucket and the transform ---------------------------------------------------------
def create_bucket(lab: Lab) -> str:
    """The clicks' bucket, versioned as the original's ``ClicksDestinationBucket``."""
    return ensure_bucket(lab, BUCKET_PURPOSE, versioned=True)


def deploy_function(lab: Lab) -> dict[str, Any]:
    """The transform: it reads each mysfit through the module-4 API, so it needs no AWS
    permission beyond writing its logs."""
    names = Names.of(lab)
    role = functions.execution_role(lab, names.function_role)
    spec = functions.FunctionSpec(
        name=names.function,
        folder="clicks",
        handler="stream_processor.process_records",
        role_arn=role,
        environment={"MYSFITS_API_URL": lab.outputs.get("api.url")},
        timeout=30,
    )
    return functions.deploy(lab, spec)


# -- the delivery stream ------------------------------------------------------------------
def _firehose_role(lab: Lab, bucket: str, function_arn: str) -> str:
    bucket_arn = f"arn:aws:s3:::{bucket}"
    return iam.ensure_role(
        lab,
        Names.of(lab).firehose_role,
        "firehose.amazonaws.com",
        inline_policies={
            "delivery": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "s3:AbortMultipartUpload",
                            "s3:GetBucketLocation",
                            "s3:GetObject",
                            "s3:ListBucket",
                            "s3:ListBucketMultipartUploads",
                            "s3:PutObject",
                        ],
                        "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                        "Resource": function_arn,
                    },
                ],
            }
        },
    )


def destination(bucket: str, role_arn: str, function_arn: str) -> dict[str, Any]:
    return {
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "RoleARN": role_arn,
        "Prefix": PREFIX,
        "BufferingHints": {"IntervalInSeconds": BUFFER_SECONDS, "SizeInMBs": BUFFER_MB},
        "CompressionFormat": "UNCOMPRESSED",
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [
                        {"ParameterName": "LambdaArn", "ParameterValue": function_arn},
                        {
                            "ParameterName": "BufferIntervalInSeconds",
                            "ParameterValue": str(FUNCTION_BUFFER_SECONDS),
                        },
                    ],
                }
            ],
        },
    }


def create_stream(lab: Lab, bucket: str, function_arn: str) -> dict[str, Any]:
    """The delivery stream (reused when it exists); waits until it is ACTIVE."""
    firehose = lab.client("firehose")
    name = Names.of(lab).stream
    role = _firehose_role(lab, bucket, function_arn)
    try:
        firehose.describe_delivery_stream(DeliveryStreamName=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        _create_stream(lab, name, destination(bucket, role, function_arn))

    def active() -> dict[str, Any] | None:
        described = firehose.describe_delivery_stream(DeliveryStreamName=name)
        stream = described["DeliveryStreamDescription"]
        if stream["DeliveryStreamStatus"].endswith("FAILED"):
            raise LabError(f"delivery stream {name} is {stream['DeliveryStreamStatus']}")
        return stream if stream["DeliveryStreamStatus"] == "ACTIVE" else None

    return wait_until(
        active,
        f"delivery stream {name} to become active",
        timeout=lab.wait_budget(300),
        interval=lab.poll_interval,
    )


def _create_stream(lab: Lab, name: str, extended_s3: dict[str, Any]) -> None:
    deadline = time.monotonic() + lab.wait_budget(60)
    while True:  # Firehose may not be allowed to assume a role created a moment ago
        try:
            lab.client("firehose").create_delivery_stream(
                DeliveryStreamName=name,
                DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration=extended_s3,
                Tags=lab.tag_list(),
            )
            return
        except ClientError as exc:
            if error_code(exc) != "InvalidArgumentException" or time.monotonic() > deadline:
                raise
            time.sleep(lab.poll_interval * 4)


# -- the streaming API --------------------------------------------------------------------
def _api_role(lab: Lab, stream_arn: str) -> str:
    return iam.ensure_role(
        lab,
        Names.of(lab).api_role,
        "apigateway.amazonaws.com",
        inline_policies={
            "put-record": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "firehose:PutRecord", "Resource": stream_arn}
                ],
            }
        },
    )


def mapping_template(stream: str) -> str:
    return TEMPLATE % stream


def openapi_document(lab: Lab, stream: dict[str, Any]) -> dict[str, Any]:
    """``PUT /clicks`` → Firehose ``PutRecord``, CORS for the site, as OpenAPI 3."""
    origin = rest_apis.site_origin(lab)
    cors = {
        "method.response.header.Access-Control-Allow-Origin": f"'{origin}'",
        "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,PUT'",
        "method.response.header.Access-Control-Allow-Headers": "'Content-Type'",
    }
    headers = {name.rsplit(".", 1)[1]: {"schema": {"type": "string"}} for name in cors}
    put = {
        "summary": "Record that a visitor looked at a mysfit",
        "responses": {
            "200": {"description": "the click was accepted", "headers": headers},
            "400": {"description": "Firehose refused the click", "headers": headers},
        },
        "x-amazon-apigateway-integration": {
            "type": "aws",
            "httpMethod": "POST",
            "uri": f"arn:aws:apigateway:{lab.region}:firehose:action/PutRecord",
            "credentials": _api_role(lab, stream["DeliveryStreamARN"]),
            "requestParameters": {
                "integration.request.header.Content-Type": "'application/x-amz-json-1.1'"
            },
            "requestTemplates": {
                "application/json": mapping_template(stream["DeliveryStreamName"])
            },
            "passthroughBehavior": "never",
            # Unlike the original, a refused click is not answered 200.
            "responses": {
                "default": {"statusCode": "200", "responseParameters": cors},
                "4\\d{2}": {"statusCode": "400", "responseParameters": cors},
            },
        },
    }
    return rest_apis.document(
        lab,
        Names.of(lab).api,
        "The Mythical Mysfits click stream: each profile view is a record in Firehose.",
        {"/clicks": {"put": put}},
    )


def create_api(lab: Lab, stream: dict[str, Any]) -> dict[str, Any]:
    """Import (or overwrite) and deploy the streaming API; returns its id and stage URL."""
    document = openapi_document(lab, stream)
    api = rest_apis.import_api(lab, Names.of(lab).api, document)
    deployment = rest_apis.deploy(lab, api["id"], document)
    return {"id": api["id"], "url": rest_apis.stage_url(lab, api["id"]), **deployment}


def record(lab: Lab, api: dict[str, Any], bucket: str, stream: dict[str, Any]) -> dict[str, Any]:
    recorded = lab.outputs.record(
        MODULE,
        {
            "clicks.url": api["url"],
            "clicks.api_id": api["id"],
            "clicks.bucket": bucket,
            "clicks.stream": stream["DeliveryStreamName"],
            "clicks.function": Names.of(lab).function,
        },
    )
    website.publish_config(lab)  # the site now sends a click on each profile view
    return recorded


def build(lab: Lab) -> dict[str, Any]:
    bucket = create_bucket(lab)
    function = deploy_function(lab)
    stream = create_stream(lab, bucket, function["FunctionArn"])
    api = create_api(lab, stream)
    return record(lab, api, bucket, stream)


def is_built(lab: Lab) -> bool:
    return rest_apis.is_deployed(lab, lab.outputs.get_or("clicks.api_id"))


# -- clicks in and out ----------------------------------------------------------------------
def send_click(lab: Lab, mysfit_id: str, user_id: str = "guest") -> requests.Response:
    """What the site sends on each profile view."""
    return requests.put(
        f"{lab.outputs.get('clicks.url')}/clicks",
        json={"userId": user_id, "mysfitId": mysfit_id},
        timeout=30,
    )


def _objects(lab: Lab, prefix: str) -> list[str]:
    s3 = lab.client("s3")
    keys = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=lab.outputs.get("clicks.bucket"), Prefix=prefix
    )
    for page in pages:
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


def delivered_clicks(lab: Lab) -> list[dict[str, Any]]:
    """Every enriched click in the bucket: one JSON object per line of each delivered object."""
    s3 = lab.client("s3")
    bucket = lab.outputs.get("clicks.bucket")
    found = []
    for key in _objects(lab, PREFIX):
        if key.startswith(FAILED_PREFIX):
            continue
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        found.extend({**json.loads(line), "object": key} for line in body.splitlines() if line)
    return found


def failed_clicks(lab: Lab) -> list[dict[str, Any]]:
    """What Firehose kept under ``processing-failed/``: its error records, data decoded."""
    import base64

    s3 = lab.client("s3")
    bucket = lab.outputs.get("clicks.bucket")
    found = []
    for key in _objects(lab, FAILED_PREFIX):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        for line in body.splitlines():
            if line:
                error = json.loads(line)
                raw = base64.b64decode(error.get("rawData", "")).decode(errors="replace")
                found.append({"error": error.get("errorCode"), "click": raw, "object": key})
    return found


def _wait(lab: Lab, what: str, found: Any, progress: bool = True) -> Any:
    return wait_until(
        found,
        what,
        progress=progress,
        timeout=lab.wait_budget(DELIVERY_SECONDS * 3) + (10 if lab.is_local else DELIVERY_SECONDS),
        interval=lab.poll_interval * 2,
        hint="Firehose writes a buffer when its intervals have passed; the function's log group "
        f"/aws/lambda/{Names.of(lab).function} shows failed lookups.",
    )


def wait_for_clicks(
    lab: Lab, user_id: str, count: int, progress: bool = True
) -> list[dict[str, Any]]:
    """Wait until ``count`` clicks of ``user_id`` are in S3: Firehose delivers when its buffer
    intervals have passed (up to ``DELIVERY_SECONDS`` on AWS; the local cloud shortens them)."""

    def arrived() -> list[dict[str, Any]] | None:
        mine = [c for c in delivered_clicks(lab) if c.get("userId") == user_id]
        return mine if len(mine) >= count else None

    return _wait(lab, f"{count} clicks of {user_id} to land in S3", arrived, progress)


def wait_for_failed(lab: Lab, containing: str, progress: bool = True) -> list[dict[str, Any]]:
    """Wait until a click containing ``containing`` is kept under ``processing-failed/``."""

    def kept() -> list[dict[str, Any]] | None:
        return [f for f in failed_clicks(lab) if containing in f["click"]] or None

    return _wait(lab, f"the click of {containing} under {FAILED_PREFIX}", kept, progress)


# -- checking -----------------------------------------------------------------------------
def check(lab: Lab, catalogue: list[dict[str, Any]]) -> Checklist:
    """Three clicks through the API and a click of an unknown mysfit, followed into S3."""
    user = f"check-{int(time.time() * 1000)}"
    chosen = catalogue[:3]
    answers = [send_click(lab, m["mysfitId"], user).status_code for m in chosen]
    unknown = f"unknown-{user}"
    answers.append(send_click(lab, unknown, user).status_code)
    # No progress lines: the check cell's output must read the same on every run.
    landed = wait_for_clicks(lab, user, len(chosen), progress=False)
    kept = wait_for_failed(lab, unknown, progress=False)
    by_id = {c["mysfitId"]: c for c in landed}
    enriched = all(
        by_id.get(m["mysfitId"], {}).get("species") == m["species"]
        and by_id[m["mysfitId"]].get("goodevil") == m["goodevil"]
        for m in chosen
    )
    return Checklist(
        [
            {"what": "PUT /clicks answered 200", "as expected": answers == [200] * 4},
            {"what": "3 clicks landed in S3, once each", "as expected": len(landed) == 3},
            {"what": "each with species and alignment", "as expected": enriched},
            {
                "what": "the unknown mysfit's click kept under processing-failed/",
                "as expected": len(kept) == 1,
            },
        ],
        "OK: every click reached S3 enriched with its mysfit's species and alignment; "
        "the click of an unknown mysfit was kept under processing-failed/, not lost.",
    )


# -- clean-up ---------------------------------------------------------------------------
def teardown(lab: Lab) -> list[str]:
    """API, stream, function, roles, then the bucket with every object version."""
    names = Names.of(lab)
    removed = rest_apis.delete_api(lab, names.api)
    with tolerate("ResourceNotFoundException"):
        lab.client("firehose").delete_delivery_stream(DeliveryStreamName=names.stream)
        removed.append(f"delivery stream {names.stream}")
    removed += functions.delete(lab, names.function)
    for role in (names.api_role, names.firehose_role, names.function_role):
        removed += iam.delete_role(lab, role)
    removed += delete_bucket(lab, BUCKET_PURPOSE)
    lab.outputs.forget(
        "clicks.url", "clicks.api_id", "clicks.bucket", "clicks.stream", "clicks.function"
    )
    if website.is_built(lab):
        website.publish_config(lab)
    return removed


def function_row(function: dict[str, Any]) -> dict[str, str]:
    return {
        "function": function["FunctionName"],
        "runtime": function["Runtime"],
        "handler": function["Handler"],
        "deployment": function["action"],
    }


def stream_row(stream: dict[str, Any]) -> dict[str, str]:
    return {
        "stream": stream["DeliveryStreamName"],
        "status": stream["DeliveryStreamStatus"],
        "buffer": f"{BUFFER_SECONDS} s or {BUFFER_MB} MB",
        "prefix": PREFIX,
    }
