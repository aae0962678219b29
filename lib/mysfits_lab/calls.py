"""What a cell sent to AWS: every API call made through a lab's boto3 session, recorded from
botocore's own event hooks, listed under the notebook cell that made it and replayable as AWS CLI
commands.

The hooks sit on the session's event emitter. A client copies that emitter when it is created,
so every client created from the session after ``attach`` is covered; both targets go through
the same hooks, so the record is the same on the local cloud and on AWS.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, overload

import boto3
from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from . import show

LONG_STRING = 2000  # characters: longer strings (templates, documents) are shown as their size
MAX_ITEMS = 20  # list items and map entries kept before "<N more>"
MAX_RECORDS = 5000  # waiters poll, so a long session makes many calls: keep the latest ones
BRIEF_WIDTH = 80  # characters of parameters in a compact row
BRIEF_VALUE = 32  # characters of each value there
SHOW_ENV = "MYSFITS_LAB_SHOW_CALLS"  # "1" or "0": show each cell's calls, or not, anywhere
_CONTEXT_KEY = "mysfits_lab.call"

_SECRET_NAME = re.compile(
    r"pass(word|phrase)|secret|private_?key|token|credential|authoriz|api_?key", re.I
)
# Names that match but hold no secret: pagination and idempotency tokens, ids, settings.
_NOT_SECRET_NAME = re.compile(
    r"^(Next|Continuation|NextContinuation|Client|ClientRequest|Idempotency|Pagination|Starting)"
    r"Token$|(Id|Ids|Arn|Arns|ARN|Name|Names|Validity|Units|Type)$"
)
# Name/value pairs (container environment, build variables, stack parameters, tags): the name
# says whether the value is a secret.
_PAIRS = (
    ("name", "value"),
    ("Name", "Value"),
    ("ParameterKey", "ParameterValue"),
    ("Key", "Value"),
)
# AWS CLI commands are botocore's service names, but for the low-level S3 API.
_CLI_SERVICE = {"s3": "s3api"}


class Elided(str):
    """What stands in a record for a value left out: a secret, a body, the rest of a list."""


SECRET = Elided("<secret>")


# -- parameters -------------------------------------------------------------------------------
def clean_params(params: Mapping[str, Any], shape: Shape | None) -> dict[str, Any]:
    """The caller's parameters as a learner may see them: secrets and bodies elided, long
    collections cut. Secrets are whatever botocore's model marks ``sensitive``, plus anything
    named like a password, token or secret key."""
    return _clean_mapping(params, shape)


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def _clean(value: Any, shape: Shape | None, name: str) -> Any:
    if shape is not None and shape.metadata.get("sensitive"):
        return SECRET
    # an enum value ("hours" for AccessToken validity units) is a setting, never a secret
    enum = shape.metadata.get("enum", ()) if shape is not None else ()
    if isinstance(value, str | bytes) and _secret_name(name) and value not in enum:
        return SECRET
    if isinstance(value, bytes | bytearray | memoryview):
        return Elided(f"<{memoryview(value).nbytes} bytes>")
    if isinstance(value, str):
        if len(value) > LONG_STRING or (shape is not None and shape.type_name == "blob"):
            return Elided(f"<{len(value.encode())} bytes>")
        return value
    if hasattr(value, "read"):
        return Elided(_stream_size(value))
    if isinstance(value, Mapping):
        return _clean_mapping(value, shape)
    if isinstance(value, list | tuple):
        member = shape.member if isinstance(shape, ListShape) else None
        cleaned = [_clean(item, member, name) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            cleaned.append(Elided(f"<{len(value) - MAX_ITEMS} more>"))
        return cleaned
    return value


def _clean_mapping(value: Mapping[str, Any], shape: Shape | None) -> dict[str, Any]:
    hidden = {
        value_key
        for name_key, value_key in _PAIRS
        if isinstance(value.get(name_key), str) and _secret_name(value[name_key])
    }
    # A structure's members are bounded by the model (and the CLI form needs them all).
    limit = None if isinstance(shape, StructureShape) else MAX_ITEMS
    cleaned: dict[str, Any] = {}
    for index, (key, item) in enumerate(value.items()):
        if index == limit:
            cleaned["…"] = Elided(f"<{len(value) - limit} more>")
            break
        if key in hidden:
            cleaned[key] = SECRET
        elif isinstance(shape, StructureShape):
            cleaned[key] = _clean(item, shape.members.get(key), key)
        else:
            cleaned[key] = _clean(item, shape.value if isinstance(shape, MapShape) else None, key)
    return cleaned


def _stream_size(stream: Any) -> str:
    """The bytes left in a file-like body, without consuming it."""
    try:
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
    except (OSError, ValueError, AttributeError):  # not seekable: the size is unknown
        return "<stream>"
    return f"<{end - here} bytes>"


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, indent=indent)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- one call ---------------------------------------------------------------------------------
@dataclass
class Call:
    """One API call: what was asked (secrets elided) and how AWS answered."""

    service: str  # botocore's service name: "s3", "ecs", "cognito-idp"
    operation: str  # the API's operation name: "PutBucketWebsite"
    params: dict[str, Any]
    endpoint_url: str | None = None  # the local cloud's edge; None on AWS
    started: float = field(default_factory=time.time)
    cell: int | None = None  # IPython execution count of the cell that made it
    status: int | None = None  # HTTP status
    error: str | None = None  # the error code (NoSuchBucket), or the exception for no answer
    seconds: float | None = None  # None until it is answered

    @property
    def outcome(self) -> str:
        if self.status is None:
            # an exception without a response (no connection), or invalid parameters
            return self.error or "no answer"
        return f"{self.status} {self.error}" if self.error else str(self.status)

    def _flat(self) -> list[tuple[str, str]]:
        return [(k, v if isinstance(v, str) else _json(v)) for k, v in self.params.items()]

    def brief(self) -> str:
        """``Bucket=b, WebsiteConfiguration={...}``, cut to a row; each value is cut first, so
        that a long bucket name leaves room for the key after it."""
        text = ", ".join(f"{k}={_cut(v, BRIEF_VALUE)}" for k, v in self._flat())
        return _cut(text, BRIEF_WIDTH)

    def is_cut(self) -> bool:
        """Whether ``brief`` leaves something out."""
        return self.brief() != ", ".join(f"{k}={v}" for k, v in self._flat())

    def cli(self) -> str:
        """The same call as an AWS CLI command (elided values stay placeholders)."""
        words = [
            "aws",
            _CLI_SERVICE.get(self.service, self.service),
            xform_name(self.operation, "-"),
        ]
        for name, value in self.params.items():
            option = "--" + xform_name(name, "-")
            if isinstance(value, bool):
                words.append(option if value else "--no-" + option[2:])
            elif (
                isinstance(value, list)
                and value
                and not any(isinstance(v, dict | list) for v in value)
            ):
                words += [option, *(shlex.quote(_cli_scalar(v)) for v in value)]
            elif isinstance(value, dict | list):
                words += [option, shlex.quote(_json(value))]
            else:
                words += [option, shlex.quote(_cli_scalar(value))]
        if self.endpoint_url:
            words += ["--endpoint-url", self.endpoint_url]
        return " ".join(words)


def _cli_scalar(value: Any) -> str:
    return _json_default(value) if not isinstance(value, bool) else str(value).lower()


# -- a list of calls --------------------------------------------------------------------------
class Commands(str):
    """AWS CLI commands, one a line, shown as such in a notebook."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self)}</pre>"


