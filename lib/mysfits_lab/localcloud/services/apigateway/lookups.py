"""What a stage reads from the rest of the cloud, through its APIs (providers never import each
other): a user pool's JWKS (``GET /<pool id>/.well-known/jwks.json`` on the edge) and app
clients (ListUserPoolClients), a VPC link (GetVpcLink), and the local load balancers' listeners
(the ELB provider's ``GET /_localcloud/loadbalancers``)."""

from __future__ import annotations

import json
from typing import Any

import urllib3
from botocore.exceptions import ClientError

from ...constants import CONTROL_PREFIX
from ...core.provider import Context


class CloudLookups:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._edge = urllib3.PoolManager(maxsize=8, retries=False)

    def _edge_json(self, path: str) -> Any:
        response = self._edge.request("GET", f"{self.ctx.edge_url}{path}", timeout=5.0)
        if response.status != 200:
            raise LookupError(f"GET {path}: {response.status}")
        return json.loads(response.data)

    def jwks(self, pool_id: str) -> dict[str, Any]:
        try:
            return self._edge_json(f"/{pool_id}/.well-known/jwks.json")
        except LookupError:
            return {"keys": []}  # no such pool: no token of it is valid

    def pool_clients(self, region: str, pool_id: str) -> set[str]:
        idp = self.ctx.client("cognito-idp", region)
        clients: set[str] = set()
        token = None
        try:
            while True:
                page = idp.list_user_pool_clients(
                    UserPoolId=pool_id, MaxResults=60, **({"NextToken": token} if token else {})
                )
                clients |= {c["ClientId"] for c in page.get("UserPoolClients", [])}
                token = page.get("NextToken")
                if not token:
                    return clients
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return set()
            raise

    def vpc_link(self, region: str, link_id: str) -> dict[str, Any]:
        return self.ctx.moto("apigateway", "GetVpcLink", region, vpcLinkId=link_id)

    def load_balancers(self) -> dict[str, Any]:
        return self._edge_json(f"{CONTROL_PREFIX}loadbalancers")
