"""REST APIs in API Gateway, as every module that has one builds it: an OpenAPI 3 document
rendered from the outputs store, imported (or overwritten on a rerun), deployed to ``prod`` only
when the document changed, reached at the stage's URL, deleted by name.

The CORS pieces are here too: a ``MOCK`` preflight for each path and gateway responses that
carry the CORS headers, both admitting the site's origin only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from ..lab import Lab
from ..waiting import wait_until
from .aws_errors import error_code, tolerate

STAGE = "prod"
ALLOWED_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key"


def site_origin(lab: Lab) -> str:
    """The site's origin (scheme://host[:port]): the only page the APIs' CORS admits."""
    parts = urlsplit(lab.outputs.get("website.url"))
    return f"{parts.scheme}://{parts.netloc}"


def preflight(methods: str, origin: str, parameters: list[dict] | None = None) -> dict[str, Any]:
    """OPTIONS answered by API Gateway itself (MOCK): the browser's CORS preflight."""
    headers = {
        name: {"schema": {"type": "string"}}
        for name in (
            "Access-Control-Allow-Headers",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Origin",
        )
    }
    operation: dict[str, Any] = {
        "summary": "CORS preflight",
        "responses": {"200": {"description": "CORS allowed", "headers": headers}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "passthroughBehavior": "when_no_match",
            "responses": {
                "default": {
                    "statusCode": "200",
                    "responseParameters": {
                        "method.response.header.Access-Control-Allow-Headers": (
                            f"'{ALLOWED_HEADERS}'"
                        ),
                        "method.response.header.Access-Control-Allow-Methods": f"'{methods}'",
                        "method.response.header.Access-Control-Allow-Origin": f"'{origin}'",
                    },
                    "responseTemplates": {"application/json": "{}"},
                }
            },
        },
    }
    if parameters:  # an OPTIONS method must declare the path's parameters too
        operation["parameters"] = parameters
    return operation


def add_preflights(paths: dict[str, dict[str, Any]], origin: str) -> None:
    """An OPTIONS method on every path, allowing that path's methods."""
    for operations in paths.values():
        methods = ",".join(sorted(m.upper() for m in operations) + ["OPTIONS"])
        parameters = operations[next(iter(operations))].get("parameters")
        operations["options"] = preflight(methods, origin, parameters)


def gateway_responses(origin: str) -> dict[str, Any]:
    """API Gateway's own answers (401 from an authorizer, 403 for an unknown path, 5xx) with
    the CORS headers: without them the browser hides the status from the site, which could
    then not tell "sign in again" from "the API is down"."""
    return {
        kind: {
            "responseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
                "gatewayresponse.header.Access-Control-Allow-Headers": f"'{ALLOWED_HEADERS}'",
            }
        }
        for kind in ("DEFAULT_4XX", "DEFAULT_5XX")
    }


def document_hash(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def find_api(lab: Lab, name: str) -> dict[str, Any] | None:
    for page in lab.client("apigateway").get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            if api["name"] == name:
                return api
    return None


def import_api(lab: Lab, name: str, document: dict[str, Any]) -> dict[str, Any]:
    """Import the document as the REST API ``name``, or overwrite that API with it on a rerun.

    The body goes as bytes: boto3 sends it as it is, so nothing is base64-encoded on the way
    (the original's "Invalid base64" came from the AWS CLI v2 reading ``file://`` text as base64).
    """
    gateway = lab.client("apigateway")
    body = json.dumps(document, indent=2).encode()
    found = find_api(lab, name)
    if found is None:
        api = gateway.import_rest_api(
            body=body, failOnWarnings=True, parameters={"endpointConfigurationTypes": "REGIONAL"}
        )
        gateway.tag_resource(resourceArn=api_arn(lab, api["id"]), tags=lab.tags)
        return api
    return gateway.put_rest_api(
        restApiId=found["id"], mode="overwrite", failOnWarnings=True, body=body
    )


def api_arn(lab: Lab, api_id: str) -> str:
    return f"arn:aws:apigateway:{lab.region}::/restapis/{api_id}"


def deploy(lab: Lab, api_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """Deploy to ``prod`` unless that stage already runs this very document.

    On API Gateway a change to the API reaches callers only through a new deployment; the
    document's hash in the deployment's description tells a rerun whether one is needed.
    """
    gateway = lab.client("apigateway")
    description = f"openapi {document_hash(document)}"
    try:
        stage = gateway.get_stage(restApiId=api_id, stageName=STAGE)
        current = gateway.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"])
        if current.get("description") == description:
            return {"deployment": current["id"], "stage": STAGE, "new": False}
    except ClientError as exc:
        if error_code(exc) != "NotFoundException":
            raise
    created = gateway.create_deployment(restApiId=api_id, stageName=STAGE, description=description)
    return {"deployment": created["id"], "stage": STAGE, "new": True}


def stage_url(lab: Lab, api_id: str) -> str:
    """The stage's invoke URL, once it is served (at once on AWS; a moment on local)."""
    return wait_until(
        lambda: lab.api_url(api_id, STAGE),
        f"stage {STAGE} of API {api_id} to be served",
        timeout=lab.wait_budget(60),
        interval=lab.poll_interval,
    )


def is_deployed(lab: Lab, api_id: str | None) -> bool:
    if not api_id:
        return False
    try:
        lab.client("apigateway").get_stage(restApiId=api_id, stageName=STAGE)
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return False
        raise
    return True


def delete_api(lab: Lab, name: str) -> list[str]:
    """The API ``name`` with its stages and deployments; what was removed."""
    found = find_api(lab, name)
    if found is None:
        return []
    with tolerate("NotFoundException"):
        lab.client("apigateway").delete_rest_api(restApiId=found["id"])
    return [f"REST API {name} ({found['id']})"]


def document(lab: Lab, title: str, description: str, paths: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3 document of ``paths``, with the CORS preflights and gateway responses for
    the site's origin."""
    origin = site_origin(lab)
    add_preflights(paths, origin)
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "description": description, "version": "2018-03-01"},
        "paths": paths,
        "x-amazon-apigateway-gateway-responses": gateway_responses(origin),
    }


def lambda_proxy(lab: Lab, role_name: str, function_arn: str, summary: str) -> dict[str, Any]:
    """A method handing the whole request to a function (``AWS_PROXY``), through a role API
    Gateway assumes to invoke it."""
    from . import iam

    role = iam.ensure_role(
        lab,
        role_name,
        "apigateway.amazonaws.com",
        inline_policies={
            "invoke": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}
                ],
            }
        },
    )
    uri = (
        f"arn:aws:apigateway:{lab.region}:lambda:path/2015-03-31/functions/"
        f"{function_arn}/invocations"
    )
    return {
        "summary": summary,
        "responses": {"200": {"description": "the function's answer"}},
        "x-amazon-apigateway-integration": {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": uri,
            "credentials": role,
            "passthroughBehavior": "when_no_match",
        },
    }
