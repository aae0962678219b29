"""One worker process, without the edge: real ``bootstrap.py`` processes started by the shared
launcher, their answers and the log lines around the function's own output."""

from __future__ import annotations

import base64
import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.core.environment import child_environment
from mysfits_lab.localcloud.core.processes import Launcher
from mysfits_lab.localcloud.services.awslambda.host import WorkerHost, environment_for
from mysfits_lab.localcloud.services.awslambda.models import Revision, revision_from
from mysfits_lab.localcloud.services.awslambda.worker import Invocation, Worker
from tests.helpers import assert_dead, wait_for

APP = """
import os
import sys
import threading
import time

print("loading")
LATER = []


def handler(event, context):
    action = event.get("action")
    if action == "raise":
        raise ValueError("bad mysfit")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(3)
    if action == "chatty":
        for i in range(200):
            print(f"chatter {i:03d} " + "x" * 60)
    if action == "partial":
        print("no newline at the end", end="")
    if action == "stderr":
        print("to stderr", file=sys.stderr)
    if action == "trace":
        return os.environ.get("_X_AMZN_TRACE_ID")
    if action == "later":  # what a thread of this invocation sees once the handler returned
        threading.Timer(0.2, lambda: LATER.append(os.environ.get("_X_AMZN_TRACE_ID"))).start()
    if action == "recall":
        return LATER
    return {"pid": os.getpid(), "event": event, "left": context.get_remaining_time_in_millis()}
"""


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, message: str) -> None:
        with self._lock:
            self.lines.append(message)


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    started = Launcher()
    yield started
    started.shutdown()


@pytest.fixture
def sockets() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="lw-"))  # AF_UNIX paths must stay short
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def host(launcher: Launcher, sockets: Path, sink: Sink) -> WorkerHost:
    def environment(revision: Revision, stream: str) -> dict[str, str]:
        def child(region: str, **options) -> dict[str, str]:
            return child_environment("http://127.0.0.1:9", region, **options)

        return environment_for(revision, stream, child, "/nowhere")

    return WorkerHost(
        launcher=launcher,
        clock=Clock(timeout_scale=0.3),  # a 1 s timeout lasts 0.3 s
        socket_dir=sockets,
        environment=environment,
        open_log=lambda revision, stream: sink,
        paths=lambda revision: [str(revision.code_dir)],
    )


def _revision(tmp_path: Path, handler: str = "app.handler", source: str = APP) -> Revision:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "app.py").write_text(source)
    config = {
        "FunctionName": "unit",
        "Runtime": "python3.12",
        "Handler": handler,
        "Timeout": 1,
        "MemorySize": 256,
    }
    return revision_from(config, "us-east-1", code, (), None)


def _call(worker: Worker, event: dict) -> tuple[str, object]:
    request_id = str(uuid.uuid4())
    invocation = Invocation(request_id, json.dumps(event).encode(), "arn:unit")
    return request_id, worker.invoke(invocation)


def _report(lines: list[str], request_id: str) -> str:
    return next(line for line in lines if line.startswith(f"REPORT RequestId: {request_id}"))


