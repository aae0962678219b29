"""Module 4, part 2: the REST API in API Gateway, in front of the service, guarded by Cognito.

Same calls on both targets. A VPC link joins API Gateway to the network load balancer of
module 02a; the API is an OpenAPI 3 document rendered here from the outputs store (the
original's ``api-swagger.json`` with its ``REPLACE_ME`` placeholders filled in by the workbook,
not by hand), imported with ``ImportRestApi`` — or ``PutRestApi`` in overwrite mode on a rerun —
and deployed to the stage ``prod``. ``POST /mysfits/{id}/like`` and ``/adopt`` need the ID token
of a user of the learner's pool; reads stay public; every path answers the browser's CORS
preflight from a ``MOCK`` integration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

from ..lab import Lab, LabError
from ..waiting import wait_until
from . import rest_apis, website
from .aws_errors import tolerate

MODULE = "04-users-api"
API = "MysfitsApi"
VPC_LINK = "MysfitsApiVpcLink"
AUTHORIZER = "MysfitsUserPoolAuthorizer"
# (path, method, needs a signed-in user); every path also answers OPTIONS.
ROUTES: tuple[tuple[str, str, bool], ...] = (
    ("/", "GET", False),
    ("/mysfits", "GET", False),
    ("/mysfits/{mysfitId}", "GET", False),
    ("/mysfits/{mysfitId}/like", "POST", True),
    ("/mysfits/{mysfitId}/adopt", "POST", True),
)


def api_name(lab: Lab) -> str:
    return lab.name(API)


def vpc_link_name(lab: Lab) -> str:
    return lab.name(VPC_LINK)


# -- the VPC link -------------------------------------------------------------------------
def _find_vpc_link(lab: Lab) -> dict[str, Any] | None:
    name = vpc_link_name(lab)
    for page in lab.client("apigateway").get_paginator("get_vpc_links").paginate():
        for link in page.get("items", []):
            if link["name"] == name:
                return link
    return None


def create_vpc_link(lab: Lab) -> dict[str, Any]:
    """The VPC link to the service's load balancer (reused when it exists); waits until it
    is AVAILABLE — minutes on AWS, where it provisions network interfaces in the VPC."""
    gateway = lab.client("apigateway")
    link = _find_vpc_link(lab)
    if link is None:
        link = gateway.create_vpc_link(
            name=vpc_link_name(lab),
            description=f"API Gateway to the mysfits load balancer of learner {lab.learner}",
            targetArns=[lab.outputs.get("service.nlb_arn")],
            tags=lab.tags,
        )
    link_id = link["id"]

    def available() -> dict[str, Any] | None:
        current = gateway.get_vpc_link(vpcLinkId=link_id)
        if current["status"] == "FAILED":
            raise LabError(
                f"VPC link {link_id} failed: {current.get('statusMessage', 'no reason given')}. "
                "Delete it (run the clean-up cell) and run this cell again."
            )
        return current if current["status"] == "AVAILABLE" else None

    return wait_until(
        available,
        f"VPC link {vpc_link_name(lab)} to become available",
        timeout=lab.wait_budget(900),
        interval=lab.poll_interval * 4,
        hint="A VPC link usually takes 5 to 10 minutes on AWS.",
    )


# -- the OpenAPI document -----------------------------------------------------------------
def _proxy(path: str, method: str, nlb_dns: str, vpc_link_id: str, signed_in: bool) -> dict:
    """A method passed through the VPC link to the service, path parameters mapped."""
    parameters = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    operation: dict[str, Any] = {
        "responses": {"200": {"description": "the service's answer"}},
        "x-amazon-apigateway-integration": {
            "type": "http_proxy",
            "httpMethod": method,
            "uri": f"http://{nlb_dns}{path}",
            "connectionType": "VPC_LINK",
            "connectionId": vpc_link_id,
            "passthroughBehavior": "when_no_match",
            "requestParameters": {
                f"integration.request.path.{name}": f"method.request.path.{name}"
                for name in parameters
            },
        },
    }
    if parameters:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in parameters
        ]
    if signed_in:
        operation["security"] = [{AUTHORIZER: []}]
    return operation


def openapi_document(lab: Lab, vpc_link_id: str) -> dict[str, Any]:
    """The API as OpenAPI 3, every id filled in from the outputs store."""
    nlb_dns = lab.outputs.get("service.nlb_dns")
    pool_arn = lab.outputs.get("users.user_pool_arn")
    origin = rest_apis.site_origin(lab)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, signed_in in ROUTES:
        paths.setdefault(path, {})[method.lower()] = _proxy(
            path, method, nlb_dns, vpc_link_id, signed_in
        )
    rest_apis.add_preflights(paths, origin)
    return {
        "openapi": "3.0.1",
        "info": {
            "title": api_name(lab),
            "description": "The Mythical Mysfits API: reads are public, likes and adoptions "
            "need a signed-in user.",
            "version": "2018-03-01",
        },
        "paths": paths,
        "x-amazon-apigateway-gateway-responses": rest_apis.gateway_responses(origin),
        "components": {
            "securitySchemes": {
                AUTHORIZER: {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                        "type": "cognito_user_pools",
                        "providerARNs": [pool_arn],
                    },
                }
            }
        },
    }


def route_rows(document: dict[str, Any]) -> list[dict[str, str]]:
    """The document as a table: one row per method, what guards it and where it goes."""
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]
            if integration["type"] == "mock":
                target = "API Gateway itself (MOCK): CORS headers"
            else:
                target = f"VPC link → {integration['uri']}"
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "who may call": "signed-in users" if operation.get("security") else "anyone",
                    "integration": target,
                }
            )
    return rows


# -- the API and its stage ----------------------------------------------------------------
def import_api(lab: Lab, document: dict[str, Any]) -> dict[str, Any]:
    """Import the learner's REST API from the document (overwrite it on a rerun)."""
    return rest_apis.import_api(lab, api_name(lab), document)


