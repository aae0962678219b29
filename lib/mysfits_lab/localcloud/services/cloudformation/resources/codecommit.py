"""CodeCommit repositories through the CodeCommit API."""

from __future__ import annotations

from typing import Any

from ..errors import ResourceFailed
from ..models import StackResource
from .base import (
    Handler,
    ResourceRequest,
    Result,
    ignore_missing,
)


class Repository(Handler):
    resource_type = "AWS::CodeCommit::Repository"
    service = "CodeCommit"
    attributes = ("Arn", "CloneUrlHttp", "CloneUrlSsh", "Name")
    name_property = "RepositoryName"

    def create(self, req: ResourceRequest) -> Result:
        req.require("RepositoryName")
        p = req.properties
        if p.get("Code") or p.get("Triggers"):
            raise ResourceFailed(
                "the local cloud does not apply Code or Triggers of AWS::CodeCommit::Repository"
            )
        params: dict[str, Any] = {"repositoryName": p["RepositoryName"]}
        if p.get("RepositoryDescription"):
            params["repositoryDescription"] = p["RepositoryDescription"]
        tags = req.tag_map(p.get("Tags"))
        if tags:
            params["tags"] = tags
        meta = req.client("codecommit").create_repository(**params)["repositoryMetadata"]
        return Result(
            meta["repositoryId"],
            {
                "Arn": meta["Arn"],
                "CloneUrlHttp": meta.get("cloneUrlHttp", ""),
                "CloneUrlSsh": meta.get("cloneUrlSsh", ""),
                "Name": meta["repositoryName"],
            },
        )

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        name = current.properties.get("RepositoryName")
        ignore_missing(lambda: req.client("codecommit").delete_repository(repositoryName=name))


HANDLERS: list[Handler] = [Repository()]