def test_an_invocation_and_its_log_lines(host, sink, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    try:
        first_id, first = _call(worker, {"n": 1})
        second_id, second = _call(worker, {"action": "partial"})
    finally:
        worker.stop()

    body = json.loads(first.payload)
    assert body["event"] == {"n": 1} and 0 < body["left"] <= 300
    assert first.function_error is None and first.reusable and first.cold
    assert not second.cold and json.loads(second.payload)["pid"] == body["pid"]
    wait_for(
        lambda: any(line.startswith(f"REPORT RequestId: {second_id}") for line in sink.lines),
        "the second REPORT",
    )
    lines = sink.lines
    start = lines.index(f"START RequestId: {first_id} Version: $LATEST")
    assert lines[:start] == ["loading"]
    assert lines[start + 1] == f"END RequestId: {first_id}"
    assert re.fullmatch(
        rf"REPORT RequestId: {first_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t",
        _report(lines, first_id),
    )
    assert "Init Duration" not in _report(lines, second_id)
    partial = lines.index("no newline at the end")
    assert lines[partial - 1] == f"START RequestId: {second_id} Version: $LATEST"
    assert lines[partial + 1] == f"END RequestId: {second_id}"


def test_the_handler_s_exception_is_logged_and_returned(host, sink, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    try:
        request_id, outcome = _call(worker, {"action": "raise"})
        assert outcome.reusable and worker.alive
    finally:
        worker.stop()
    body = json.loads(outcome.payload)
    assert outcome.function_error == "Unhandled"
    assert (body["errorType"], body["errorMessage"], body["requestId"]) == (
        "ValueError",
        "bad mysfit",
        request_id,
    )
    logged = next(line for line in outcome.log_lines if line.startswith("[ERROR]"))
    assert logged.startswith("[ERROR] ValueError: bad mysfit\rTraceback (most recent call last):\r")
    assert "Status:" not in _report(outcome.log_lines, request_id)


def test_past_its_timeout_the_worker_is_killed(host, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    started = time.monotonic()
    request_id, outcome = _call(worker, {"action": "sleep", "seconds": 5})
    assert time.monotonic() - started < 1.5
    assert outcome.function_error == "Unhandled" and not outcome.reusable
    assert json.loads(outcome.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert any(
        line.endswith(f"{request_id} Task timed out after 1.00 seconds")
        for line in outcome.log_lines
    )
    assert _report(outcome.log_lines, request_id).endswith("\tStatus: timeout\t")
    assert not worker.alive
    assert_dead(worker.pid)


def test_a_crash_ends_the_worker(host, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    request_id, outcome = _call(worker, {"action": "exit"})
    assert not outcome.reusable and not worker.alive
    assert json.loads(outcome.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
    }
    logged = f"RequestId: {request_id} Error: Runtime exited with error: exit status 3"
    assert f"{logged}\nRuntime.ExitError" in outcome.log_lines
    assert _report(outcome.log_lines, request_id).endswith(
        "\tStatus: error\tError Type: Runtime.ExitError\t"
    )


def test_an_import_error_is_reported_on_the_first_invocation(host, tmp_path):
    worker = Worker(host, _revision(tmp_path, handler="absent.handler")).start()
    request_id, outcome = _call(worker, {})
    assert not outcome.reusable and outcome.cold
    assert json.loads(outcome.payload) == {
        "errorMessage": "Unable to import module 'absent': No module named 'absent'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    lines = outcome.log_lines
    assert lines[0] == (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'absent': No module named "
        "'absent'\rTraceback (most recent call last):"
    )
    assert lines[1].startswith("INIT_REPORT Init Duration: ")
    assert lines[1].endswith("\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
    assert lines[2] == f"START RequestId: {request_id} Version: $LATEST"


def test_a_chatty_invocation_s_tail_is_its_last_4_kb(host, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    try:
        _call(worker, {})
        request_id, outcome = _call(worker, {"action": "chatty"})
    finally:
        worker.stop()
    tail = base64.b64decode(outcome.tail())
    assert len(tail) == 4096
    assert tail.decode().splitlines()[-1] == _report(outcome.log_lines, request_id)
    assert b"chatter 199" in tail and b"chatter 000" not in tail


def test_stderr_is_part_of_the_log_and_stop_ends_the_process(host, sink, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    _, outcome = _call(worker, {"action": "stderr"})
    assert "to stderr" in outcome.log_lines
    pid = worker.pid
    worker.stop()
    assert_dead(pid)


def test_a_traced_invocation_sees_its_trace_id_and_the_next_one_does_not(host, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    trace = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
    try:
        event = json.dumps({"action": "trace"}).encode()
        traced = worker.invoke(Invocation("r-1", event, "arn:unit", trace_id=trace))
        untraced = worker.invoke(Invocation("r-2", event, "arn:unit"))
    finally:
        worker.stop()
    assert json.loads(traced.payload) == trace
    assert json.loads(untraced.payload) is None


def test_the_trace_header_holds_for_its_invocation_only(host, tmp_path):
    worker = Worker(host, _revision(tmp_path)).start()
    trace = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
    try:
        later = json.dumps({"action": "later"}).encode()
        worker.invoke(Invocation("r-1", later, "arn:unit", trace_id=trace))
        time.sleep(0.5)  # the invocation's thread looks after the handler returned
        _, recalled = _call(worker, {"action": "recall"})
    finally:
        worker.stop()
    assert json.loads(recalled.payload) == [None]


def test_an_outcome_says_when_the_handler_ran_and_how_long_the_cold_start_took(host, tmp_path):
    before = time.time()
    worker = Worker(host, _revision(tmp_path)).start()
    try:
        _, cold = _call(worker, {})
        _, warm = _call(worker, {"action": "sleep", "seconds": 0.1})
        _, timed_out = _call(worker, {"action": "sleep", "seconds": 5})
    finally:
        worker.stop()
    began, ready = cold.init_span
    assert before <= began < ready <= cold.started <= cold.ended <= warm.started
    assert cold.cold and not warm.cold and warm.init_span is None
    assert warm.ended - warm.started >= 0.1
    # Killed at its scaled timeout (0.3 s), not when the process was reaped.
    assert 0.25 <= timed_out.ended - timed_out.started < 1.0
    assert timed_out.function_error == "Unhandled"


def test_the_x_ray_variables_the_runtime_defines_next_to_the_daemon(tmp_path):
    revision = _revision(tmp_path)

    def child(region: str, **options) -> dict[str, str]:
        extra = {"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2345", **options.pop("extra")}
        return child_environment("http://127.0.0.1:9", region, extra=extra, **options)

    env = environment_for(revision, "stream", child, "/nowhere")
    assert env["_AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1"
    assert env["_AWS_XRAY_DAEMON_PORT"] == "2345"
    assert env["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"

    def without(region: str, **options) -> dict[str, str]:
        return child_environment("http://127.0.0.1:9", region, **options)

    plain = environment_for(revision, "stream", without, "/nowhere")
    assert not {"_AWS_XRAY_DAEMON_ADDRESS", "AWS_XRAY_CONTEXT_MISSING"} & set(plain)