def deploy(lab: Lab, api_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """A new deployment to ``prod`` when the document changed."""
    return rest_apis.deploy(lab, api_id, document)


def record(lab: Lab, api_id: str, vpc_link_id: str) -> dict[str, Any]:
    url = rest_apis.stage_url(lab, api_id)
    recorded = lab.outputs.record(
        MODULE,
        {
            "api.id": api_id,
            "api.name": api_name(lab),
            "api.url": url,
            "api.vpc_link_id": vpc_link_id,
        },
    )
    website.publish_config(lab)  # the site now calls the API and signs users in
    return recorded


def build(lab: Lab) -> dict[str, Any]:
    from . import users

    recorded = users.build(lab)
    link = create_vpc_link(lab)
    document = openapi_document(lab, link["id"])
    api = import_api(lab, document)
    rest_apis.deploy(lab, api["id"], document)
    return recorded | record(lab, api["id"], link["id"])


def is_built(lab: Lab) -> bool:
    from . import users

    return users.is_built(lab) and rest_apis.is_deployed(lab, lab.outputs.get_or("api.id"))


# -- calling the API ----------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("message") or self.body.get("Update") or self.body)
        return str(self.body)


def call(
    lab: Lab, method: str, path: str, token: str | None = None, origin: str | None = None
) -> Answer:
    """One request to the deployed API, as the site sends it (the raw ID token, no "Bearer")."""
    headers = {}
    if token is not None:
        headers["Authorization"] = token
    if origin is not None:
        headers["Origin"] = origin
    response = requests.request(
        method, lab.outputs.get("api.url").rstrip("/") + path, headers=headers, timeout=30
    )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body, dict(response.headers))


def like(lab: Lab, mysfit_id: str, token: str | None) -> Answer:
    return call(lab, "POST", f"/mysfits/{mysfit_id}/like", token)


def adopt(lab: Lab, mysfit_id: str, token: str | None) -> Answer:
    return call(lab, "POST", f"/mysfits/{mysfit_id}/adopt", token)


def likes_of(lab: Lab, mysfit_id: str) -> int:
    answer = call(lab, "GET", f"/mysfits/{mysfit_id}")
    if answer.status != 200:
        raise LabError(f"GET /mysfits/{mysfit_id} answered {answer.status}: {answer.message}")
    return int(answer.body["likes"])


def first_mysfit(lab: Lab) -> dict[str, Any]:
    answer = call(lab, "GET", "/mysfits")
    if answer.status != 200:
        raise LabError(f"GET /mysfits answered {answer.status}: {answer.message}")
    return answer.body["mysfits"][0]


