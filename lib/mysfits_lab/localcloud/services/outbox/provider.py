"""The outbox provider: other providers hand it the emails they send; the learner reads them.

In-process API (``ctx.provider(OutboxProvider)``): ``deliver(to, subject, body, source,
region)`` stores one message and returns it as the control route shows it.

Control route: ``GET /_localcloud/outbox`` → ``{"messages": [...]}``, oldest first, each
``{id, time, to, from, subject, body, source, region}``; ``?to=<address>`` keeps one address
(case-insensitive), ``?since=<ISO-8601 time>`` the messages sent at or after it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from werkzeug.wrappers import Request

from ...core.provider import Context, Provider
from ...edge import ControlRule, ServiceError
from .models import DEFAULT_SENDER, MAX_BODY, Message, Query, iso_time
from .store import DEFAULT_LIMIT, MessageStore

log = logging.getLogger("mysfits_lab.localcloud.outbox")


class OutboxProvider(Provider):
    name = "outbox"

    def __init__(self, ctx: Context, limit: int = DEFAULT_LIMIT):
        super().__init__(ctx)
        self.store = MessageStore(self.workdir() / "messages.jsonl", limit)

    def deliver(
        self,
        to: str,
        subject: str,
        body: str,
        source: str,
        region: str,
        sender: str = DEFAULT_SENDER,
    ) -> dict[str, Any]:
        """Send ``body`` to ``to``: store it, and return the stored message."""
        message = Message(
            id=str(uuid.uuid4()),
            time=iso_time(self.ctx.clock.now()),
            to=to,
            sender=sender,
            subject=subject,
            body=body[:MAX_BODY],
            source=source,
            region=region,
        )
        self.store.append(message)
        log.info("%s sent an email to %s: %s", source, to, subject)
        return message.to_api()

    def messages(self, to: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        return [m.to_api() for m in self.store.read(Query.parse(to, since))]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._list)]

    def _list(self, request: Request) -> dict[str, Any]:
        try:
            query = Query.parse(request.args.get("to"), request.args.get("since"))
        except ValueError:
            raise ServiceError(
                "InvalidParameterValue",
                f"since={request.args.get('since')!r} is not an ISO-8601 time "
                "(e.g. 2026-01-31T12:00:00Z)",
            ) from None
        return {"messages": [m.to_api() for m in self.store.read(query)]}

    def status(self) -> dict[str, Any]:
        return {"outbox": {"messages": len(self.store)}}
