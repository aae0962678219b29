"""Where an HTTP integration's request goes on this machine.

- ``connectionType VPC_LINK``: to the VPC link's target load balancer (``targetArns[0]``), at
  the local port of its listener for the URI's port — from the ELB provider's control route
  ``GET /_localcloud/loadbalancers``, cached briefly and read again when a connection fails.
- ``INTERNET`` to a loopback host (``127.0.0.1``, ``localhost``): straight there. To a local load
  balancer's DNS name: its listener, as an internet-facing NLB would be reached.
- Anything else is not reachable from the local cloud: 500 "Internal server error", with the
  reason in the cloud's log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ..answers import GatewayError
from ..models import Integration
from .transport import Target

BALANCERS_TTL = 2.0  # seconds the listing of load balancers is trusted
LINKS_TTL = 10.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


class _Timed:
    """One cached value per key, for ``ttl`` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float]):
        self._ttl, self._clock = ttl, clock
        self._values: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._values.get(key)
            if found is not None and self._clock() - found[0] < self._ttl:
                return found[1]
        value = load()
        with self._lock:
            self._values[key] = (self._clock(), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class Endpoints:
    def __init__(
        self,
        get_vpc_link: Callable[[str, str], dict[str, Any]],
        list_balancers: Callable[[], dict[str, Any]],
        clock: Callable[[], float] = time.monotonic,
    ):
        """``get_vpc_link(region, id)``: GetVpcLink's answer; ``list_balancers()``: the ELB
        provider's listing ``{name: {"arn", "dns_name", "listeners": {port: url}}}``."""
        self._get_vpc_link = get_vpc_link
        self._list_balancers = list_balancers
        self._links = _Timed(LINKS_TTL, clock)
        self._balancers = _Timed(BALANCERS_TTL, clock)

    def forget(self) -> None:
        """After a refused connection: the next lookups read the listings again."""
        self._balancers.clear()
        self._links.clear()

    def resolve(self, region: str, integration: Integration, uri: str) -> Target:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        port = _port(parts)
        if integration.connection_type == "VPC_LINK":
            return self._through_link(region, integration.connection_id or "", port)
        if parts.scheme == "http" and is_loopback(host):
            return Target(host, port, parts.scheme)
        listener = self._listener(lambda b: b.get("dns_name", "").lower() == host.lower(), port)
        if listener is not None:
            return listener
        raise GatewayError(
            "API_CONFIGURATION_ERROR",
            f"{uri}: the local cloud reaches http backends on loopback (127.0.0.1, localhost) "
            "and its own load balancers only",
        )

    def _through_link(self, region: str, link_id: str, port: int) -> Target:
        try:
            link = self._links.get((region, link_id), lambda: self._get_vpc_link(region, link_id))
        except Exception as exc:  # no such VPC link: a configuration error on AWS too
            raise GatewayError("API_CONFIGURATION_ERROR", f"VPC link {link_id}: {exc}") from None
        arns = link.get("targetArns") or []
        if not arns:
            raise GatewayError("API_CONFIGURATION_ERROR", f"VPC link {link_id} has no target")
        listener = self._listener(lambda b: b.get("arn") == arns[0], port)
        if listener is None:
            raise GatewayError(
                "API_CONFIGURATION_ERROR",
                f"VPC link {link_id}: load balancer {arns[0]} has no listener on port {port}",
            )
        return listener

    def _listener(self, wanted: Callable[[dict[str, Any]], bool], port: int) -> Target | None:
        try:
            balancers = self._balancers.get("all", self._list_balancers)
        except Exception as exc:  # no load balancer provider on this cloud
            raise GatewayError("API_CONFIGURATION_ERROR", f"load balancers: {exc}") from None
        for balancer in balancers.values():
            if isinstance(balancer, dict) and wanted(balancer):
                url = (balancer.get("listeners") or {}).get(str(port))
                if url:
                    local = urlsplit(url)
                    return Target(local.hostname or "127.0.0.1", _port(local), "http")
        return None


def _port(parts: SplitResult) -> int:
    try:
        explicit = parts.port
    except ValueError:
        explicit = None
    return explicit or (443 if parts.scheme == "https" else 80)
