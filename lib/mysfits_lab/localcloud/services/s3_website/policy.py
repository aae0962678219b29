"""Whether a bucket policy lets an anonymous visitor read an object: the one question a website
endpoint asks, since moto stores bucket policies without enforcing them.

Evaluated as IAM evaluates a resource policy for one request (anonymous ``s3:GetObject`` of
``arn:aws:s3:::<bucket>/<key>``): a statement applies when its ``Principal`` names everyone (or
its ``NotPrincipal`` does not), its ``Action`` matches (or ``NotAction`` does not) and its
``Resource`` matches (or ``NotResource`` does not). An applicable ``Deny`` wins over any
``Allow``. Actions match case-insensitively, ARNs case-sensitively, with ``*`` and ``?``.

Conditions are not evaluated (the endpoint does not know most of their context keys), so we err
towards 403: an ``Allow`` with a ``Condition`` never grants, and a ``Deny`` with a ``Condition``
always applies. The usual conditional Deny on a website bucket is ``aws:SecureTransport: false``,
which holds for every request to an (HTTP-only) website endpoint anyway.

Policy variables (``${aws:username}``...) are matched literally: for an anonymous visitor the
ones a Resource could use are unset, and IAM then matches nothing either.

moto's own evaluator (``moto.iam.access_control.IAMPolicyStatement``) does not fit: it ignores
``NotResource`` and ``NotPrincipal``, matches actions case-sensitively, treats ``?`` and ``.``
as regular-expression syntax, and answers DENIED for an Allow whose condition fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

ACTION = "s3:GetObject"


class MalformedPolicy(ValueError):
    """A statement S3 would have refused at PutBucketPolicy (such a policy grants nothing)."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=512)
def _compile(pattern: str, arn: bool) -> re.Pattern[str]:
    """``*``/``?`` wildcards. In the first five ARN segments a wildcard stays within its segment,
    except a ``*`` that ends one (IAM lets it run past the colons); the resource part after the
    fifth colon is one segment, colons included."""
    out, colons = [], 0
    for index, char in enumerate(pattern):
        in_prefix = arn and colons < 5
        if char == "*":
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            out.append("[^:]*" if in_prefix and not ends_segment else ".*")
        elif char == "?":
            out.append("[^:]" if in_prefix else ".")
        else:
            colons += char == ":"
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL if arn else re.DOTALL | re.IGNORECASE)


def _any_matches(patterns: Any, value: str, arn: bool) -> bool:
    patterns = _as_list(patterns)
    if not patterns or not all(isinstance(pattern, str) for pattern in patterns):
        raise MalformedPolicy(f"{patterns!r} is not a string or a list of strings")
    return any(_compile(pattern, arn).fullmatch(value) for pattern in patterns)


def _is_everyone(principal: Any) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (also in a list): the only principals an anonymous visitor is."""
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", []))


def _covers(statement: dict[str, Any], name: str, matches: Callable[[Any], bool]) -> bool:
    """Whether the element ``name`` (or ``Not<name>``) of a statement covers this request."""
    negated = f"Not{name}"
    if (name in statement) == (negated in statement):
        raise MalformedPolicy(f"a statement needs exactly one of {name} and {negated}")
    if name in statement:
        return matches(statement[name])
    return not matches(statement[negated])


def _applies(statement: Any, resource: str) -> bool:
    if not isinstance(statement, dict):
        raise MalformedPolicy("a statement must be an object")
    return (
        _covers(statement, "Principal", _is_everyone)
        and _covers(statement, "Action", lambda patterns: _any_matches(patterns, ACTION, False))
        and _covers(statement, "Resource", lambda patterns: _any_matches(patterns, resource, True))
    )


def policy_allows_anonymous_get(policy: Any, bucket: str, key: str) -> bool:
    """Whether ``policy`` (the parsed JSON document) lets anyone read ``key`` of ``bucket``."""
    if not isinstance(policy, dict):
        return False
    resource = f"arn:aws:s3:::{bucket}/{key}"
    allowed = False
    try:
        for statement in _as_list(policy.get("Statement", [])):
            if not _applies(statement, resource):
                continue
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow" and "Condition" not in statement:
                allowed = True
    except MalformedPolicy:
        return False
    return allowed


# -- Block Public Access: is a bucket policy "public"? --------------------------------------
# S3 calls a policy public unless each Allow names fixed principals or is pinned by a condition
# on one of these keys to fixed values ("The meaning of 'public'" in the S3 User Guide).
_FIXING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:userid",
        "aws:sourceip",
    }
)
# Operators that pin a key to the listed values (negations and ...IfExists do not: they let a
# request without the key through).
_FIXING_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)
_OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def _wild(value: Any) -> bool:
    return not isinstance(value, str) or "*" in value or "?" in value


def _fixed_principal(principal: Any) -> bool:
    """Principal names only fixed accounts, users, roles or services (no ``*`` anywhere)."""
    if isinstance(principal, str):
        return not _wild(principal)
    if not isinstance(principal, dict) or not principal:
        return False
    return all(not _wild(value) for values in principal.values() for value in _as_list(values))


def _fixing_condition(condition: Any) -> bool:
    """A condition that pins the statement to fixed values of a key S3 accepts as limiting."""
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        name = str(operator).lower().removeprefix("foranyvalue:")
        if name not in _FIXING_OPERATORS or not isinstance(tests, dict):
            continue
        for key, values in tests.items():
            values = _as_list(values)
            if str(key).lower() not in _FIXING_KEYS or not values:
                continue
            if name == "ipaddress":
                if all(isinstance(v, str) and v not in _OPEN_CIDRS for v in values):
                    return True
            elif not any(_wild(value) for value in values):
                return True
    return False


def policy_is_public(policy: Any) -> bool:
    """Whether S3's Block Public Access (``BlockPublicPolicy``) counts ``policy`` (the parsed
    JSON document) as public: some Allow grants to everyone, or to a wildcard principal, or
    through ``NotPrincipal``, without a condition that pins it to fixed values. A document
    that is not a policy at all is left for PutBucketPolicy's own checks (not public here)."""
    if not isinstance(policy, dict):
        return False
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue  # a Deny grants nothing
        if "NotPrincipal" in statement:
            opened = True  # everyone but the named principals
        elif "Principal" in statement:
            opened = not _fixed_principal(statement["Principal"])
        else:
            continue  # malformed for a bucket policy: PutBucketPolicy's own checks say so
        if opened and not _fixing_condition(statement.get("Condition")):
            return True
    return False
