"""Cognito user pools and app clients through the Cognito API (the Cognito provider signs each
pool's tokens with its own key)."""

from __future__ import annotations

from typing import Any

from ..errors import NeedsReplacement
from ..models import StackResource
from .base import (
    Handler,
    ResourceRequest,
    Result,
    api_params,
    changed,
    ignore_missing,
)


class UserPool(Handler):
    resource_type = "AWS::Cognito::UserPool"
    service = "CognitoIdentityProvider"
    attributes = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    name_property = "UserPoolName"
    _REPLACING = ("UserPoolName", "Schema", "UsernameAttributes", "AliasAttributes")

    def create(self, req: ResourceRequest) -> Result:
        p = dict(req.properties)
        name = p.pop("UserPoolName", None) or req.physical_name(128)
        tags = req.tag_map(p.pop("UserPoolTags", None))
        params: dict[str, Any] = {"PoolName": name, **p}
        if tags:
            params["UserPoolTags"] = tags
        pool = req.client("cognito-idp").create_user_pool(
            **api_params("cognito-idp", "CreateUserPool", params)
        )["UserPool"]
        pool_id = pool["Id"]
        provider = f"cognito-idp.{req.region}.amazonaws.com/{pool_id}"
        return Result(
            pool_id,
            {
                "Arn": pool["Arn"],
                "UserPoolId": pool_id,
                "ProviderName": provider,
                "ProviderURL": f"https://{provider}",
            },
        )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        if changed(current.properties, req.properties, self._REPLACING):
            raise NeedsReplacement()
        p = {k: v for k, v in req.properties.items() if k not in self._REPLACING}
        tags = req.tag_map(p.pop("UserPoolTags", None))
        params: dict[str, Any] = {"UserPoolId": current.physical_id, **p}
        if tags:
            params["UserPoolTags"] = tags
        req.client("cognito-idp").update_user_pool(
            **api_params("cognito-idp", "UpdateUserPool", params)
        )
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        pool = current.physical_id
        ignore_missing(lambda: req.client("cognito-idp").delete_user_pool(UserPoolId=pool))


class UserPoolClient(Handler):
    resource_type = "AWS::Cognito::UserPoolClient"
    service = "CognitoIdentityProvider"
    attributes = ("ClientId", "ClientSecret", "Name")

    def create(self, req: ResourceRequest) -> Result:
        req.require("UserPoolId")
        p = dict(req.properties)
        p["ClientName"] = p.get("ClientName") or req.physical_name(128)
        client = req.client("cognito-idp").create_user_pool_client(
            **api_params("cognito-idp", "CreateUserPoolClient", p)
        )["UserPoolClient"]
        return Result(
            client["ClientId"],
            {
                "ClientId": client["ClientId"],
                "ClientSecret": client.get("ClientSecret", ""),
                "Name": client["ClientName"],
            },
        )

    def update(self, req: ResourceRequest, current: StackResource) -> Result:
        old, new = current.properties, req.properties
        if changed(old, new, ("UserPoolId", "GenerateSecret")):
            raise NeedsReplacement()
        params = {k: v for k, v in new.items() if k != "GenerateSecret"}
        params["ClientId"] = current.physical_id
        params["ClientName"] = new.get("ClientName") or current.attributes.get("Name")
        req.client("cognito-idp").update_user_pool_client(
            **api_params("cognito-idp", "UpdateUserPoolClient", params)
        )
        return Result(current.physical_id or "", current.attributes)

    def delete(self, req: ResourceRequest, current: StackResource) -> None:
        pool, client = current.properties.get("UserPoolId"), current.physical_id
        ignore_missing(
            lambda: req.client("cognito-idp").delete_user_pool_client(
                UserPoolId=pool, ClientId=client
            )
        )


HANDLERS: list[Handler] = [UserPool(), UserPoolClient()]
