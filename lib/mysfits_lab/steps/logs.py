"""CloudWatch Logs for every module: log groups, and following the lines a build or job writes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..lab import Lab
from .aws_errors import tolerate


def ensure_log_group(lab: Lab, name: str, retention_days: int = 7) -> str:
    """Get or create a tagged log group that keeps its lines ``retention_days`` days."""
    logs = lab.client("logs")
    with tolerate("ResourceAlreadyExistsException"):
        logs.create_log_group(logGroupName=name, tags=lab.tags)
    logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
    return name


class LogTail:
    """Prints the lines log streams gained since the last call: follows a build or a job."""

    def __init__(self, logs: Any):
        self.logs = logs
        self._tokens: dict[tuple[str, str], str] = {}

    def stream(self, group: str | None, stream: str | None) -> None:
        """New lines of one stream; nothing while it does not exist yet."""
        if not group or not stream:
            return
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if (group, stream) in self._tokens:
            kwargs["nextToken"] = self._tokens[group, stream]
        try:
            page = self.logs.get_log_events(**kwargs)
        except ClientError:
            return  # the stream appears with its first line
        for event in page.get("events", []):
            print(f"  | {event['message'].rstrip()}")
        if "nextForwardToken" in page:
            self._tokens[group, stream] = page["nextForwardToken"]

    def streams(self, group: str, prefix: str) -> None:
        """New lines of every stream of ``group`` whose name starts with ``prefix``."""
        try:
            found = self.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)
        except ClientError:
            return  # the group appears with the first stream
        for stream in found.get("logStreams", []):
            self.stream(group, stream["logStreamName"])
