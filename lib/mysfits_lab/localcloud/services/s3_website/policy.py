"""Whether a bucket policy lets an anonymous visitor read an object: the one question a website
endpoint asks, since moto stores bucket policies without enforcing them."""

from __future__ import annotations

import fnmatch
from typing import Any

# Statements with these keys are not evaluated and never grant access: the site would rather
# answer 403 than be public by mistake.
_UNEVALUATED = ("NotPrincipal", "NotAction", "NotResource")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def principal_is_anonymous(principal: Any) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (also in a list): everyone, signed or not."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in _as_list(principal.get("AWS", []))
    return False


def matches_any(patterns: Any, value: str) -> bool:
    """IAM wildcard matching (``*`` and ``?``), case-insensitive as actions and ARNs are here."""
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _as_list(patterns))


def policy_allows_anonymous_get(policy: dict[str, Any] | None, bucket: str, key: str) -> bool:
    """Whether ``policy`` lets anyone read ``key`` of ``bucket`` (an explicit Deny wins; an
    Allow with a Condition does not count)."""
    if not policy:
        return False
    resource = f"arn:aws:s3:::{bucket}/{key}"
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        if any(k in statement for k in _UNEVALUATED):
            continue
        applies = (
            principal_is_anonymous(statement.get("Principal"))
            and matches_any(statement.get("Action", []), "s3:GetObject")
            and matches_any(statement.get("Resource", []), resource)
        )
        if not applies:
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow" and "Condition" not in statement:
            allowed = True
    return allowed
