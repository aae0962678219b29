"""The bash session a build runs its buildspec commands in, one command at a time.

Each command is written to a file and sourced, so ``cd`` and variables carry over to the next
command (buildspec 0.2); ``isolated=True`` runs each in a subshell instead (0.1). After a
command, bash prints a marker with its status on a copy of stdout (fd 9), so the marker arrives
after all of the command's output and survives ``exec >file`` in a command.

The session is started by the cloud's launcher: bash leads no group of its own, the supervisor
does, so a timeout, a stop or the death of the cloud ends everything a command started.
"""

from __future__ import annotations

import contextlib
import queue
import shlex
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, cast

from ...core.processes import Launcher, ProcessSpec

POLL_SECONDS = 0.1  # how often a running command checks for a stop request


class ShellInterrupted(Exception):
    """The command ran past its deadline (``timeout``) or the build was ``stopped``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _never() -> bool:
    return False


class _Session:
    """One bash process and the exit statuses its marker lines report."""

    def __init__(
        self, launcher: Launcher, spec: ProcessSpec, marker: str, on_line: Callable[[str], None]
    ):
        self._marker, self._on_line = marker, on_line
        self.statuses: queue.Queue[int] = queue.Queue()
        self.process = launcher.start(replace(spec, on_line=self._line, stdin_pipe=True))
        self._stdin = cast(IO[bytes], self.process.stdin)  # a pipe: stdin_pipe=True
        self.write("exec 9>&1\n")

    def _line(self, line: str) -> None:
        at = line.find(self._marker)
        if at < 0:
            self._on_line(line)
            return
        if line[:at]:
            self._on_line(line[:at])  # output that did not end with a newline
        self.statuses.put(int(line[at + len(self._marker) :] or 1))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def write(self, text: str) -> bool:
        """Send ``text`` to bash; False when bash is gone."""
        try:
            self._stdin.write(text.encode())
            self._stdin.flush()
        except OSError:
            return False
        return True

    def exit_status(self) -> int:
        code = self.process.wait(5)
        return 1 if code is None else code

    def status(self, deadline: float | None, should_stop: Callable[[], bool]) -> int:
        """The next command's exit status; ShellInterrupted on deadline or stop."""
        while True:
            if should_stop():
                raise ShellInterrupted("stopped")
            wait = POLL_SECONDS
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ShellInterrupted("timeout")
                wait = min(wait, remaining)
            with contextlib.suppress(queue.Empty):
                return self.statuses.get(timeout=wait)
            if not self.alive:  # the command ended bash itself (`exit 3`)
                self.process.join_output(1.0)
                with contextlib.suppress(queue.Empty):
                    return self.statuses.get_nowait()
                return self.exit_status()

    def close(self, grace: float) -> None:
        """End of input; after ``grace`` seconds the whole group is killed."""
        with contextlib.suppress(OSError):
            self._stdin.close()
        self.process.wait(grace)
        self.process.kill()
        self.process.join_output(2.0)


class BuildShell:
    """Runs commands in one bash session and reports each exit status."""

    def __init__(
        self,
        launcher: Launcher,
        cwd: Path,
        env: Mapping[str, str],
        on_line: Callable[[str], None],
        script_dir: Path,
        isolated: bool = False,
        name: str = "build-shell",
    ):
        self._launcher = launcher
        self._cwd, self._env, self._on_line, self._name = cwd, dict(env), on_line, name
        self._script_dir, self._isolated = script_dir, isolated
        self._script_dir.mkdir(parents=True, exist_ok=True)
        self._marker = f"__mysfits_codebuild_{uuid.uuid4().hex}_"
        self._count = 0
        self._session = self._open()

    def _open(self) -> _Session:
        spec = ProcessSpec(
            argv=["bash", "--noprofile", "--norc"],
            cwd=self._cwd,
            env=self._env,
            name=self._name,
        )
        return _Session(self._launcher, spec, self._marker, self._on_line)

    def _live(self) -> _Session:
        """The session, or a fresh one when a command ended bash (``exit 3``); whatever the
        old session left in the background ends with it."""
        if not self._session.alive:
            self._session.process.kill()
            self._session = self._open()
        return self._session

    def export(self, name: str, value: str) -> None:
        self._live().write(f"export {name}={shlex.quote(value)}\n")

    def run(
        self,
        command: str,
        deadline: float | None = None,
        should_stop: Callable[[], bool] = _never,
    ) -> int:
        """Run ``command``; its exit status. ShellInterrupted (after killing everything the
        command started) when the monotonic ``deadline`` passes or ``should_stop()``."""
        session = self._live()
        self._count += 1
        script = self._script_dir / f"command-{self._count}.sh"
        script.write_text(command + "\n", encoding="utf-8")
        source = f". {shlex.quote(str(script))} 9>&- </dev/null"
        if self._isolated:
            source = f"( {source} )"
        if not session.write(f"{source}\nprintf '%s%d\\n' {self._marker} \"$?\" >&9\n"):
            return session.exit_status()
        try:
            return session.status(deadline, should_stop)
        except ShellInterrupted:
            session.process.kill()
            raise

    def close(self, grace: float = 2.0) -> None:
        """End the session and anything it left running in the background."""
        self._session.close(grace)
