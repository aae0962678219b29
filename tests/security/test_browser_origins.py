"""In Chromium: a page from another origin cannot drive the local cloud — not with fetch(),
not with a form, not with an image — while a page the cloud serves on its own website origin
signs up with Cognito unsigned, and still may not call anything else."""

from __future__ import annotations

import json
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests

from mysfits_lab.localcloud import control
from tests.helpers import edge_client, wait_for

pytestmark = pytest.mark.browser

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
ECS = "AmazonEC2ContainerServiceV20141113"


def scope(service: str) -> str:
    """A presigned-style credential in the query string: how a page could name a service
    without being able to send an Authorization header."""
    return "X-Amz-Credential=" + quote(f"k/20260101/us-east-1/{service}/aws4_request", safe="")


def stack_form(name: str) -> dict[str, str]:
    return {
        "Action": "CreateStack",
        "Version": "2010-05-15",
        "StackName": name,
        "TemplateBody": TEMPLATE,
    }


ATTACK = """<!doctype html><meta charset="utf-8"><title>not the cloud's</title>
<iframe name="sink"></iframe>
<form id="form" method="POST" target="sink" action="{edge}/?{cfn}">{fields}</form>
"""

# Run in the foreign page: every way a page can reach the edge, and what the page saw.
ATTEMPTS = """async ([edge, ecs, cfn, sns, form]) => {
  const seen = {};
  const json = (op) => ({method: "POST", body: JSON.stringify({clusterName: "planted"}),
    headers: {"X-Amz-Target": op, "Content-Type": "application/x-amz-json-1.1"}});
  for (const op of [ecs + ".CreateCluster", ecs + ".RunTask"]) {
    try { seen[op] = (await fetch(edge + "/", json(op))).status; }
    catch (e) { seen[op] = "blocked: " + e.name; }
  }
  try {  // a "simple" request: no preflight, the browser just sends it
    const r = await fetch(edge + "/?" + cfn, {method: "POST", mode: "no-cors", body: form,
      headers: {"Content-Type": "application/x-www-form-urlencoded"}});
    seen.simple = r.type;
  } catch (e) { seen.simple = "blocked: " + e.name; }
  seen.image = await new Promise((done) => {
    const img = new Image();
    img.onload = () => done("loaded"); img.onerror = () => done("error");
    img.src = edge + "/?Action=CreateTopic&Version=2010-03-31&Name=planted&" + sns;
  });
  await new Promise((done) => {
    document.querySelector("iframe").onload = done;
    document.getElementById("form").submit();
  });
  return seen;
}"""

SITE = """<!doctype html><meta charset="utf-8"><title>Mythical Mysfits</title><p>site</p>"""

# Run in the site's page: sign up (unsigned, as the site does), then try ECS.
SITE_CALLS = """async ([edge, ecs, clientId]) => {
  const call = async (op, body) => {
    const r = await fetch(edge + "/", {method: "POST", body: JSON.stringify(body),
      headers: {"X-Amz-Target": op, "Content-Type": "application/x-amz-json-1.1"}});
    return {status: r.status, body: await r.json()};
  };
  return {
    signUp: await call("AWSCognitoIdentityProviderService.SignUp",
      {ClientId: clientId, Username: "ada", Password: "Passw0rd!",
       UserAttributes: [{Name: "email", Value: "ada@example.com"}]}),
    listClusters: await call(ecs + ".ListClusters", {}),
  };
}"""


@pytest.fixture(scope="module")
def edge(cloud) -> str:
    return control.status().edge_url


def names(edge: str) -> dict[str, set[str]]:
    """What exists on the cloud that a page might have created."""
    clusters = edge_client(edge, "ecs").list_clusters()["clusterArns"]
    stacks = edge_client(edge, "cloudformation").describe_stacks()["Stacks"]
    topics = edge_client(edge, "sns").list_topics()["Topics"]
    return {
        "clusters": {arn.rsplit("/", 1)[-1] for arn in clusters},
        "stacks": {s["StackName"] for s in stacks},
        "topics": {t["TopicArn"].rsplit(":", 1)[-1] for t in topics},
    }


def test_a_foreign_page_cannot_drive_the_cloud(edge, page, serve, tmp_path: Path):
    fields = "".join(
        f'<input type="hidden" name="{k}" value="{v.replace(chr(34), "&quot;")}">'
        for k, v in stack_form("planted").items()
    )
    (tmp_path / "attack.html").write_text(
        ATTACK.format(edge=edge, cfn=scope("cloudformation"), fields=fields)
    )
    attacker = serve(SimpleHTTPRequestHandler, directory=str(tmp_path))
    page.goto(f"{attacker.url}/attack.html")
    seen = page.evaluate(
        ATTEMPTS,
        [edge, ECS, scope("cloudformation"), scope("sns"), urlencode(stack_form("planted"))],
    )
    assert seen[f"{ECS}.CreateCluster"] == "blocked: TypeError", seen  # the preflight failed
    assert seen[f"{ECS}.RunTask"] == "blocked: TypeError", seen
    assert seen["image"] == "error", seen
    created = names(edge)
    assert "planted" not in created["clusters"] | created["stacks"] | created["topics"]
    # The very same requests from a program (no Origin, no Fetch Metadata) do create things:
    # what stopped the page was its origin.
    sent = requests.post(
        f"{edge}/?{scope('cloudformation')}", data=stack_form("control"), timeout=10
    )
    assert sent.status_code == 200, sent.text
    assert "control" in names(edge)["stacks"]


def _website(edge: str, bucket: str) -> str:
    s3 = edge_client(edge, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=SITE.encode(), ContentType="text/html")
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.delete_public_access_block(Bucket=bucket)  # a new bucket blocks public policies
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return control.control_get(f"websites/{bucket}")["url"]


def test_the_cloud_own_site_signs_up_unsigned_but_calls_nothing_else(edge, page):
    idp = edge_client(edge, "cognito-idp")
    pool = idp.create_user_pool(PoolName="mysfits")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool, ClientName="site")["UserPoolClient"][
        "ClientId"
    ]
    site = _website(edge, "mysfits-site")
    wait_for(lambda: requests.get(site, timeout=5).status_code == 200, "the website to serve")
    grants: dict[str, Any] = {}
    page.on(
        "response",
        lambda r: grants.setdefault(
            r.request.method + " " + r.request.headers.get("x-amz-target", ""),
            r.headers.get("access-control-allow-origin"),
        ),
    )
    page.goto(site)
    seen = page.evaluate(SITE_CALLS, [edge, ECS, client_id])
    assert seen["signUp"]["status"] == 200 and "UserSub" in seen["signUp"]["body"], seen
    assert grants["POST AWSCognitoIdentityProviderService.SignUp"] == site.rstrip("/")
    assert seen["listClusters"]["status"] == 403, seen
    assert seen["listClusters"]["body"]["__type"] == "AccessDeniedException"
    assert "clusterArns" not in seen["listClusters"]["body"]
    users = idp.list_users(UserPoolId=pool)["Users"]
    assert [u["Username"] for u in users] == ["ada"]
