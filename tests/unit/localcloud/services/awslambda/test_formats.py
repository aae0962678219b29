"""The lines Lambda writes around a function's output and the errors it reports, to the byte."""

from __future__ import annotations

import base64
import re

import pytest

from mysfits_lab.localcloud.services.awslambda import formats

REQUEST = "8f5b4d3c-2e1a-4b7c-9d0e-123456789abc"


def test_start_and_end_lines():
    assert formats.start_line(REQUEST, "$LATEST") == f"START RequestId: {REQUEST} Version: $LATEST"
    assert formats.start_line(REQUEST, "3") == f"START RequestId: {REQUEST} Version: 3"
    assert formats.end_line(REQUEST) == f"END RequestId: {REQUEST}"


def test_a_warm_report_line():
    line = formats.report_line(REQUEST, 12.3456, 128, 41)
    assert line == (
        f"REPORT RequestId: {REQUEST}\tDuration: 12.35 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 41 MB\t"
    )


def test_a_cold_report_line_bills_its_init_phase():
    line = formats.report_line(REQUEST, 2.5, 256, 60, init_ms=180.25)
    assert "\tBilled Duration: 183 ms\t" in line
    assert line.endswith("\tMax Memory Used: 60 MB\tInit Duration: 180.25 ms\t")


@pytest.mark.parametrize(
    ("duration", "init", "billed"),
    [(0.01, None, 1), (1.0, None, 1), (1.001, None, 2), (999.9, None, 1000), (1.5, 0.6, 3)],
)
def test_billed_duration_rounds_up_to_the_millisecond(duration, init, billed):
    assert formats.billed_ms(duration, init) == billed


def test_report_lines_of_failed_invocations():
    timed_out = formats.report_line(REQUEST, 1000.0, 128, 50, status="timeout")
    assert timed_out.endswith("Max Memory Used: 50 MB\tStatus: timeout\t")
    crashed = formats.report_line(
        REQUEST, 3.0, 128, 50, status="error", error_type="Runtime.ExitError"
    )
    assert crashed.endswith("\tStatus: error\tError Type: Runtime.ExitError\t")
    assert formats.init_report_line(12.345, "Runtime.ImportModuleError") == (
        "INIT_REPORT Init Duration: 12.35 ms\tPhase: init\tStatus: error\t"
        "Error Type: Runtime.ImportModuleError"
    )


def test_stream_names_are_per_day_version_and_worker():
    name = formats.stream_name("$LATEST", 1796153958.5)
    assert re.fullmatch(r"2026/12/01/\[\$LATEST\][0-9a-f]{32}", name)
    assert formats.stream_name("7", 0.0, "ab" * 16) == "1970/01/01/[7]" + "ab" * 16
    assert formats.stream_name("$LATEST", 0.0) != formats.stream_name("$LATEST", 0.0)


def test_timestamps_are_utc_with_milliseconds():
    assert formats.timestamp(1796153958.0421) == "2026-12-01T19:39:18.042Z"


def test_a_timeout_as_aws_reports_it():
    assert formats.timeout_payload(REQUEST, 3) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {REQUEST} Error: Task timed out after 3.00 seconds",
    }
    assert formats.timeout_log_line(1796153958.0421, REQUEST, 1) == (
        f"2026-12-01T19:39:18.042Z {REQUEST} Task timed out after 1.00 seconds"
    )


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (1, "Runtime exited with error: exit status 1"),
        (0, "Runtime exited with error: exit status 0"),
        (139, "Runtime exited with error: signal: segmentation fault"),
        (137, "Runtime exited with error: signal: killed"),
        (134, "Runtime exited with error: signal: aborted"),
        (None, "Runtime exited without providing a reason"),
    ],
)
def test_how_a_runtime_ended(code, description):
    assert formats.exit_description(code) == description


def test_a_crash_as_aws_reports_it():
    assert formats.exit_payload(REQUEST, 1) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {REQUEST} Error: Runtime exited with error: exit status 1",
    }
    assert formats.exit_log_line(REQUEST, 1) == (
        f"RequestId: {REQUEST} Error: Runtime exited with error: exit status 1\nRuntime.ExitError"
    )


def test_an_oversized_response():
    assert formats.too_large_payload() == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_the_tail_is_the_base64_of_the_last_4_kb():
    lines = [f"line {i:05d} " + "x" * 90 for i in range(200)]
    decoded = base64.b64decode(formats.tail(lines))
    assert len(decoded) == 4096
    assert decoded.endswith(lines[-1].encode() + b"\n")
    assert b"line 00000" not in decoded


def test_a_short_log_is_kept_whole():
    assert base64.b64decode(formats.tail(["START", "END"])) == b"START\nEND\n"


def test_the_tail_never_starts_inside_a_character():
    lines = ["é" * 3000]  # 6000 bytes of two-byte characters, then a newline
    decoded = base64.b64decode(formats.tail(lines, limit=4096))
    assert len(decoded) <= 4096
    assert decoded.decode("utf-8") == "é" * ((len(decoded) - 1) // 2) + "\n"