class CallList(Sequence[Call]):
    """Calls, shown as a compact collapsible table; consecutive identical calls (a waiter
    polling) share one row."""

    def __init__(self, calls: Sequence[Call]):
        self._calls = list(calls)

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> CallList: ...
    def __getitem__(self, index: int | slice) -> Call | CallList:
        if isinstance(index, slice):
            return CallList(self._calls[index])
        return self._calls[index]

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls))  # a copy: calls from other threads may arrive meanwhile

    def summary(self) -> str:
        count = len(self)
        total = sum(call.seconds or 0 for call in self)
        return f"{count} AWS call{'' if count == 1 else 's'} · {total:.2f} s"

    def _groups(self) -> list[tuple[Call, int, float]]:
        groups: list[tuple[Call, int, float]] = []
        for call in self:
            if groups:
                first, count, seconds = groups[-1]
                if (first.service, first.operation, first.params, first.outcome) == (
                    call.service,
                    call.operation,
                    call.params,
                    call.outcome,
                ):
                    groups[-1] = (first, count + 1, seconds + (call.seconds or 0))
                    continue
            groups.append((call, 1, call.seconds or 0))
        return groups

    def rows(self) -> list[dict[str, Any]]:
        with_cells = len({call.cell for call in self}) > 1
        rows = []
        for number, (call, count, seconds) in enumerate(self._groups(), start=1):
            row: dict[str, Any] = {"#": number}
            if with_cells:
                row["cell"] = "" if call.cell is None else f"[{call.cell}]"
            row |= {
                "service": call.service,
                "operation": call.operation + (f" ×{count}" if count > 1 else ""),
                "parameters": call.brief(),
                "status": call.outcome,
                "time": _seconds(seconds),
            }
            rows.append(row)
        return rows

    def cli(self) -> Commands:
        lines = []
        for call, count, _ in self._groups():
            lines.append(call.cli() + (f"  # ×{count}" if count > 1 else ""))
        return Commands("\n".join(lines))

    def text(self) -> str:
        return f"{self.summary()}\n{show.format_table(self.rows())}"

    def html(self, open_: bool = False) -> str:
        rows = self.rows()
        columns = list(rows[0]) if rows else []
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in columns)
        cell = "<td style='text-align:left;vertical-align:top'>{}</td>"
        body = "".join(
            "<tr>" + "".join(cell.format(self._cell_html(row, call, c)) for c in columns) + "</tr>"
            for row, (call, _, _) in zip(rows, self._groups(), strict=True)
        )
        return (
            f"<details{' open' if open_ else ''} style='font-size:.85em'>"
            f"<summary>{html.escape(self.summary())}</summary>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            "<details><summary>as AWS CLI commands</summary>"
            f"<pre style='white-space:pre-wrap'>{html.escape(self.cli())}</pre></details>"
            "</details>"
        )

    @staticmethod
    def _cell_html(row: Mapping[str, Any], call: Call, column: str) -> str:
        text = html.escape(str(row[column]))
        if column != "parameters" or not call.is_cut():
            return text
        # long parameters (a task definition, a service) unfold into their full JSON
        full = html.escape(_json(call.params, indent=2))
        return f"<details><summary><code>{text}</code></summary><pre>{full}</pre></details>"

    def _repr_html_(self) -> str:
        return self.html(open_=True)

    def __repr__(self) -> str:
        return self.text()


