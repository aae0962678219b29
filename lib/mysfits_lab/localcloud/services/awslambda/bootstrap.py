"""The runtime of a Python function on the local cloud, and the framing the cloud speaks to it.

Run by the cloud as ``python -I -S -u bootstrap.py <socket>``: standard library only, so the
function imports what it would import on AWS (its code, its layers, the AWS SDK) and nothing of
the cloud's. It imports the handler once, then runs invocations one at a time, as the AWS Python
runtime does: same context object, same error payloads, same log format.

The protocol runs on a Unix socket, so whatever the function prints (stdout and stderr are its
log) cannot corrupt it; its messages are framed as ``framing.py`` describes:

    cloud  -> worker  {"type": "init", "paths": [...], "marker": m}
    worker -> cloud   {"type": "ready", "init_ms": t}  or  {"type": "init_error", ...}
    cloud  -> worker  {"type": "invoke", "id", "deadline_ms", "arn", "client_context",
                       "trace_id"} + event
    worker -> cloud   {"type": "result", "id", "ok", "duration_ms", "memory_mb"} + payload

After its initialization and after each invocation, once its output is flushed, the worker
prints the marker and the request id on a line of their own: the cloud then knows it has read
every line the handler printed before it writes END and REPORT.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback
from typing import Any

if __package__:  # imported by the cloud, or by its tests
    from .framing import receive_message, send_message
else:  # run as a script: in isolated mode its own folder is not on sys.path
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_lambda_runtime_framing", os.path.join(os.path.dirname(__file__), "framing.py")
    )
    assert _spec is not None and _spec.loader is not None
    _framing = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_framing)
    receive_message, send_message = _framing.receive_message, _framing.send_message

MAX_RESPONSE = 6291556  # bytes; past it AWS answers Function.ResponseSizeTooLarge
MAX_LINE = 256 * 1024  # CloudWatch's largest event: longer output lines are cut
TRACE_VARIABLE = "_X_AMZN_TRACE_ID"
_ERROR_INDENT = "\u00a0"  # the runtime indents its error traces with no-break spaces


# -- the handler ------------------------------------------------------------------------------
class Fault(Exception):
    """An error of the runtime itself, reported with its ``Runtime.*`` type."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace


def resolve_handler(handler: str) -> Any:
    """``module.function``, ``package/module.function`` or ``package.module.function``."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None


def make_error(
    message: str, error_type: str, trace: list[str] | None, request_id: str | None = None
) -> dict[str, Any]:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": trace or [],
    }


def error_from_exception(exc: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """A handler's exception as the runtime reports it: the frames of the runtime itself are
    left out of ``stackTrace``."""
    frames = traceback.extract_tb(exc.__traceback__)
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def error_log_line(error: dict[str, Any]) -> str:
    """``[ERROR] Type: message`` and its traceback, one log event (lines joined with \\r)."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [description]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            for line in element.splitlines() or [""]:
                stripped = line.lstrip(" ")
                lines.append(_ERROR_INDENT * (len(line) - len(stripped)) + stripped)
    return "\r".join(lines)


def encode_result(result: Any) -> bytes:
    """The handler's return value as the runtime sends it: bytes as they are, anything else
    as JSON (Decimal numbers included, as DynamoDB returns them)."""
    if isinstance(result, bytes):
        return result
    # The python3.12 runtime alone writes non-ASCII characters unescaped.
    ascii_only = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"
    try:
        return json.dumps(result, default=_decimal, ensure_ascii=ascii_only).encode()
    except (TypeError, ValueError) as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _decimal(value: Any) -> Any:
    if type(value).__name__ == "Decimal":
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# -- the context object -----------------------------------------------------------------------
class _Record:
    def __init__(self, fields: tuple[str, ...], values: dict[str, Any]):
        for name in fields:
            setattr(self, name, values.get(name))


class LambdaContext:
    """What the AWS Python runtime passes as ``context``."""

    def __init__(self, request: dict[str, Any]):
        self.aws_request_id = request["id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = request.get("arn")
        self.tenant_id = None
        self._deadline_ms = int(request["deadline_ms"])
        client = request.get("client_context")
        self.client_context = None
        if isinstance(client, dict):
            self.client_context = _Record(("custom", "env", "client"), client)
            if isinstance(client.get("client"), dict):
                self.client_context.client = _Record(  # type: ignore[attr-defined]
                    (
                        "installation_id",
                        "app_title",
                        "app_version_name",
                        "app_version_code",
                        "app_package_name",
                    ),
                    client["client"],
                )
        self.identity = _Record(("cognito_identity_id", "cognito_identity_pool_id"), {})

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: Any) -> None:
        sys.stdout.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


