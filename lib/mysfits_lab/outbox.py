"""The local cloud's email outbox, read from a notebook, the CLI or a test: the verification
codes Cognito "emailed" (and, later, SNS email notifications)."""

from __future__ import annotations

import re
from typing import Any

import requests

from .localcloud.control import CloudError

CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")  # Cognito's codes: six digits


def messages(
    edge_url: str, to: str | None = None, since: str | None = None
) -> list[dict[str, Any]]:
    """The emails the local cloud at ``edge_url`` sent, oldest first: optionally only those to
    ``to`` (any case) and those sent at or after ``since`` (an ISO-8601 time)."""
    query = {key: value for key, value in (("to", to), ("since", since)) if value}
    url = f"{edge_url.rstrip('/')}/_localcloud/outbox"
    try:
        response = requests.get(url, params=query, timeout=10)
    except requests.RequestException as exc:
        raise CloudError(
            f"the local cloud at {edge_url} does not answer (start it with "
            f"`mysfits-lab cloud up`): {exc.__class__.__name__}"
        ) from exc
    if response.status_code == 404:
        raise CloudError(f"the local cloud at {edge_url} has no outbox")
    if response.status_code != 200:
        raise CloudError(f"the outbox refused the query: {_message(response)}")
    return response.json()["messages"]


def latest_code(edge_url: str, to: str) -> str:
    """The newest 6-digit code emailed to ``to``; LookupError naming it when there is none."""
    for message in reversed(messages(edge_url, to=to)):
        found = CODE.search(message.get("body", "")) or CODE.search(message.get("subject", ""))
        if found:
            return found.group()
    raise LookupError(f"no verification code has been emailed to {to} on the local cloud")


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]
