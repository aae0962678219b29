"""Where a build's lines go: its CloudWatch Logs stream, or nowhere when the project turns
CloudWatch Logs off. CodeBuild's own lines read ``[Container] <time> <message>``."""

from __future__ import annotations

from datetime import UTC, datetime

from ...core.clock import Clock
from ...core.logs import LogWriter
from .models import LogSettings


class BuildOutput:
    def __init__(self, logs: LogWriter, clock: Clock, region: str, settings: LogSettings):
        self._clock = clock
        # Opened at once: the stream exists as soon as StartBuild answers.
        self._stream = (
            logs.open(region, settings.group, settings.stream, create_group=True)
            if settings.enabled
            else None
        )

    def line(self, text: str) -> None:
        """A line the build's commands printed."""
        if self._stream is not None:
            self._stream.write(text)

    def container(self, message: str) -> None:
        """A line of CodeBuild's agent."""
        stamp = datetime.fromtimestamp(self._clock.now(), UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        self.line(f"[Container] {stamp} {message}")

    def flush(self) -> None:
        """Send every line so far (before the build reads as complete)."""
        if self._stream is not None:
            self._stream.flush()
