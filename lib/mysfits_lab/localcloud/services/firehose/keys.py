"""Where Firehose puts an object in S3: ``<evaluated prefix><stream>-<version>-<UTC time>-<uuid>``.

The rules are AWS's ("Custom prefixes for Amazon S3 objects" in the Firehose developer guide):

- ``Prefix`` may hold ``!{timestamp:<Java DateTimeFormatter pattern>}`` and
  ``!{firehose:random-string}`` (11 characters, new at each use). A ``Prefix`` without a
  ``timestamp`` expression gets ``yyyy/MM/dd/HH/`` appended, with no separator of its own
  (``firehose/`` → ``firehose/2024/05/01/13/``).
- Timestamps in a prefix are the approximate arrival time of the oldest record in the object,
  in UTC; the suffix's time is when the object is written.
- ``ErrorOutputPrefix`` may also hold ``!{firehose:error-output-type}`` (``processing-failed``),
  and must when it holds any expression; it must be given when ``Prefix`` holds expressions.
  Without it, failed records go under ``<Prefix><error-output-type>/yyyy/MM/dd/HH/``.
- A literal ``ErrorOutputPrefix`` (no expression) is read the same way:
  ``<ErrorOutputPrefix><error-output-type>/yyyy/MM/dd/HH/`` (AWS documents only the default).

Dynamic partitioning keys (``partitionKeyFromQuery``/``partitionKeyFromLambda``) and pattern
letters other than ``y M d H m s`` are refused up front, naming what the local cloud supports.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

PROCESSING_FAILED = "processing-failed"
_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^{}]*)\}")
# Pattern letter → the counts supported; each prints the field zero-padded to its count.
_LETTERS = {"y": (2, 4), "M": (1, 2), "d": (1, 2), "H": (1, 2), "m": (1, 2), "s": (1, 2)}
_DEFAULT_TIME = "yyyy/MM/dd/HH/"
_MALFORMED = "The sequence !{ can only appear in !{namespace:value} expressions."


class PrefixError(ValueError):
    """A prefix AWS would refuse, or one the local cloud cannot evaluate; the message says which."""


@dataclass(frozen=True)
class Expression:
    namespace: str
    value: str
    pattern: tuple[str | tuple[str, int], ...] = ()  # a timestamp's tokens


Segment = str | Expression


def parse(prefix: str, error_output: bool = False) -> list[Segment]:
    """The literal text and expressions of a prefix (PrefixError when AWS or we refuse it)."""
    segments: list[Segment] = []
    position = 0
    for match in _EXPRESSION.finditer(prefix):
        literal = prefix[position : match.start()]
        if "!{" in literal:
            raise PrefixError(_MALFORMED)
        if literal:
            segments.append(literal)
        segments.append(_expression(match.group(1), match.group(2), error_output))
        position = match.end()
    rest = prefix[position:]
    if "!{" in rest:
        raise PrefixError(_MALFORMED)
    if rest:
        segments.append(rest)
    return segments


def _expression(namespace: str, value: str, error_output: bool) -> Expression:
    if namespace == "timestamp":
        return Expression(namespace, value, _timestamp_pattern(value))
    if namespace == "firehose":
        if value == "random-string":
            return Expression(namespace, value)
        if value == "error-output-type":
            if not error_output:
                raise PrefixError("Prefix can't contain !{firehose:error-output-type}.")
            return Expression(namespace, value)
        raise PrefixError(
            f"!{{firehose:{value}}} is not a firehose expression: use random-string or "
            "error-output-type."
        )
    if namespace in ("partitionKeyFromQuery", "partitionKeyFromLambda"):
        raise PrefixError(
            f"!{{{namespace}:{value}}} needs dynamic partitioning, which the local cloud's "
            "Firehose does not run: use timestamp and firehose expressions."
        )
    raise PrefixError(
        f"!{{{namespace}:...}}: the namespace must be timestamp, firehose, "
        "partitionKeyFromQuery or partitionKeyFromLambda."
    )


def _timestamp_pattern(pattern: str) -> tuple[str | tuple[str, int], ...]:
    """A Java DateTimeFormatter pattern as tokens: literal text, or (letter, count)."""
    tokens: list[str | tuple[str, int]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":  # quoted literal text; '' is a quote
            end = pattern.find("'", i + 1)
            if end == -1:
                raise PrefixError(f"!{{timestamp:{pattern}}} has a quote that is not closed.")
            tokens.append(pattern[i + 1 : end] or "'")
            i = end + 1
        elif char.isalpha():
            end = i
            while end < len(pattern) and pattern[end] == char:
                end += 1
            if end - i not in _LETTERS.get(char, ()):
                raise PrefixError(
                    f"!{{timestamp:{pattern}}}: the local cloud's Firehose evaluates the pattern "
                    "letters yy, yyyy, M, MM, d, dd, H, HH, m, mm, s and ss (quote other text "
                    "with ')."
                )
            tokens.append((char, end - i))
            i = end
        else:
            tokens.append(char)
            i += 1
    return tuple(tokens)


def check_prefixes(prefix: str, error_prefix: str | None) -> None:
    """AWS's rules for a destination's two prefixes (PrefixError names the one broken)."""
    segments = parse(prefix)
    errors = parse(error_prefix or "", error_output=True)
    if any(isinstance(s, Expression) for s in segments) and not error_prefix:
        raise PrefixError(
            "The supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix "
            "cannot be null or empty when Prefix contains expressions"
        )
    expressions = [s for s in errors if isinstance(s, Expression)]
    if expressions and not any(e.value == "error-output-type" for e in expressions):
        raise PrefixError(
            "The supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix "
            "must contain !{firehose:error-output-type} when it contains expressions"
        )


def _render(segments: list[Segment], when: datetime, error_type: str | None) -> str:
    fields = {
        "y": when.year,
        "M": when.month,
        "d": when.day,
        "H": when.hour,
        "m": when.minute,
        "s": when.second,
    }
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
        elif segment.namespace == "timestamp":
            for token in segment.pattern:
                if isinstance(token, str):
                    out.append(token)
                else:
                    letter, count = token
                    value = fields[letter] % 100 if (letter, count) == ("y", 2) else fields[letter]
                    out.append(str(value).zfill(count))
        elif segment.value == "random-string":
            out.append(str(uuid.uuid4())[:11])
        else:
            out.append(error_type or "")
    return "".join(out)


def _time_path(when: datetime) -> str:
    return _render(parse(f"!{{timestamp:{_DEFAULT_TIME}}}"), when, None)


def _suffix(stream: str, version: str, now: datetime, extension: str) -> str:
    return f"{stream}-{version}-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


def object_key(
    prefix: str, stream: str, version: str, oldest: datetime, now: datetime, extension: str = ""
) -> str:
    """The key of a delivered object; ``oldest`` is its oldest record's arrival (UTC)."""
    segments = parse(prefix)
    evaluated = _render(segments, oldest, None)
    if not any(isinstance(s, Expression) and s.namespace == "timestamp" for s in segments):
        evaluated += _time_path(oldest)
    return evaluated + _suffix(stream, version, now, extension)


def error_key(
    prefix: str,
    error_prefix: str | None,
    error_type: str,
    stream: str,
    version: str,
    oldest: datetime,
    now: datetime,
) -> str:
    """The key of an object of failed records (``error_type``: ``processing-failed``, ...)."""
    segments = parse(error_prefix or "", error_output=True)
    if any(isinstance(s, Expression) for s in segments):
        base = _render(segments, oldest, error_type)
    else:  # a literal ErrorOutputPrefix, or none: then Prefix holds no expression either
        base = f"{error_prefix or prefix}{error_type}/{_time_path(oldest)}"
    return base + _suffix(stream, version, now, "")