def try_it(lab: Lab, mysfit_id: str, id_token: str) -> list[dict[str, Any]]:
    """Like and adopt as the site does, and a like without a token; one row per request."""
    tries = [
        ("POST like, no token", like(lab, mysfit_id, None)),
        ("POST like, signed in", like(lab, mysfit_id, id_token)),
        ("POST adopt, signed in", adopt(lab, mysfit_id, id_token)),
    ]
    return [
        {"request": request, "status": answer.status, "answer": answer.message[:80]}
        for request, answer in tries
    ]


# -- checking ----------------------------------------------------------------------------
@dataclass
class ApiCheck:
    results: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return all(r["as expected"] for r in self.results)

    def rows(self) -> list[dict[str, Any]]:
        """Deterministic columns only: the check cell's output is compared on every run."""
        return [
            {k: r[k] for k in ("request", "status", "expected", "as expected")}
            for r in self.results
        ]

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: all {len(self.results)} requests answered as they should — reads are "
                "public, a like needs a valid ID token and counts once, forgeries are refused."
            )
        failed = [r["request"] for r in self.results if not r["as expected"]]
        return "NOT OK: " + "; ".join(failed)


def check(lab: Lab, id_token: str) -> ApiCheck:
    """What the site relies on, through the deployed stage."""
    results: list[dict[str, Any]] = []

    def expect(request: str, answer: Answer, status: int, extra: bool = True) -> None:
        results.append(
            {
                "request": request,
                "status": answer.status,
                "expected": status,
                "as expected": answer.status == status and extra,
                "answer": answer.message[:70],
            }
        )

    listing = call(lab, "GET", "/mysfits")
    count = len(listing.body.get("mysfits", [])) if isinstance(listing.body, dict) else 0
    expect("GET /mysfits (12 mysfits)", listing, 200, count == 12)
    mysfit = first_mysfit(lab)["mysfitId"]
    before = likes_of(lab, mysfit)
    origin = rest_apis.site_origin(lab)
    refused = call(lab, "POST", f"/mysfits/{mysfit}/like", origin=origin)
    readable = refused.headers.get("Access-Control-Allow-Origin") == origin  # by the site
    expect("POST like without a token", refused, 401, readable)
    expect("POST like with a forged token", like(lab, mysfit, _forged(id_token)), 401)
    unchanged = likes_of(lab, mysfit) == before
    liked = like(lab, mysfit, id_token)
    counted = likes_of(lab, mysfit) == before + 1
    expect("POST like signed in (counted once)", liked, 200, unchanged and counted)
    preflight = call(lab, "OPTIONS", f"/mysfits/{mysfit}/like", origin=origin)
    allowed = preflight.headers.get("Access-Control-Allow-Origin") == origin and (
        "Authorization" in preflight.headers.get("Access-Control-Allow-Headers", "")
    )
    expect("OPTIONS preflight from the site", preflight, 200, allowed)
    expect("GET an unknown path", call(lab, "GET", "/no-such-path"), 403)
    return ApiCheck(results)


def _forged(token: str) -> str:
    """The token with its payload edited (the signature no longer matches)."""
    import base64

    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "someone.else@example.com"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{edited}.{signature}"


# -- clean-up ---------------------------------------------------------------------------
def teardown(lab: Lab) -> list[str]:
    """The API (its stages and deployments go with it), then the VPC link."""
    gateway = lab.client("apigateway")
    removed = rest_apis.delete_api(lab, api_name(lab))
    link = _find_vpc_link(lab)
    if link is not None:
        with tolerate("NotFoundException"):
            gateway.delete_vpc_link(vpcLinkId=link["id"])
        removed.append(f"VPC link {link['name']} ({link['id']})")
    lab.outputs.forget("api.id", "api.name", "api.url", "api.vpc_link_id")
    if website.is_built(lab):  # the site goes back to the load balancer's URL
        website.publish_config(lab)
    return removed


def vpc_link_row(link: dict[str, Any]) -> dict[str, str]:
    return {
        "VPC link": link["id"],
        "name": link["name"],
        "status": link["status"],
        "targets": ", ".join(link["targetArns"]),
    }


def deployment_line(deployment: dict[str, Any]) -> str:
    if deployment["new"]:
        return f"New deployment {deployment['deployment']} on stage {deployment['stage']}."
    return f"Stage {deployment['stage']} already runs this document ({deployment['deployment']})."
