import pytest

from mysfits_lab.localcloud.services.s3_website.policy import policy_allows_anonymous_get
from mysfits_lab.steps.website import public_read_policy


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site/*",
}


def test_the_workbook_policy_grants_reads_of_its_bucket_only():
    policy = public_read_policy("site")
    assert policy_allows_anonymous_get(policy, "site", "index.html")
    assert not policy_allows_anonymous_get(policy, "other", "index.html")


@pytest.mark.parametrize(
    "statement, allowed",
    [
        (ALLOW, True),
        (ALLOW | {"Principal": {"AWS": "*"}}, True),
        (ALLOW | {"Principal": {"AWS": ["*"]}}, True),
        (ALLOW | {"Action": ["s3:*"]}, True),
        (ALLOW | {"Action": "s3:getobject"}, True),
        (ALLOW | {"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}, False),
        (ALLOW | {"Action": "s3:PutObject"}, False),
        (ALLOW | {"Resource": "arn:aws:s3:::site/private/*"}, False),
        (ALLOW | {"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, False),
    ],
)
def test_statement_shapes(statement, allowed):
    assert policy_allows_anonymous_get(_policy(statement), "site", "index.html") is allowed


def test_explicit_deny_wins():
    deny = ALLOW | {"Effect": "Deny", "Resource": "arn:aws:s3:::site/secret.html"}
    policy = _policy(ALLOW, deny)
    assert policy_allows_anonymous_get(policy, "site", "index.html")
    assert not policy_allows_anonymous_get(policy, "site", "secret.html")


def test_no_policy_means_no_access():
    assert not policy_allows_anonymous_get(None, "site", "index.html")
    assert not policy_allows_anonymous_get(_policy(), "site", "index.html")


@pytest.mark.parametrize(
    "resource, key, allowed",
    [
        ("*", "index.html", True),
        ("arn:aws:s3:::*", "a/b:c.html", True),
        ("arn:aws:s3*", "index.html", True),  # a * that ends a segment runs past the colons
        ("arn:*:s3:::site/*", "index.html", True),
        ("arn:aws:*3:::site/index.html", "index.html", True),
        ("arn:a*s3:::site/index.html", "index.html", False),  # a * inside a segment stays in it
        ("arn:aws:s3:::site/*.html", "dir/a:b.html", True),  # the resource part is one segment
        ("arn:aws:s3:::site/index.htm?", "index.html", True),
        ("arn:aws:s3:::site/[i]ndex.html", "index.html", False),  # no character classes
        ("arn:aws:s3:::site/Index.html", "index.html", False),
    ],
)
def test_resource_wildcards(resource, key, allowed):
    policy = _policy(ALLOW | {"Resource": resource})
    assert policy_allows_anonymous_get(policy, "site", key) is allowed


@pytest.mark.parametrize(
    "statement",
    [
        ALLOW | {"NotAction": "s3:PutObject"},  # both Action and NotAction
        {k: v for k, v in ALLOW.items() if k != "Principal"},  # neither Principal nor NotPrincipal
        ALLOW | {"Resource": ["arn:aws:s3:::site/*", 7]},
        "not an object",
    ],
)
def test_a_policy_s3_would_refuse_grants_nothing(statement):
    assert not policy_allows_anonymous_get(_policy(ALLOW, statement), "site", "index.html")
