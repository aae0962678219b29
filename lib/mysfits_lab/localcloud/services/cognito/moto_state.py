"""Where moto keeps a user pool, read from its in-process backends.

Cognito's unauthenticated calls (SignUp, ConfirmSignUp, InitiateAuth...) name an app client, not
a pool or a region — on AWS the endpoint's region says which; here every region shares one edge
and a browser's call is unsigned. moto searches its backends by client id for them, and so do
we (read-only); everything else the provider asks goes through the API (``ctx.moto``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PoolRef:
    account: str
    region: str
    pool_id: str


def _backends() -> Iterator[tuple[str, str, Any]]:
    from moto.cognitoidp.models import cognitoidp_backends

    for account, regions in list(cognitoidp_backends.items()):
        for region, backend in list(regions.items()):
            if region != "global":
                yield account, region, backend


def pool_of_client(client_id: str) -> PoolRef | None:
    for account, region, backend in _backends():
        for pool in list(backend.user_pools.values()):
            if client_id in pool.clients:
                return PoolRef(account, region, pool.id)
    return None


def find_pool(pool_id: str) -> PoolRef | None:
    for account, region, backend in _backends():
        if pool_id in backend.user_pools:
            return PoolRef(account, region, pool_id)
    return None