# -- output -----------------------------------------------------------------------------------
class _Lines:
    """stdout or stderr of the function: lines longer than a log event are cut, and the
    worker knows whether the last one ended, so its markers start on a line of their own."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.column = 0

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if "\n" not in text and self.column + len(text) <= MAX_LINE:
            self._stream.write(text)
            self.column += len(text)
            return len(text)
        out = []
        for index, piece in enumerate(text.split("\n")):
            if index:
                out.append("\n")
                self.column = 0
            while self.column + len(piece) > MAX_LINE:
                cut = MAX_LINE - self.column
                out.append(piece[:cut] + "\n")
                piece, self.column = piece[cut:], 0
            out.append(piece)
            self.column += len(piece)
        self._stream.write("".join(out))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _RequestFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _LogHandler(logging.Handler):
    """The runtime's text log format; a multi-line record stays one log event."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record).rstrip("\n").replace("\n", "\r")
            sys.stdout.write(text + "\n")
        except Exception:
            self.handleError(record)


def _setup_logging() -> _RequestFilter:
    logging.Formatter.converter = time.gmtime
    handler = _LogHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    request_filter = _RequestFilter()
    handler.addFilter(request_filter)
    logging.getLogger().addHandler(handler)
    return request_filter


def _max_memory_mb() -> int:
    try:
        import resource

        return max(1, -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
    except (ImportError, OSError):
        return 1


class Worker:
    def __init__(self, sock: socket.socket, marker: str):
        self.sock = sock
        self.marker = marker
        self.stdout = sys.stdout = _Lines(sys.stdout)
        self.stderr = sys.stderr = _Lines(sys.stderr)
        self.requests = _setup_logging()
        self.handler: Any = None

    def mark(self, ident: str) -> None:
        """Flush, then print the marker line (see the module docstring)."""
        for stream in (self.stdout, self.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        prefix = "" if self.stdout.column == 0 and self.stderr.column == 0 else "\n"
        self.stdout.column = self.stderr.column = 0
        os.write(1, f"{prefix}{self.marker}{ident}\n".encode())

    def initialize(self) -> None:
        started = time.perf_counter()
        try:
            self.handler = resolve_handler(os.environ.get("_HANDLER", ""))
        except Exception as exc:
            if isinstance(exc, Fault):
                error = make_error(exc.message, exc.error_type, exc.trace)
            else:  # the module raised while it was imported
                error = error_from_exception(exc)
            print(error_log_line(error))
            self.mark("init")
            init_ms = (time.perf_counter() - started) * 1000
            send_message(self.sock, {"type": "init_error", "init_ms": init_ms, "error": error})
            raise SystemExit(1) from None  # the AWS runtime exits after an init error too
        self.mark("init")
        init_ms = (time.perf_counter() - started) * 1000
        send_message(self.sock, {"type": "ready", "init_ms": init_ms})

    def invoke(self, request: dict[str, Any], event: bytes) -> None:
        request_id = request["id"]
        self.requests.request_id = request_id
        # The X-Ray trace of this invocation, as the runtime sets it: the SDK reads it anew on
        # every subsegment, and it holds for this invocation only.
        if request.get("trace_id"):
            os.environ[TRACE_VARIABLE] = request["trace_id"]
        else:
            os.environ.pop(TRACE_VARIABLE, None)
        started = time.perf_counter()
        error = None
        try:
            context = LambdaContext(request)
            try:
                payload = json.loads(event) if event.strip() else {}
            except ValueError as exc:
                raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
            body = encode_result(self.handler(payload, context))
            if len(body) > MAX_RESPONSE:
                error = {
                    "errorMessage": "Response payload size exceeded maximum allowed payload "
                    f"size ({MAX_RESPONSE} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
        except Fault as fault:
            error = make_error(fault.message, fault.error_type, fault.trace, request_id)
        except Exception as exc:
            error = error_from_exception(exc, request_id)
        finally:
            os.environ.pop(TRACE_VARIABLE, None)
        duration_ms = (time.perf_counter() - started) * 1000
        if error is not None:
            if "requestId" in error:  # the runtime logs the errors it reports itself
                print(error_log_line(error))
            body = json.dumps(error).encode()
        self.mark(request_id)
        send_message(
            self.sock,
            {
                "type": "result",
                "id": request_id,
                "ok": error is None,
                "duration_ms": duration_ms,
                "memory_mb": _max_memory_mb(),
            },
            body,
        )

    def serve(self) -> int:
        while True:
            try:
                request, event = receive_message(self.sock, 1 << 30)
            except EOFError:
                return 0  # the cloud let this worker go
            if request.get("type") == "invoke":
                self.invoke(request, event)


def main(argv: list[str]) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(argv[1])
    sys.argv = [__file__]
    init, _ = receive_message(sock, 0)
    sys.path[:0] = [p for p in init.get("paths", []) if p not in sys.path]
    worker = Worker(sock, init["marker"])
    worker.initialize()
    return worker.serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
