"""The mappings of every region, under one lock: the API handlers change them, the poller reads
consistent views of them and reports what it delivered."""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
from dataclasses import dataclass
from typing import Any

from .models import FUNCTION_CALL_FAILED, OK, Mapping, Settings
from .validation import FunctionRef, invalid, not_found

DEFAULT_MAX_ITEMS = 100


@dataclass(frozen=True)
class View:
    """What the poller needs of a mapping, as it was at one moment."""

    uuid: str
    region: str
    source_arn: str
    starting_position: str
    settings: Settings
    enabled: bool
    state: str
    generation: int


class MappingStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._mappings: dict[str, Mapping] = {}
        self._serials = itertools.count(1)

    def next_serial(self) -> int:
        return next(self._serials)

    def __len__(self) -> int:
        with self.lock:
            return len(self._mappings)

    # -- the API's side (callers hold ``lock`` across a check and its change) ----------------
    def add(self, mapping: Mapping) -> None:
        with self.lock:
            self._mappings[mapping.uuid] = mapping

    def get(self, uuid: str, region: str) -> Mapping:
        with self.lock:
            mapping = self._mappings.get(uuid)
            if mapping is None or mapping.region != region:
                raise not_found()
            return mapping

    def remove(self, uuid: str, region: str) -> Mapping:
        with self.lock:
            mapping = self.get(uuid, region)
            del self._mappings[uuid]
            return mapping

    def duplicate(
        self, region: str, source_arn: str, function_arn: str, other_than: str | None = None
    ) -> Mapping | None:
        with self.lock:
            for mapping in self._mappings.values():
                if (
                    mapping.region == region
                    and mapping.source_arn == source_arn
                    and mapping.settings.function_arn == function_arn
                    and mapping.uuid != other_than
                ):
                    return mapping
            return None

    def page(
        self,
        region: str,
        source_arn: str | None = None,
        function: FunctionRef | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """ListEventSourceMappings: the matching mappings in creation order, from ``marker``."""
        start = _serial_of(marker) if marker else 0
        limit = max_items or DEFAULT_MAX_ITEMS
        with self.lock:
            found = sorted(
                (
                    m
                    for m in self._mappings.values()
                    if m.region == region
                    and m.serial >= start
                    and (source_arn is None or m.source_arn == source_arn)
                    and (function is None or _same_function(m.settings.function_arn, function))
                ),
                key=lambda m: m.serial,
            )
            page = [m.to_api() for m in found[:limit]]
        more = found[limit] if len(found) > limit else None
        return page, _marker(more.serial) if more else None

    # -- the poller's side -----------------------------------------------------------------
    def views(self) -> list[View]:
        with self.lock:
            return [
                View(
                    m.uuid,
                    m.region,
                    m.source_arn,
                    m.starting_position,
                    m.settings,
                    m.enabled,
                    m.state,
                    m.generation,
                )
                for m in sorted(self._mappings.values(), key=lambda m: m.serial)
            ]

    def current(self, uuid: str, generation: int) -> bool:
        """Whether the mapping still exists as of ``generation`` (not deleted, not updated)."""
        with self.lock:
            mapping = self._mappings.get(uuid)
            return mapping is not None and mapping.generation == generation

    def settle(self, uuid: str, generation: int) -> None:
        """The poller acted on the mapping as of ``generation``: leave the -ing state."""
        with self.lock:
            mapping = self._mappings.get(uuid)
            if mapping is not None and mapping.generation == generation:
                mapping.state = mapping.target_state()

    def delivered(self, uuid: str, records: int) -> None:
        with self.lock:
            mapping = self._mappings.get(uuid)
            if mapping is not None:
                mapping.delivered_batches += 1
                mapping.delivered_records += records
                mapping.last_result = OK

    def failed(self, uuid: str, discarded: bool) -> None:
        """An attempt failed; ``discarded``: and its batch was given up."""
        with self.lock:
            mapping = self._mappings.get(uuid)
            if mapping is not None:
                mapping.last_result = FUNCTION_CALL_FAILED
                mapping.failed_batches += int(discarded)

    def control(self) -> list[dict[str, Any]]:
        with self.lock:
            return [m.control() for m in sorted(self._mappings.values(), key=lambda m: m.serial)]


def _same_function(function_arn: str, wanted: FunctionRef) -> bool:
    parts = function_arn.split(":")
    name, qualifier = parts[6], (parts[7] if len(parts) > 7 else None)
    if parts[3] != wanted.region or name != wanted.name:
        return False
    return wanted.qualifier is None or qualifier == wanted.qualifier


def _marker(serial: int) -> str:
    return base64.urlsafe_b64encode(f"esm:{serial}".encode()).decode()


def _serial_of(marker: str) -> int:
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix == "esm" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise invalid(f"Invalid marker: {marker[:200]}")
