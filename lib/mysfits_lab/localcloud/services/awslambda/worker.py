"""One warm execution environment: a ``bootstrap.py`` process started with the shared launcher,
its socket, and its log stream. It runs one invocation at a time and reports what Lambda
reports: the result, the handler's error, a timeout (the process is killed) or a crash (the
process ended) — and writes START, END and REPORT around the function's own output.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...core.processes import Process, ProcessSpec
from . import formats
from .framing import ProtocolError, receive_message, send_message
from .host import WorkerHost
from .models import Revision
from .output import DeferredSink, Output

log = logging.getLogger("mysfits_lab.localcloud.lambda")

BOOTSTRAP = str(Path(__file__).with_name("bootstrap.py"))
INIT_LIMIT = 10.0  # seconds: Lambda's limit on a function's initialization
MARK_WAIT = 2.0  # seconds to wait for the output of an invocation to be read
_FRAME_SLACK = 1 << 16


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    arn: str
    client_context: dict[str, Any] | None = None
    trace_id: str | None = None  # _X_AMZN_TRACE_ID for this invocation (Sampled=0: untraced)


@dataclass
class Outcome:
    """What one invocation produced, as Invoke reports it."""

    payload: bytes
    function_error: str | None = None  # "Unhandled"
    log_lines: list[str] = field(default_factory=list)
    reusable: bool = True  # the worker may serve the next invocation
    cold: bool = False
    # When the handler was called and when it was done (epoch seconds; None: it never was),
    # and a cold start's initialization: what the function's X-Ray segment shows.
    started: float | None = None
    ended: float | None = None
    init_span: tuple[float, float] | None = None

    def tail(self) -> str:
        return formats.tail(self.log_lines)


class Worker:
    def __init__(self, host: WorkerHost, revision: Revision):
        self.host = host
        self.revision = revision
        self.id = secrets.token_hex(4)
        self.stream = formats.stream_name(revision.version, host.clock.now())
        self.process: Process | None = None
        self._sock: socket.socket | None = None
        self.log = DeferredSink(lambda: host.open_log(revision, self.stream))
        self._output = Output(self.log, secrets.token_hex(16) + " ")
        self.init_ms: float | None = None  # until reported on the first invocation
        self.init_span: tuple[float, float] | None = None  # (began, ready), epoch seconds
        self.init_error: dict[str, Any] | None = None
        self.exit_code: int | None = None
        self.last_used = time.monotonic()
        self.invocations = 0
        self.memory_mb = 1  # the peak the worker last reported (a killed one cannot)

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and self._sock is not None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> Worker:
        """Start the process and initialize the function (import the handler). An init error
        is kept for the invocation that started the worker; OSError when it cannot start."""
        began = self.host.clock.now()
        try:
            return self._start()
        finally:
            self.init_span = (began, self.host.clock.now())

    def _start(self) -> Worker:
        path = self.host.socket_dir / f"{self.id}.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            listener.listen(1)
            self.process = self.host.launcher.start(
                ProcessSpec(
                    argv=[sys.executable, "-I", "-S", "-u", BOOTSTRAP, str(path)],
                    cwd=self.revision.code_dir,
                    env=self.host.environment(self.revision, self.stream),
                    name=f"lambda-{self.revision.name}-{self.id}",
                    on_line=self._output.on_line,
                )
            )
            deadline = time.monotonic() + INIT_LIMIT
            self._sock = self._accept(listener, deadline)
            if self._sock is None:
                return self._init_failed(deadline)
            init_done = self._output.expect("init")
            send_message(
                self._sock,
                {"type": "init", "paths": self.host.paths(self.revision), "marker": self._marker},
            )
            header, _ = receive_message(self._sock, 0, deadline)
        except (EOFError, TimeoutError, ProtocolError, OSError) as exc:
            if self.process is None:
                raise
            log.info("worker %s of %s did not start: %s", self.id, self.revision.name, exc)
            return self._init_failed(deadline)
        finally:
            listener.close()
            path.unlink(missing_ok=True)
        init_done.wait(MARK_WAIT)
        self.init_ms = float(header.get("init_ms") or 0.0)
        if header.get("type") != "ready":
            self.init_error = header.get("error") or {}
            self._reap()
        return self

    @property
    def _marker(self) -> str:
        return self._output.marker

    def _accept(self, listener: socket.socket, deadline: float) -> socket.socket | None:
        listener.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                connection, _ = listener.accept()
                return connection
            except TimeoutError:
                if self.process is not None and self.process.poll() is not None:
                    return None
        return None

    def _init_failed(self, deadline: float) -> Worker:
        """The process ended (or hung) before it could report on its initialization."""
        self._reap()
        if self.exit_code is None:
            self.init_error = {"errorType": "Sandbox.Timedout"}
        else:
            self.init_error = {"errorType": "Runtime.ExitError", "exit_code": self.exit_code}
        self.init_ms = (INIT_LIMIT - max(0.0, deadline - time.monotonic())) * 1000
        return self

    def _reap(self, grace: float = 2.0) -> None:
        """Wait for an ending process, kill it if it does not end, and read all its output."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.process is not None:
            code = self.process.wait(grace)
            if code is None:
                self.process.kill()
            else:
                self.exit_code = code
            self.process.join_output(grace)

    def stop(self) -> None:
        """Let the worker go: it exits when its socket closes; then its process group is
        killed, so nothing the function started in the background outlives it (AWS ends the
        whole execution environment)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.process is not None:
            self.process.wait(0.5)
            self.process.kill()
            self.process.join_output(1.0)

    # -- invocations ------------------------------------------------------------------------
    def invoke(self, invocation: Invocation) -> Outcome:
        self.last_used = time.monotonic()
        self.invocations += 1
        request_id, revision = invocation.request_id, self.revision
        cold, init_ms = self.init_ms is not None, self.init_ms
        init_span = self.init_span if cold else None
        self.init_ms = None
        if not cold:  # a cold start's excerpt begins with its initialization's output
            self._output.begin()
        if self.init_error is not None:
            outcome = self._report_init_error(invocation, init_ms or 0.0)
            outcome.init_span = init_span
            return outcome
        self._output.add(formats.start_line(request_id, revision.version))
        timeout = revision.timeout * self.host.clock.timeout_scale
        called = self.host.clock.now()
        outcome = self._run(invocation, init_ms, cold, timeout)
        outcome.started, outcome.init_span = called, init_span
        return outcome

    def _run(
        self, invocation: Invocation, init_ms: float | None, cold: bool, timeout: float
    ) -> Outcome:
        request_id = invocation.request_id
        started = time.monotonic()
        deadline = started + timeout
        done = self._output.expect(request_id)
        assert self._sock is not None
        try:
            send_message(
                self._sock,
                {
                    "type": "invoke",
                    "id": request_id,
                    "deadline_ms": int((self.host.clock.now() + timeout) * 1000),
                    "arn": invocation.arn,
                    "client_context": invocation.client_context,
                    "trace_id": invocation.trace_id,
                },
                invocation.payload,
            )
            header, body = receive_message(
                self._sock, formats.MAX_RESPONSE + _FRAME_SLACK, deadline
            )
        except TimeoutError:
            ended = self.host.clock.now()
            outcome = self._timed_out(invocation, init_ms, (time.monotonic() - started) * 1000)
            outcome.ended = ended
            return outcome
        except (EOFError, ProtocolError, OSError):
            ended = self.host.clock.now()
            outcome = self._crashed(invocation, init_ms, (time.monotonic() - started) * 1000)
            outcome.ended = ended
            return outcome
        ended = self.host.clock.now()
        done.wait(MARK_WAIT)
        ok = bool(header.get("ok"))
        self.memory_mb = int(header.get("memory_mb") or 1)
        # The handler's own exception ends the invocation normally; the runtime's faults do not.
        error_type = None if ok else formats.error_type_of(_json(body))
        fault = (
            error_type if error_type and error_type.startswith(("Runtime.", "Function.")) else None
        )
        self._finish(
            request_id,
            float(header.get("duration_ms") or 0.0),
            self.memory_mb,
            init_ms,
            "error" if fault else None,
            fault,
        )
        return Outcome(
            body,
            None if ok else "Unhandled",
            self._output.excerpt(),
            reusable=True,
            cold=cold,
            ended=ended,
        )

    def _finish(
        self,
        request_id: str,
        duration_ms: float,
        memory_mb: int,
        init_ms: float | None,
        status: str | None = None,
        error_type: str | None = None,
    ) -> None:
        self._output.add(formats.end_line(request_id))
        self._output.add(
            formats.report_line(
                request_id,
                duration_ms,
                self.revision.memory,
                memory_mb,
                init_ms,
                status,
                error_type,
            )
        )

    def _timed_out(self, invocation: Invocation, init_ms: float | None, elapsed: float) -> Outcome:
        """Past the function's timeout the environment is killed, as on AWS."""
        if self.process is not None:
            self.process.kill()
        self._reap(1.0)
        self.exit_code = None  # our own kill, not the function's crash
        timeout = float(self.revision.timeout)
        request_id = invocation.request_id
        self._output.add(formats.timeout_log_line(self.host.clock.now(), request_id, timeout))
        self._finish(request_id, elapsed, self.memory_mb, init_ms, "timeout")
        payload = json.dumps(formats.timeout_payload(request_id, timeout)).encode()
        return Outcome(payload, "Unhandled", self._output.excerpt(), reusable=False)

    def _crashed(self, invocation: Invocation, init_ms: float | None, elapsed: float) -> Outcome:
        """The process ended during the invocation (``os._exit``, a segfault, ``sys.exit``)."""
        self._reap()
        request_id = invocation.request_id
        self._output.add(formats.exit_log_line(request_id, self.exit_code))
        self._finish(request_id, elapsed, self.memory_mb, init_ms, "error", "Runtime.ExitError")
        payload = json.dumps(formats.exit_payload(request_id, self.exit_code)).encode()
        return Outcome(payload, "Unhandled", self._output.excerpt(), reusable=False)

    def _report_init_error(self, invocation: Invocation, init_ms: float) -> Outcome:
        error = dict(self.init_error or {})
        request_id = invocation.request_id
        if error.get("errorType") == "Sandbox.Timedout":
            payload = formats.timeout_payload(request_id, INIT_LIMIT)
        elif "exit_code" in error:
            payload = formats.exit_payload(request_id, error["exit_code"])
        else:
            payload = error
        error_type = payload.get("errorType") or "Runtime.Unknown"
        self._output.add(formats.init_report_line(init_ms, error_type))
        self._output.add(formats.start_line(request_id, self.revision.version))
        self._finish(request_id, 0.0, 1, None, "error", error_type)
        body = json.dumps(payload).encode()
        return Outcome(body, "Unhandled", self._output.excerpt(), reusable=False, cold=True)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
