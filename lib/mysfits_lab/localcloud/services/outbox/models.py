"""One email the local cloud sent, and the filters a reader asks for (no I/O here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# What Cognito's default email configuration (COGNITO_DEFAULT) sends from.
DEFAULT_SENDER = "no-reply@verificationemail.com"
# SNS messages are at most 256 KiB: no email of the local cloud needs more.
MAX_BODY = 256 * 1024


def iso_time(epoch_seconds: float) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``, as AWS APIs write times."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; one without a zone is UTC. ValueError when it is not one."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    id: str
    time: str
    to: str
    sender: str
    subject: str
    body: str
    source: str  # the service that sent it: cognito-idp, sns
    region: str

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("sender")
        return data

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Message:
        fields = dict(data)
        fields["sender"] = fields.pop("from", DEFAULT_SENDER)
        return cls(**{name: str(fields.get(name, "")) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Query:
    """Which messages a reader wants: to one address (case-insensitive), at or after a time."""

    to: str | None = None
    since: datetime | None = None

    @classmethod
    def parse(cls, to: str | None, since: str | None) -> Query:
        """From the control route's query string; ValueError on a time that is not ISO-8601."""
        return cls(to=to.strip() if to else None, since=parse_time(since) if since else None)

    def matches(self, message: Message) -> bool:
        if self.to is not None and message.to.casefold() != self.to.casefold():
            return False
        return self.since is None or parse_time(message.time) >= self.since
