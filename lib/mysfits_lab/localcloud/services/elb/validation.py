"""What CreateTargetGroup and ModifyTargetGroup refuse in health check settings beyond what the
API model says, as the Elastic Load Balancing API reference documents it: the path starts with
``/``, a matcher is codes and ranges within what the load balancer type allows (moto lets
``"200-"`` or ``"2xx"`` through). The model's own ranges (interval 5-300 s, timeout 2-120 s,
thresholds 2-10, path length) are checked by the edge for every service."""

from __future__ import annotations

import re
from typing import Any

GRPC_CODES = (0, 99)

# "200", "200,202", "200-299", and lists of both; blanks around the separators are tolerated.
_CODES = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")


def code_ranges(text: str) -> list[tuple[int, int]]:
    """A matcher's codes as inclusive ranges; ValueError when it is not a list of codes and
    ranges, or a range runs backwards."""
    if not _CODES.match(text):
        raise ValueError(f"not a list of codes and ranges: {text!r}")
    ranges = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if first > last:
            raise ValueError(f"a range runs backwards: {part.strip()!r}")
        ranges.append((first, last))
    return ranges


def http_code_range(protocol: str | None) -> tuple[int, int]:
    """The HTTP codes a matcher may name, by the target group's protocol: an ALB's (HTTP/HTTPS,
    and lambda groups, which have none), a GWLB's (GENEVE) or an NLB's."""
    if protocol in (None, "HTTP", "HTTPS"):
        return (200, 499)
    if protocol == "GENEVE":
        return (200, 399)
    return (200, 599)


class InvalidHealthCheck(ValueError):
    """Settings AWS refuses with ``ValidationError``; the message is AWS's."""


def check_health_check(params: dict[str, Any], protocol: str | None) -> None:
    """Raise InvalidHealthCheck for health check settings AWS refuses; ``protocol`` is the
    target group's."""
    path = params.get("HealthCheckPath")
    if path is not None and not path.startswith("/"):
        raise _invalid(f"Health check path '{path}' must begin with '/'")
    matcher = params.get("Matcher") or {}
    if "HttpCode" in matcher:
        _check_codes("HTTP code", matcher["HttpCode"], http_code_range(protocol))
    if "GrpcCode" in matcher:
        _check_codes("gRPC code", matcher["GrpcCode"], GRPC_CODES)


def _check_codes(kind: str, text: str, allowed: tuple[int, int]) -> None:
    if not text.strip():
        raise _invalid(f"Health check matcher {kind} cannot be empty")
    low, high = allowed
    try:
        ranges = code_ranges(text)
    except ValueError:
        raise _invalid(
            f"Health check matcher {kind} '{text}' must be a code, a list of codes "
            f"('{low},{low + 2}') or a range ('{low}-{low + 99}')"
        ) from None
    if any(first < low or last > high for first, last in ranges):
        raise _invalid(f"Health check matcher {kind} '{text}' must be within '{low}-{high}'")


def _invalid(message: str) -> InvalidHealthCheck:
    return InvalidHealthCheck(message)
