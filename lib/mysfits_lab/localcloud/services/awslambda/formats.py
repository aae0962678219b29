"""What Lambda writes around a function's own output, and the errors it reports for it, in
AWS's words: the platform log lines (START, END, REPORT, INIT_REPORT), the log stream names,
the payloads of timeouts, crashes and oversized responses, and the ``LogType=Tail`` excerpt.
Pure functions; no I/O.
"""

from __future__ import annotations

import base64
import math
import secrets
import signal
import time
from collections.abc import Iterable
from typing import Any

MAX_RESPONSE = 6291556  # bytes of a synchronous response, the figure in AWS's message
TAIL_BYTES = 4096  # LogType=Tail: "the last 4 KB of the execution log"

# How the Lambda service (written in Go) names the signal that ended a runtime.
_SIGNAL_NAMES = {
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGTERM: "terminated",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGPIPE: "broken pipe",
}


def timestamp(epoch: float) -> str:
    """``2026-12-01T19:29:19.123Z``, as the runtime stamps its log lines."""
    whole = time.gmtime(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{int(epoch * 1000) % 1000:03d}Z"


def stream_name(version: str, epoch: float, token: str | None = None) -> str:
    """``2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef``: one stream per worker."""
    day = time.strftime("%Y/%m/%d", time.gmtime(epoch))
    return f"{day}/[{version}]{token or secrets.token_hex(16)}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """Whole milliseconds, rounded up; since August 2025 a cold start also bills its INIT
    phase for .zip functions on managed runtimes."""
    return max(1, math.ceil(duration_ms + (init_ms or 0.0)))


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms, init_ms)} ms",
        f"Memory Size: {memory_size} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields) + "\t"


def init_report_line(init_ms: float, error_type: str) -> str:
    """Written when a function's initialization failed (an import error, a crash)."""
    return (
        f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: error\t"
        f"Error Type: {error_type}"
    )


def timeout_payload(request_id: str, timeout_s: float) -> dict[str, str]:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} "
        "seconds",
    }


def timeout_log_line(epoch: float, request_id: str, timeout_s: float) -> str:
    return f"{timestamp(epoch)} {request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_description(code: int | None) -> str:
    """A runtime's end as Lambda describes it: ``exit status 1``, ``signal: killed``. The
    process launcher reports a signal as 128 + its number, as Docker does."""
    if code is None:
        return "Runtime exited without providing a reason"
    if 128 < code < 128 + 65:
        number = code - 128
        try:
            name = _SIGNAL_NAMES.get(signal.Signals(number)) or signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {code}"


def exit_payload(request_id: str, code: int | None) -> dict[str, str]:
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {exit_description(code)}",
    }


def exit_log_line(request_id: str, code: int | None) -> str:
    return f"RequestId: {request_id} Error: {exit_description(code)}\nRuntime.ExitError"


def too_large_payload() -> dict[str, str]:
    return {
        "errorMessage": f"Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def tail(lines: Iterable[str], limit: int = TAIL_BYTES) -> str:
    """``X-Amz-Log-Result``: base64 of the last ``limit`` bytes of an invocation's log (cut on
    a character boundary)."""
    text = "".join(f"{line}\n" for line in lines).encode()
    if len(text) > limit:
        text = text[-limit:]
        while text and (text[0] & 0xC0) == 0x80:  # a UTF-8 continuation byte
            text = text[1:]
    return base64.b64encode(text).decode()


def error_type_of(payload: Any) -> str | None:
    return payload.get("errorType") if isinstance(payload, dict) else None
