"""The worker's runtime: the framed protocol, handler resolution, and the error shapes and
log format of the AWS Python runtime."""

from __future__ import annotations

import decimal
import io
import json
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

from mysfits_lab.localcloud.services.awslambda import bootstrap
from mysfits_lab.localcloud.services.awslambda.bootstrap import (
    Fault,
    LambdaContext,
    encode_result,
    error_from_exception,
    error_log_line,
    resolve_handler,
)
from mysfits_lab.localcloud.services.awslambda.framing import (
    ProtocolError,
    receive_message,
    send_message,
)


@pytest.fixture
def pair():
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


# -- framing ----------------------------------------------------------------------------------
def test_a_message_is_a_header_and_a_raw_body(pair):
    left, right = pair
    send_message(left, {"type": "invoke", "id": "r-1"}, b'{"a": "\xc3\xa9"}')
    send_message(left, {"type": "ready"})
    assert receive_message(right, 100) == ({"type": "invoke", "id": "r-1"}, b'{"a": "\xc3\xa9"}')
    assert receive_message(right, 100) == ({"type": "ready"}, b"")


def test_the_wire_format_is_two_lengths_then_json_then_the_body(pair):
    left, right = pair
    send_message(left, {"k": 1}, b"body")
    raw = right.recv(100)
    assert raw == struct.pack(">II", 7, 4) + b'{"k":1}' + b"body"


def test_a_large_body_arrives_whole(pair):
    left, right = pair
    body = bytes(range(256)) * 40_000  # ~10 MB, more than one socket buffer
    sender = threading.Thread(target=send_message, args=(left, {"n": 1}, body))
    sender.start()
    header, received = receive_message(right, len(body))
    sender.join()
    assert header == {"n": 1} and received == body


def test_a_body_larger_than_allowed_is_refused(pair):
    left, right = pair
    send_message(left, {"n": 1}, b"x" * 101)
    with pytest.raises(ProtocolError, match="too large"):
        receive_message(right, 100)


def test_a_header_that_is_not_a_json_object_is_refused(pair):
    left, right = pair
    left.sendall(struct.pack(">II", 3, 0) + b"[1]")
    with pytest.raises(ProtocolError):
        receive_message(right, 100)
    left.sendall(struct.pack(">II", 3, 0) + b"{x}")
    with pytest.raises(ProtocolError):
        receive_message(right, 100)


def test_a_closed_peer_and_a_cut_message(pair):
    left, right = pair
    left.sendall(struct.pack(">II", 10, 0) + b'{"a"')
    left.close()
    with pytest.raises(EOFError, match="after 4 of 10"):
        receive_message(right, 100)
    with pytest.raises(EOFError):
        receive_message(right, 100)


def test_no_answer_before_the_deadline(pair):
    _, right = pair
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        receive_message(right, 100, deadline=time.monotonic() + 0.2)
    assert 0.15 < time.monotonic() - started < 1.0


# -- handlers ---------------------------------------------------------------------------------
@pytest.fixture
def code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A function's code folder on sys.path, its modules forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_handler_forms_aws_allows(code: Path):
    (code / "lambda_function.py").write_text("def handler(e, c):\n    return 'top'\n")
    (code / "tier").mkdir()
    (code / "tier" / "__init__.py").write_text("")
    (code / "tier" / "api.py").write_text("def get(e, c):\n    return 'nested'\n")
    assert resolve_handler("lambda_function.handler")(None, None) == "top"
    assert resolve_handler("tier/api.get")(None, None) == "nested"
    assert resolve_handler("tier.api.get")(None, None) == "nested"


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "nowhere.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'nowhere': No module named 'nowhere'",
        ),
        (
            "present.missing",
            "Runtime.HandlerNotFound",
            "Handler 'missing' missing on module 'present'",
        ),
        (
            "handler",
            "Runtime.MalformedHandlerName",
            "Bad handler 'handler': not enough values to unpack (expected 2, got 1)",
        ),
        (
            "sys.exit",
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module sys as a handler module",
        ),
    ],
)
def test_handler_errors(code: Path, handler: str, error_type: str, message: str):
    (code / "present.py").write_text("def handler(e, c):\n    return 1\n")
    with pytest.raises(Fault) as raised:
        resolve_handler(handler)
    assert (raised.value.error_type, raised.value.message) == (error_type, message)


