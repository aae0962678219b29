"""AWS error codes that get-or-create steps expect, and nothing else, swallowed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


@contextmanager
def tolerate(*codes: str) -> Iterator[None]:
    """Ignore a ``ClientError`` whose code is one of ``codes`` (e.g. "it already exists")."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) not in codes:
            raise
