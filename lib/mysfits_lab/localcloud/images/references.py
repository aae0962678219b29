"""Image references as the docker CLI reads them: ``[registry/]repository[:tag][@digest]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``[registry/]repository[:tag][@digest]``."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) when the registry is an ECR registry."""
        return ecr_registry(self.registry or "")

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


def parse_reference(text: str) -> Reference:
    """Parse like the docker CLI; a reference without tag or digest means ``:latest``."""
    text = text.strip()
    name, digest = text, None
    if "@" in text:
        name, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ValueError(f"invalid reference format: {text!r} (bad digest)")
    tag = None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise ValueError(f"invalid reference format: {text!r} (bad tag)")
    registry, repository = None, name
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    if not _REPOSITORY.match(repository):
        if repository.lower() != repository and _REPOSITORY.match(repository.lower()):
            raise ValueError(
                f"invalid reference format: repository name ({repository}) must be lowercase"
            )
        raise ValueError(f"invalid reference format: {text!r}")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, repository, tag, digest)


def registry_host(text: str) -> str:
    """``https://host/v2/`` or ``host`` → ``host`` (how ``docker login`` names registries)."""
    host = re.sub(r"^[a-z]+://", "", text.strip())
    return host.split("/", 1)[0].lower()


def ecr_registry(host: str) -> tuple[str, str] | None:
    """(account, region) when ``host`` is an ECR registry host."""
    match = _ECR_HOST.match(host)
    return (match["account"], match["region"]) if match else None
