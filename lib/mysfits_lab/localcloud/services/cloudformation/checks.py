"""Checks a call passes before it touches a stack: a valid name, no operation still running."""

from __future__ import annotations

import re
import time

from .errors import validation
from .models import Stack

_NAME = re.compile(r"^[A-Za-z][-A-Za-z0-9]{0,127}$")


def check_name(name: str, what: str = "stackName") -> None:
    if not _NAME.match(name):
        raise validation(
            f"1 validation error detected: Value '{name[:128]}' at '{what}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "[a-zA-Z][-a-zA-Z0-9]*"
        )


def wait_idle(stack: Stack, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while stack.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    if stack.busy:
        raise validation(
            f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
        )
