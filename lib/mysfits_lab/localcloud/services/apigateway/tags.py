"""Tags of API Gateway resources: which ARNs name a taggable resource, the limits AWS puts on
tags, and the tags of the resources moto cannot tag (REST APIs, VPC links). No I/O here.

An API Gateway ARN has no account: ``arn:aws:apigateway:<region>::/restapis/<id>``,
``.../restapis/<id>/stages/<stage>``, ``.../vpclinks/<id>``. AWS's limits: at most 50 tags per
resource, keys of 1 to 128 characters, values of at most 256, letters, digits, spaces and
``+ - = . _ : / @`` only, and no key starting with ``aws:`` in any case.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
RESERVED_PREFIX = "aws:"
RESERVED_MESSAGE = "Invalid tag key. Tag keys cannot start with 'aws:' (case insensitive)"

_ARN = re.compile(r"^arn:aws[\w-]*:apigateway:(?P<region>[a-z0-9-]+)::(?P<path>/.*)$")
# The paths of taggable resources: (kind, pattern).
_PATHS = (
    ("stage", re.compile(r"^/restapis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)$")),
    ("restapi", re.compile(r"^/restapis/(?P<api>[^/]+)$")),
    ("vpclink", re.compile(r"^/vpclinks/(?P<link>[^/]+)$")),
)
# Taggable on AWS, but not here: named in the error rather than called unknown.
_NOT_HERE = re.compile(r"^/(apikeys|usageplans|domainnames|clientcertificates)/[^/]+$")
_ALLOWED = re.compile(r"^[\w +\-=.:/@]*$")


class TagProblem(ValueError):
    """Tags AWS refuses (BadRequestException)."""


class UnknownResource(LookupError):
    """An ARN that names no resource that can be tagged here (NotFoundException)."""


@dataclass(frozen=True)
class TaggedArn:
    """A taggable resource, as its ARN names it."""

    arn: str
    region: str
    kind: str  # "restapi", "stage" or "vpclink"
    api_id: str = ""
    stage: str = ""
    link_id: str = ""


def parse_arn(arn: str) -> TaggedArn:
    """The resource an ARN names; ``TagProblem`` when it is not an API Gateway ARN at all,
    ``UnknownResource`` when it is one of no taggable resource."""
    found = _ARN.match(arn)
    if found is None:
        raise TagProblem(f"Invalid ARN specified in the request: {arn}")
    region, path = found["region"], found["path"]
    for kind, pattern in _PATHS:
        matched = pattern.match(path)
        if matched:
            parts = matched.groupdict()
            return TaggedArn(
                arn,
                region,
                kind,
                api_id=parts.get("api", ""),
                stage=parts.get("stage", ""),
                link_id=parts.get("link", ""),
            )
    if _NOT_HERE.match(path):
        raise TagProblem(f"{arn}: the local cloud tags REST APIs, their stages and VPC links only")
    raise UnknownResource("Invalid resource identifier specified")


def restapi_arn(region: str, api_id: str) -> str:
    return f"arn:aws:apigateway:{region}::/restapis/{api_id}"


def stage_arn(region: str, api_id: str, stage: str) -> str:
    return f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage}"


def vpclink_arn(region: str, link_id: str) -> str:
    return f"arn:aws:apigateway:{region}::/vpclinks/{link_id}"


def check(tags: Mapping[str, str]) -> None:
    """Each tag as AWS accepts it (not their number: see ``merged``)."""
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
            raise TagProblem(f"Invalid tag key: a key has 1 to {MAX_KEY} characters ({key!r})")
        if key.lower().startswith(RESERVED_PREFIX):
            raise TagProblem(RESERVED_MESSAGE)
        if not _ALLOWED.match(key):
            raise TagProblem(f"Invalid tag key {key!r}: letters, digits, spaces and +-=._:/@ only")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise TagProblem(f"Invalid tag value for {key!r}: at most {MAX_VALUE} characters")
        if not _ALLOWED.match(value):
            raise TagProblem(
                f"Invalid tag value for {key!r}: letters, digits, spaces and +-=._:/@ only"
            )


def merged(current: Mapping[str, str], added: Mapping[str, str]) -> dict[str, str]:
    """``current`` with ``added`` (checked) put over it; at most ``MAX_TAGS`` in all."""
    check(added)
    result = {**current, **added}
    if len(result) > MAX_TAGS:
        raise TagProblem(
            f"Too many tags: a resource has at most {MAX_TAGS} tags ({len(result)} requested)"
        )
    return result


class TagStore:
    """The tags of REST APIs and VPC links by ARN. A resource the store has not seen yet (made
    by a stack, straight in moto) starts with the tags moto gave it: ``tags(arn, seed)``."""

    def __init__(self) -> None:
        self._tags: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def tags(self, arn: str, seed: Mapping[str, str] | None = None) -> dict[str, str]:
        with self._lock:
            if arn not in self._tags:
                return dict(seed or {})
            return dict(self._tags[arn])

    def put(self, arn: str, tags: Mapping[str, str]) -> None:
        """A resource's tags as they are now (a new resource's, checked by the caller)."""
        with self._lock:
            self._tags[arn] = dict(tags)

    def tag(self, arn: str, added: Mapping[str, str], seed: Mapping[str, str] | None) -> None:
        with self._lock:
            current = self._tags.get(arn, dict(seed or {}))
            self._tags[arn] = merged(current, added)

    def untag(self, arn: str, keys: Iterable[str], seed: Mapping[str, str] | None) -> None:
        with self._lock:
            current = dict(self._tags.get(arn, dict(seed or {})))
            for key in keys:
                current.pop(key, None)
            self._tags[arn] = current

    def forget(self, arn: str) -> None:
        """A deleted resource's tags, and those of what is under it (an API's stages)."""
        with self._lock:
            for key in [k for k in self._tags if k == arn or k.startswith(arn + "/")]:
                del self._tags[key]