# -- recording --------------------------------------------------------------------------------
class CallRecorder(CallList):
    """Every call made through one boto3 session (at least the latest ``MAX_RECORDS``)."""

    def __init__(self, endpoint_url: str | None = None):
        super().__init__([])
        self.endpoint_url = endpoint_url
        # Show each cell's calls under it: None decides per cell (on for a learner's kernel,
        # off under papermill or nbconvert), SHOW_ENV overrides that, True/False override both.
        self.show: bool | None = None
        self._lock = threading.Lock()
        self._cell_start = 0  # where the running cell's calls begin in self._calls
        self._last_cell: list[Call] | None = None  # None until IPython reports a finished cell

    def last_cell(self) -> CallList:
        """The calls of the last finished cell that made any (outside IPython: all calls)."""
        return CallList(self._calls if self._last_cell is None else self._last_cell)

    # botocore event handlers
    def _started(
        self, params: Mapping[str, Any], model: OperationModel, context: dict, **_: Any
    ) -> None:
        if context.get("is_presign_request"):  # generate_presigned_url sends nothing
            return
        try:
            cleaned = clean_params(params, model.input_shape)
        except Exception:  # the recorder must never break the call it watches
            cleaned = {"…": Elided("<not recorded>")}
        call = Call(model.service_model.service_name, model.name, cleaned, self.endpoint_url)
        context[_CONTEXT_KEY] = (call, time.perf_counter())
        with self._lock:
            self._calls.append(call)
            if len(self._calls) > 2 * MAX_RECORDS:
                del self._calls[:MAX_RECORDS]
                self._cell_start = max(0, self._cell_start - MAX_RECORDS)

    def _answered(self, http_response: Any, parsed: Any, context: dict, **_: Any) -> None:
        call = self._finish(context)
        if call is not None:
            call.status = http_response.status_code
            if call.status >= 300 and isinstance(parsed, Mapping):
                call.error = parsed.get("Error", {}).get("Code")

    def _failed(self, exception: BaseException, context: dict, **_: Any) -> None:
        call = self._finish(context)
        if call is not None:
            call.error = type(exception).__name__

    @staticmethod
    def _finish(context: dict) -> Call | None:
        started = context.pop(_CONTEXT_KEY, None)
        if started is None:
            return None
        call, clock = started
        call.seconds = time.perf_counter() - clock
        return call

    # IPython cells
    def _begin_cell(self) -> None:
        with self._lock:
            self._cell_start = len(self._calls)

    def _end_cell(self, execution_count: int | None) -> list[Call]:
        with self._lock:
            made = self._calls[self._cell_start :]
            self._cell_start = len(self._calls)
        for call in made:
            call.cell = execution_count
        if made:
            self._last_cell = made
        return made

    def showing(self) -> bool:
        if self.show is not None:
            return self.show
        forced = os.environ.get(SHOW_ENV)
        if forced in ("0", "1"):
            return forced == "1"
        if os.environ.get("MYSFITS_LAB_PLAIN") == "1":  # the runner's papermill runs
            return False
        # papermill and nbconvert (nbclient) send execute requests that allow no input;
        # JupyterLab and VS Code allow it.
        return bool(getattr(getattr(_shell(), "kernel", None), "_allow_stdin", True))