def test_a_syntax_error_in_the_handler_module(code: Path):
    (code / "broken.py").write_text("def handler(e, c)\n    return 1\n")
    with pytest.raises(Fault) as raised:
        resolve_handler("broken.handler")
    assert raised.value.error_type == "Runtime.UserCodeSyntaxError"
    assert raised.value.message.startswith("Syntax error in module 'broken': ")
    assert raised.value.trace[0].startswith(f'  File "{code / "broken.py"}" Line 1\n')


def test_an_exception_as_the_runtime_reports_it(code: Path):
    (code / "failing.py").write_text(
        "def handler(e, c):\n    inner()\n\ndef inner():\n    raise KeyError('mysfit')\n"
    )
    handler = resolve_handler("failing.handler")
    try:
        handler({}, None)
    except KeyError as exc:
        error = error_from_exception(exc, "req-1")
    assert error["errorMessage"] == "'mysfit'"
    assert error["errorType"] == "KeyError"
    assert error["requestId"] == "req-1"
    frames = error["stackTrace"]
    assert [f.split(", in ")[1].split("\n")[0] for f in frames[-2:]] == ["handler", "inner"]
    assert frames[-1].endswith("    raise KeyError('mysfit')\n")


def test_the_error_log_line_is_one_event():
    error = {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "requestId": "r",
        "stackTrace": [
            '  File "/var/task/app.py", line 3, in handler\n    raise ValueError("boom")\n'
        ],
    }
    assert error_log_line(error) == (
        "[ERROR] ValueError: boom\rTraceback (most recent call last):\r"
        '\u00a0\u00a0File "/var/task/app.py", line 3, in handler\r'
        '\u00a0\u00a0\u00a0\u00a0raise ValueError("boom")'
    )
    assert "\n" not in error_log_line(error)


def test_results_are_encoded_as_the_runtime_does(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.13")
    assert encode_result(b"\x00raw") == b"\x00raw"
    assert json.loads(encode_result({"n": decimal.Decimal("3"), "x": decimal.Decimal("1.5")})) == {
        "n": 3,
        "x": 1.5,
    }
    assert encode_result("é") == b'"\\u00e9"'
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    assert encode_result("é") == '"é"'.encode()
    with pytest.raises(Fault) as raised:
        encode_result({"when": object()})
    assert raised.value.error_type == "Runtime.MarshalError"
    assert raised.value.message == (
        "Unable to marshal response: Object of type object is not JSON serializable"
    )


def test_the_context_object(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mysfits")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    deadline = int(time.time() * 1000) + 3000
    context = LambdaContext(
        {
            "id": "r-9",
            "deadline_ms": deadline,
            "arn": "arn:aws:lambda:us-east-1:123456789012:function:mysfits:live",
            "client_context": {"custom": {"k": "v"}, "client": {"app_title": "site"}},
        }
    )
    assert (context.aws_request_id, context.function_name) == ("r-9", "mysfits")
    assert context.memory_limit_in_mb == "256"  # a string, as on AWS
    assert context.invoked_function_arn.endswith(":mysfits:live")
    assert context.client_context.custom == {"k": "v"}
    assert context.client_context.client.app_title == "site"
    assert context.identity.cognito_identity_id is None
    assert 2500 < context.get_remaining_time_in_millis() <= 3000
    assert LambdaContext({"id": "x", "deadline_ms": 0}).get_remaining_time_in_millis() == 0


def test_output_lines_longer_than_a_log_event_are_cut(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bootstrap, "MAX_LINE", 10)
    out = io.StringIO()
    lines = bootstrap._Lines(out)
    lines.write("abc")
    assert lines.column == 3
    lines.write("defghijklmnop\nq")
    assert out.getvalue() == "abcdefghij\nklmnop\nq"
    assert lines.column == 1
    lines.write("\n")
    assert lines.column == 0
