"""Providers: the parts of AWS that must really execute on the local cloud."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..server import LocalCloud


class Provider(Protocol):
    name: str

    def attach(self, cloud: LocalCloud) -> None:
        """Register edge routes and control endpoints; start background work."""

    def stop(self) -> None:
        """Release ports and child processes."""

    def status(self) -> dict[str, Any]:
        """What this provider currently serves, for ``mysfits-lab cloud status``."""
