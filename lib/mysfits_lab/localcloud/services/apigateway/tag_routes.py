"""Tags of REST APIs, stages and VPC links (TagResource, UntagResource, GetTags) and the VPC
link operations that carry them, with AWS's limits (``tags.py``). moto tags only stages: their
tags stay moto's (and GetStage's); those of REST APIs and VPC links are kept here and put into
GetRestApi(s) (by the provider) and GetVpcLink(s) answers. CreateRestApi, CreateStage and
CreateVpcLink check the tags they are given (``check_tags``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from ...edge import Call, ServiceError
from . import tags as tagging
from .importer import Moto


def check_tags(given: dict[str, str]) -> None:
    """BadRequestException when tags given on creation break AWS's limits."""
    try:
        tagging.merged({}, given)
    except tagging.TagProblem as exc:
        raise ServiceError("BadRequestException", str(exc)) from None


def put_tags(answer: dict[str, Any], current: dict[str, str]) -> None:
    """``tags`` as API Gateway answers them: left out when there are none."""
    if current:
        answer["tags"] = current
    else:
        answer.pop("tags", None)


class TagRoutes:
    def __init__(self, moto: Callable[[str], Moto]):
        self._moto = moto  # region -> moto's apigateway operations
        self.tags = tagging.TagStore()  # of REST APIs and VPC links: moto tags stages only

    def handlers(self) -> dict[str, Callable[[Call], Any]]:
        return {
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
            "GetTags": self._get_tags,
            "CreateVpcLink": self._create_vpc_link,
            "GetVpcLink": self._vpc_links_with_tags,
            "GetVpcLinks": self._vpc_links_with_tags,
            "DeleteVpcLink": self._delete_vpc_link,
        }

    def _tagged(self, call: Call) -> tuple[tagging.TaggedArn, dict[str, str]]:
        """The resource the call's ARN names, and its tags as moto has them; NotFoundException
        when there is none in this region."""
        try:
            target = tagging.parse_arn(call.params["resourceArn"])
        except tagging.TagProblem as exc:
            raise ServiceError("BadRequestException", str(exc)) from None
        except tagging.UnknownResource as exc:
            raise ServiceError("NotFoundException", str(exc), 404) from None
        missing = ServiceError("NotFoundException", "Invalid resource identifier specified", 404)
        if target.region != call.region:
            raise missing
        moto = self._moto(call.region)
        try:
            if target.kind == "restapi":
                found = moto("GetRestApi", restApiId=target.api_id)
            elif target.kind == "stage":
                found = moto("GetStage", restApiId=target.api_id, stageName=target.stage)
            else:
                found = moto("GetVpcLink", vpcLinkId=target.link_id)
        except ServiceError as exc:
            if exc.code == "NotFoundException":
                raise missing from None
            raise
        return target, found.get("tags") or {}

    def _tag_resource(self, call: Call) -> dict[str, Any]:
        target, current = self._tagged(call)
        added = call.params.get("tags") or {}
        try:
            if target.kind == "stage":
                tagging.merged(current, added)  # refused before moto records anything
                call.moto()
            else:
                self.tags.tag(target.arn, added, seed=current)
        except tagging.TagProblem as exc:
            raise ServiceError("BadRequestException", str(exc)) from None
        return {}

    def _untag_resource(self, call: Call) -> dict[str, Any]:
        target, current = self._tagged(call)
        if target.kind == "stage":
            call.moto()
        else:
            self.tags.untag(target.arn, call.params.get("tagKeys") or [], seed=current)
        return {}

    def _get_tags(self, call: Call) -> dict[str, Any]:
        target, current = self._tagged(call)
        if target.kind == "stage":
            return {"tags": call.moto().get("tags") or {}}
        return {"tags": self.tags.tags(target.arn, seed=current)}

    def _create_vpc_link(self, call: Call) -> dict[str, Any]:
        given = call.params.get("tags") or {}
        check_tags(given)
        link = call.moto()
        self.tags.put(tagging.vpclink_arn(call.region, link["id"]), given)
        put_tags(link, given)
        return link

    def _link_tags(self, link: dict[str, Any], region: str) -> None:
        if "id" in link:
            arn = tagging.vpclink_arn(region, link["id"])
            put_tags(link, self.tags.tags(arn, seed=link.get("tags")))

    def _vpc_links_with_tags(self, call: Call) -> dict[str, Any] | Response:
        if call.operation == "GetVpcLink":
            link = call.moto()
            self._link_tags(link, call.region)
            return link
        raw = call.forward()  # GetVpcLinks: amended on the wire, where its list is "item"
        if raw.status_code < 300:
            data = json.loads(raw.get_data())
            for link in data.get("item", []):
                self._link_tags(link, call.region)
            raw.set_data(json.dumps(data))
        return raw

    def _delete_vpc_link(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self.tags.forget(tagging.vpclink_arn(call.region, call.params["vpcLinkId"]))
        return answer
