"""One way to start a child process: tasks, builds and (next) functions all go through here.

Every child runs under a tiny supervisor (``_SUPERVISOR``) that leads the child's process group:
- the kernel sends the supervisor ``SIGUSR1`` when the launcher thread dies — the cloud was
  killed, even with SIGKILL — and the supervisor then SIGKILLs its whole group, so no command a
  task or a build started (``sleep 300 &`` in a buildspec) outlives the cloud;
- stop signals (any a Dockerfile's STOPSIGNAL names) go to the group, so they reach everything
  the command started; the supervisor itself shrugs them off and reports the command's exit as
  Docker does (128 + signal).

The parent-death signal is tied to the *thread* that forks, so every child is forked by one
long-lived launcher thread, never by a short-lived request thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger("mysfits_lab.localcloud.processes")

_SUPERVISOR = r"""
import ctypes, os, signal, sys
parent, argv = int(sys.argv[1]), sys.argv[2:]
def orphaned(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGUSR1, orphaned)
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGUSR1)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != parent:
    orphaned()
own = {signal.SIGKILL, signal.SIGSTOP, signal.SIGUSR1, signal.SIGCHLD}
for number in signal.valid_signals() - own:
    try:  # any stop signal is meant for the command; exec resets these handlers
        signal.signal(number, lambda *_: None)
    except (OSError, ValueError):
        pass
child = os.fork()
if child == 0:
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    try:
        os.execv(argv[0], argv)
    except OSError as exc:
        os.write(2, f"exec {argv[0]}: {exc.strerror}\n".encode())
        os._exit(127)
while True:
    try:
        _, status = os.waitpid(child, 0)
        break
    except ChildProcessError:
        sys.exit(1)
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
"""


@dataclass
class ProcessSpec:
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    name: str
    output_file: Path | None = None  # everything the process prints, appended
    on_line: Callable[[str], None] | None = None  # each output line, without its newline
    stdin_pipe: bool = False


class Process:
    """A started child: its group can be signalled, stopped with a grace period, waited for."""

    def __init__(self, spec: ProcessSpec, popen: subprocess.Popen[bytes]):
        self.spec = spec
        self._popen = popen
        self.pid = popen.pid
        self.stdin: IO[bytes] | None = popen.stdin
        self._reader = threading.Thread(target=self._read, name=f"output-{spec.name}", daemon=True)
        self._reader.start()

    @staticmethod
    def _docker_code(code: int | None) -> int | None:
        # A group kill also ends the supervisor: report it as Docker does, 128 + signal.
        return 128 - code if code is not None and code < 0 else code

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        return self._docker_code(self._popen.poll())

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, or None if still running after ``timeout``."""
        try:
            return self._docker_code(self._popen.wait(timeout))
        except subprocess.TimeoutExpired:
            return None

    def send(self, signum: int) -> None:
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole group (leftover background commands included)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._popen.wait()

    def stop(self, grace: float, signum: int = signal.SIGTERM) -> int:
        """``signum``, then SIGKILL after ``grace`` seconds; the exit code."""
        self.send(signum)
        code = self.wait(grace)
        if code is None:
            self.kill()
        self.join_output(2)
        return self._docker_code(self._popen.returncode)  # type: ignore[return-value]

    def join_output(self, timeout: float) -> None:
        self._reader.join(timeout)

    def _read(self) -> None:
        stdout = self._popen.stdout
        assert stdout is not None
        sink = open(self.spec.output_file, "ab") if self.spec.output_file else None  # noqa: SIM115
        try:
            for raw in iter(stdout.readline, b""):
                if sink is not None:
                    sink.write(raw)
                    sink.flush()
                if self.spec.on_line is not None:
                    try:
                        self.spec.on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    except Exception:  # a broken consumer must not stop the draining
                        log.exception("output consumer of %s failed", self.spec.name)
        finally:
            stdout.close()
            if sink is not None:
                sink.close()


class Launcher:
    """Forks every child from one long-lived thread (see the module docstring)."""

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[ProcessSpec, Future[Process]] | None] = queue.Queue()
        self._processes: list[Process] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="launcher", daemon=True)
        self._thread.start()

    def start(self, spec: ProcessSpec) -> Process:
        """Start ``spec`` under the supervisor; raises OSError when it cannot start at all."""
        future: Future[Process] = Future()
        self._requests.put((spec, future))
        process = future.result()
        with self._lock:
            self._processes = [p for p in self._processes if p.poll() is None]
            self._processes.append(process)
        return process

    def _serve(self) -> None:
        while (request := self._requests.get()) is not None:
            spec, future = request
            try:
                future.set_result(self._spawn(spec))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

    @staticmethod
    def _spawn(spec: ProcessSpec) -> Process:
        if spec.output_file is not None:
            spec.output_file.parent.mkdir(parents=True, exist_ok=True)
        command = list(spec.argv)
        if not os.path.isabs(command[0]):
            found = shutil.which(command[0], path=spec.env.get("PATH"))
            if found is None:
                raise FileNotFoundError(f"{command[0]}: executable file not found in $PATH")
            command[0] = found
        argv = [sys.executable, "-I", "-S", "-c", _SUPERVISOR, str(os.getpid()), *command]
        popen = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=dict(spec.env),
            stdin=subprocess.PIPE if spec.stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        return Process(spec, popen)

    def running(self) -> list[Process]:
        with self._lock:
            return [p for p in self._processes if p.poll() is None]

    def shutdown(self, grace: float = 2.0) -> None:
        """Stop whatever is still running (providers normally stopped their own first)."""
        for process in self.running():
            process.stop(grace)
        self._requests.put(None)