_by_session: weakref.WeakKeyDictionary[boto3.Session, CallRecorder] = weakref.WeakKeyDictionary()
_recorders: weakref.WeakSet[CallRecorder] = weakref.WeakSet()


def attach(session: boto3.Session, endpoint_url: str | None = None) -> CallRecorder:
    """The session's recorder, registering its hooks the first time (clients created before
    that are not covered: create them after attaching)."""
    recorder = _by_session.get(session)
    if recorder is None:
        recorder = CallRecorder(endpoint_url)
        # provide-client-params carries the caller's own parameters, before botocore's handlers
        # add defaults; after-call comes once per call, retries included, with the HTTP status
        # (errors too); after-call-error when no response came at all.
        session.events.register("provide-client-params", recorder._started)
        session.events.register("after-call", recorder._answered)
        session.events.register("after-call-error", recorder._failed)
        _by_session[session] = recorder
        _recorders.add(recorder)
    elif endpoint_url:
        recorder.endpoint_url = endpoint_url
    return recorder


# -- notebook cells ---------------------------------------------------------------------------
def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def watch_cells() -> bool:
    """Under each IPython cell, list the AWS calls it made; registered once per kernel.
    Returns whether this runs in IPython."""
    shell = _shell()
    if shell is None:
        return False
    if _after_cell not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("pre_run_cell", _before_cell)
        shell.events.register("post_run_cell", _after_cell)
    return True


def _before_cell(info: Any = None) -> None:
    for recorder in list(_recorders):
        recorder._begin_cell()


def _after_cell(result: Any = None) -> None:
    count = getattr(result, "execution_count", None)
    made: list[Call] = []
    for recorder in list(_recorders):
        cell_calls = recorder._end_cell(count)
        if recorder.showing():
            made += cell_calls
    if made:
        calls = CallList(sorted(made, key=lambda call: call.started))
        show.rich(calls.html(), calls.text())
