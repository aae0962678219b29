"""The stacks of a cloud, by region: found by name (the live one) or by id (deleted ones too,
as AWS keeps them listed), with their exports and change sets. One lock guards it all; the
engine changes a stack only while holding it."""

from __future__ import annotations

import threading

from .errors import not_found
from .models import ChangeSet, Stack

MAX_DELETED = 200  # deleted stacks kept per region for ListStacks and lookups by id


class StackStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._stacks: dict[str, list[Stack]] = {}  # region → stacks, oldest first
        self._change_sets: dict[str, list[ChangeSet]] = {}

    def regions(self) -> list[str]:
        with self.lock:
            return list(self._stacks)

    def add(self, stack: Stack) -> None:
        with self.lock:
            stacks = self._stacks.setdefault(stack.region, [])
            stacks.append(stack)
            deleted = [s for s in stacks if s.is_deleted]
            for old in deleted[: max(0, len(deleted) - MAX_DELETED)]:
                stacks.remove(old)

    def all(self, region: str) -> list[Stack]:
        with self.lock:
            return list(self._stacks.get(region, []))

    def find(self, region: str, name_or_id: str, deleted: bool = False) -> Stack | None:
        """The live stack of that name, or the stack of that id (deleted or not)."""
        with self.lock:
            for stack in reversed(self._stacks.get(region, [])):
                if stack.stack_id == name_or_id:
                    return stack if (deleted or not stack.is_deleted) else None
                if stack.name == name_or_id and not stack.is_deleted:
                    return stack
        return None

    def get(self, region: str, name_or_id: str, deleted: bool = False) -> Stack:
        stack = self.find(region, name_or_id, deleted)
        if stack is None:
            raise not_found(name_or_id)
        return stack

    # -- exports ------------------------------------------------------------------------------
    def exports(self, region: str) -> dict[str, tuple[Stack, str]]:
        """export name → (exporting stack, value), of every live stack."""
        found: dict[str, tuple[Stack, str]] = {}
        with self.lock:
            for stack in self._stacks.get(region, []):
                if stack.is_deleted:
                    continue
                for output in stack.outputs:
                    if output.export_name:
                        found[output.export_name] = (stack, output.value)
        return found

    def importers(self, region: str, export_name: str) -> list[Stack]:
        with self.lock:
            return [
                s
                for s in self._stacks.get(region, [])
                if not s.is_deleted and export_name in s.imports
            ]

    # -- change sets ----------------------------------------------------------------------------
    def add_change_set(self, region: str, change_set: ChangeSet) -> None:
        with self.lock:
            self._change_sets.setdefault(region, []).append(change_set)

    def change_sets(self, region: str, stack_id: str) -> list[ChangeSet]:
        with self.lock:
            return [c for c in self._change_sets.get(region, []) if c.stack_id == stack_id]

    def find_change_set(
        self, region: str, name_or_id: str, stack: Stack | None
    ) -> ChangeSet | None:
        with self.lock:
            for change_set in reversed(self._change_sets.get(region, [])):
                if change_set.change_set_id == name_or_id:
                    return change_set
                if (
                    stack is not None
                    and change_set.name == name_or_id
                    and change_set.stack_id == stack.stack_id
                ):
                    return change_set
        return None

    def drop_change_sets(self, region: str, stack_id: str, keep: ChangeSet | None = None) -> None:
        with self.lock:
            self._change_sets[region] = [
                c for c in self._change_sets.get(region, []) if c.stack_id != stack_id or c is keep
            ]

    def drop_change_set(self, region: str, change_set: ChangeSet) -> None:
        with self.lock:
            sets = self._change_sets.get(region, [])
            if change_set in sets:
                sets.remove(change_set)
