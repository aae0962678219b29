"""Bucket policies as S3 enforces them on a website endpoint, through the real website port.

Each case is one policy and the status a visitor gets for one path: what AWS serves must be
served, and what AWS blocks must be blocked (200 vs 403).

Not covered: a Deny whose Action or NotAction differs from ``s3:GetObject`` only in case, so
that it does not apply. moto enforces a bucket's Deny statements on object reads itself, with
case-sensitive actions, and refuses the endpoint's own read of the object (a 403 where AWS
serves the page).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mysfits_lab.localcloud.cloud import LocalCloud
from tests.helpers import edge_client

BUCKET = "policy-site"
OBJECTS = (
    "index.html",
    "public/a.txt",
    "public/ab.txt",
    "PUBLIC/hidden.txt",
    "private.txt",
    "a:b.txt",
)
EVERYTHING = f"arn:aws:s3:::{BUCKET}/*"
PUBLIC = f"arn:aws:s3:::{BUCKET}/public/*"
ACCOUNT_ROOT = {"AWS": "arn:aws:iam::123456789012:root"}


def _allow(**fields: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": EVERYTHING,
    } | fields


def _deny(**fields: Any) -> dict[str, Any]:
    return _allow(Effect="Deny") | fields


def _without(statement: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in names}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    cloud = LocalCloud(0, tmp_path_factory.mktemp("policy-cloud"), providers=["websites"])
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    s3 = edge_client(cloud.edge_url, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.delete_public_access_block(Bucket=BUCKET)  # a new bucket blocks public policies
    for key in OBJECTS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode(), ContentType="text/plain")
    s3.put_bucket_website(
        Bucket=BUCKET, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    url = requests.get(f"{cloud.edge_url}/_localcloud/websites/{BUCKET}", timeout=5).json()["url"]
    yield s3, url
    cloud.shutdown()
    server.join(timeout=10)


CASES = [
    # -- Resource: case-sensitive ARNs, * and ? wildcards
    ("allow-public", [_allow(Resource=PUBLIC)], "public/a.txt", 200),
    ("resource-case-sensitive", [_allow(Resource=PUBLIC)], "PUBLIC/hidden.txt", 403),
    (
        "bucket-case-sensitive",
        [_allow(Resource=f"arn:aws:s3:::{BUCKET.upper()}/*")],
        "index.html",
        403,
    ),
    ("resource-question-mark", [_allow(Resource=f"{PUBLIC[:-1]}?.txt")], "public/a.txt", 200),
    (
        "resource-question-mark-one-char",
        [_allow(Resource=f"{PUBLIC[:-1]}?.txt")],
        "public/ab.txt",
        403,
    ),
    (
        "resource-dot-is-literal",
        [_allow(Resource=f"arn:aws:s3:::{BUCKET}/index.htm.")],
        "index.html",
        403,
    ),
    ("other-bucket", [_allow(Resource="arn:aws:s3:::another-bucket/*")], "index.html", 403),
    # -- NotResource
    ("allow-not-resource", [_without(_allow(NotResource=PUBLIC), "Resource")], "private.txt", 200),
    (
        "allow-not-resource-excluded",
        [_without(_allow(NotResource=PUBLIC), "Resource")],
        "public/a.txt",
        403,
    ),
    (
        "deny-not-resource",
        [_allow(), _without(_deny(NotResource=PUBLIC), "Resource")],
        "private.txt",
        403,
    ),
    (
        "deny-not-resource-spared",
        [_allow(), _without(_deny(NotResource=PUBLIC), "Resource")],
        "public/a.txt",
        200,
    ),
    # -- Action / NotAction: case-insensitive, wildcards
    ("action-case-insensitive", [_allow(Action="S3:GETOBJECT")], "index.html", 200),
    ("deny-action-case-insensitive", [_allow(), _deny(Action="S3:GETOBJECT")], "index.html", 403),
    ("action-wildcard", [_allow(Action=["s3:Get*"])], "index.html", 200),
    ("action-other", [_allow(Action="s3:PutObject")], "index.html", 403),
    ("allow-not-action", [_without(_allow(NotAction="s3:PutObject"), "Action")], "index.html", 200),
    (
        "allow-not-action-excluded",
        [_without(_allow(NotAction="s3:Get*"), "Action")],
        "index.html",
        403,
    ),
    (
        "deny-not-action",
        [_allow(), _without(_deny(NotAction="s3:PutObject"), "Action")],
        "index.html",
        403,
    ),
    (
        "deny-not-action-spared",
        [_allow(), _without(_deny(NotAction="s3:Get*"), "Action")],
        "index.html",
        200,
    ),
    # -- Principal / NotPrincipal: an anonymous visitor is only ever "*"
    ("principal-aws-star", [_allow(Principal={"AWS": ["*"]})], "index.html", 200),
    ("principal-account", [_allow(Principal=ACCOUNT_ROOT)], "index.html", 403),
    (
        "principal-service",
        [_allow(Principal={"Service": "cloudfront.amazonaws.com"})],
        "index.html",
        403,
    ),
    (
        "allow-not-principal",
        [_without(_allow(NotPrincipal=ACCOUNT_ROOT), "Principal")],
        "index.html",
        200,
    ),
    (
        "deny-not-principal",
        [_allow(), _without(_deny(NotPrincipal=ACCOUNT_ROOT), "Principal")],
        "index.html",
        403,
    ),
    # -- explicit deny wins, whatever the order
    (
        "deny-one-key",
        [_allow(), _deny(Resource=f"arn:aws:s3:::{BUCKET}/private.txt")],
        "private.txt",
        403,
    ),
    (
        "deny-other-key",
        [_allow(), _deny(Resource=f"arn:aws:s3:::{BUCKET}/private.txt")],
        "index.html",
        200,
    ),
    ("deny-first", [_deny(), _allow()], "index.html", 403),
    ("key-with-colon", [_allow(Resource=f"arn:aws:s3:::{BUCKET}/*")], "a:b.txt", 200),
    # -- conditions: an Allow with one never grants, a Deny with one always applies
    (
        "allow-condition",
        [_allow(Condition={"Bool": {"aws:SecureTransport": "false"}})],
        "index.html",
        403,
    ),
    (
        "deny-condition",
        [_allow(), _deny(Condition={"Bool": {"aws:SecureTransport": "false"}})],
        "index.html",
        403,
    ),
    # -- shapes S3 accepts
    ("single-statement-object", _allow(), "index.html", 200),
    ("effect-unknown", [_allow(Effect="Maybe")], "index.html", 403),
    ("no-statement", [], "index.html", 403),
]


@pytest.mark.parametrize(
    ("statements", "path", "status"),
    [pytest.param(statements, path, status, id=case) for case, statements, path, status in CASES],
)
def test_policy_decides_what_the_website_serves(site, statements, path, status):
    s3, url = site
    policy = {"Version": "2012-10-17", "Statement": statements}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    answer = requests.get(f"{url}/{path}", timeout=5)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.text == path
    else:
        assert "AccessDenied" in answer.text
