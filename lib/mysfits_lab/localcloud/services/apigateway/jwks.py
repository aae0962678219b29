"""User pools' signing keys and app clients, as a Cognito authorizer needs them: fetched when
first needed, kept, fetched again when a token names a key (or a client) not seen yet — at
most once every few seconds per pool, so a stream of forged tokens cannot make the gateway
hammer Cognito — and for a bounded number of pools.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jwt

REFETCH_AFTER = 5.0  # seconds between two fetches of one pool's keys (or clients)
CLIENTS_TTL = 30.0  # a pool's clients are listed again after this
MAX_POOLS = 64


class KeysUnavailable(Exception):  # noqa: N818 - a condition, named as API Gateway names it
    """The pool's keys or clients could not be read (AUTHORIZER_CONFIGURATION_ERROR)."""


class _Entry:
    def __init__(self, values: Any, fetched: float):
        self.values = values
        self.fetched = fetched


class _BoundedCache:
    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        pool: str,
        fetch: Callable[[], Any],
        has: Callable[[Any], bool],
        ttl: float | None = None,
    ) -> Any:
        """The pool's values, fetched again when ``has`` says they lack what is wanted (or
        they are older than ``ttl``) and the last fetch is ``REFETCH_AFTER`` old."""
        with self._lock:
            entry = self._entries.get(pool)
            if entry is not None:
                self._entries.move_to_end(pool)
                age = self._clock() - entry.fetched
                stale = ttl is not None and age > ttl
                if (has(entry.values) and not stale) or age < REFETCH_AFTER:
                    return entry.values
            try:
                values = fetch()
            except KeysUnavailable:
                raise
            except Exception as exc:  # the edge or Cognito failed: not the caller's fault
                raise KeysUnavailable(f"{pool}: {exc}") from exc
            self._entries[pool] = _Entry(values, self._clock())
            while len(self._entries) > MAX_POOLS:
                self._entries.popitem(last=False)
            return values


class SigningKeys:
    """Public keys by pool and ``kid``; ``fetch(pool_id)`` returns the pool's JWKS document."""

    def __init__(
        self, fetch: Callable[[str], dict[str, Any]], clock: Callable[[], float] = time.monotonic
    ):
        self._fetch = fetch
        self._cache = _BoundedCache(clock)

    def key(self, pool_id: str, kid: str) -> Any | None:
        keys = self._cache.get(pool_id, lambda: self._load(pool_id), lambda found: kid in found)
        return keys.get(kid)

    def _load(self, pool_id: str) -> dict[str, Any]:
        document = self._fetch(pool_id)
        keys = {}
        for data in document.get("keys", []) if isinstance(document, dict) else []:
            if data.get("kty") != "RSA" or "kid" not in data:
                continue  # a Cognito pool signs with RSA keys only
            try:
                keys[data["kid"]] = jwt.PyJWK(data, algorithm="RS256").key
            except jwt.PyJWTError:
                continue
        return keys


class PoolClients:
    """App client ids by pool; ``fetch(region, pool_id)`` lists them (empty: no such pool)."""

    def __init__(
        self,
        fetch: Callable[[str, str], set[str]],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fetch = fetch
        self._cache = _BoundedCache(clock)

    def known(self, region: str, pool_id: str, client_id: str) -> bool:
        clients = self._cache.get(
            pool_id,
            lambda: self._fetch(region, pool_id),
            lambda found: client_id in found,
            ttl=CLIENTS_TTL,
        )
        return client_id in clients
