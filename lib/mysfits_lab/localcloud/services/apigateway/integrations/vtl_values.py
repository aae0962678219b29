"""Values as API Gateway's Velocity (a Java engine) shows them to a template: strings with Java's
``String`` methods (``trim()``, ``toLowerCase()``, ``equals()``...), maps and lists with
``keySet()``, ``size()``, ``get()``..., ``true``/``false`` printed in lower case, and maps printed
as Java prints them (``{a=1, b=x}``). Plus ``$util``'s functions, with the Java libraries'
exact output (commons-lang ``escapeJavaScript``, ``URLEncoder``)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from .jsonpath import MISSING


class VtlString(str):
    """A ``java.lang.String``'s methods on a Python string."""

    def length(self) -> int:
        return len(self)

    def trim(self) -> VtlString:
        return VtlString(self.strip(" \t\n\r\x0b\x0c\x00"))

    def toLowerCase(self) -> VtlString:  # noqa: N802 - Java's names
        return VtlString(self.lower())

    def toUpperCase(self) -> VtlString:  # noqa: N802
        return VtlString(self.upper())

    def toString(self) -> VtlString:  # noqa: N802
        return self

    def equals(self, other: Any) -> bool:
        return isinstance(other, str) and str(self) == str(other)

    def equalsIgnoreCase(self, other: Any) -> bool:  # noqa: N802
        return isinstance(other, str) and self.lower() == other.lower()

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def contains(self, part: Any) -> bool:
        return str(part) in self

    def startsWith(self, prefix: str) -> bool:  # noqa: N802
        return self.startswith(prefix)

    def endsWith(self, suffix: str) -> bool:  # noqa: N802
        return self.endswith(suffix)

    def indexOf(self, part: str) -> int:  # noqa: N802
        return self.find(part)

    def substring(self, start: int, end: int | None = None) -> VtlString:
        return VtlString(self[start:end])

    def charAt(self, index: int) -> VtlString:  # noqa: N802
        return VtlString(self[index])

    def replaceAll(self, pattern: str, replacement: str) -> VtlString:  # noqa: N802
        # Java writes groups as $1; Python as \1
        python = re.sub(r"\$(\d)", r"\\\1", replacement)
        return VtlString(re.sub(pattern, python, self))

    def replace(self, old: str, new: str, count: int = -1) -> VtlString:  # type: ignore[override]
        return VtlString(str.replace(self, old, new, count))

    def matches(self, pattern: str) -> bool:
        return re.fullmatch(pattern, self) is not None

    def split(self, separator: str | None = None, limit: int = -1) -> VtlList:  # type: ignore[override]
        parts = re.split(separator, self) if separator else str.split(self)
        return VtlList(parts[:limit] if limit > 0 else parts)


class JsonBool:
    """A JSON boolean: true in ``#if``, printed ``true``/``false`` as Java prints it."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonBool):
            return self.value == other.value
        return isinstance(other, bool) and self.value == other

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return "true" if self.value else "false"

    def toString(self) -> str:  # noqa: N802
        return str(self)


class VtlMap(dict):
    """A ``java.util.Map``: ``$map.key``, ``$map.get('key')``, ``keySet()``, ``size()``..."""

    def keySet(self) -> VtlList:  # noqa: N802
        return VtlList(self.keys())

    def entrySet(self) -> VtlList:  # noqa: N802
        return VtlList(VtlMap(key=k, value=v) for k, v in self.items())

    def containsKey(self, key: Any) -> bool:  # noqa: N802
        return key in self

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def size(self) -> int:
        return len(self)

    def put(self, key: Any, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous

    def putAll(self, other: dict) -> None:  # noqa: N802
        self.update(other)

    def toString(self) -> str:  # noqa: N802
        return str(self)

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in self.items()) + "}"


class VtlList(list):
    """A ``java.util.List``; printed as JSON, as API Gateway prints a JSONPath's array."""

    def size(self) -> int:
        return len(self)

    def get(self, index: int) -> Any:
        return self[index]

    def contains(self, value: Any) -> bool:
        return value in self

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def toString(self) -> str:  # noqa: N802
        return str(self)

    def __str__(self) -> str:
        return json.dumps(plain(self), separators=(",", ":"), ensure_ascii=False)


class Claims(VtlMap):
    """``$context.authorizer.claims`` itself prints as nothing (API Gateway: "returns null");
    its members are the claims."""

    def __str__(self) -> str:
        return ""


def _java_text(value: Any) -> str:
    return "null" if value is None else str(value)


def wrap(value: Any) -> Any:
    """A parsed JSON value as the template sees it."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, bool):
        return JsonBool(value)
    if isinstance(value, str):
        return VtlString(value)
    if isinstance(value, dict):
        return VtlMap((str(k), wrap(v)) for k, v in value.items())
    if isinstance(value, list):
        return VtlList(wrap(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """A template value back to plain JSON data."""
    if isinstance(value, JsonBool):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


# -- $util --------------------------------------------------------------------------------------
_SHORT_ESCAPES = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
_QUOTED = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
_URL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def escape_javascript(text: str) -> str:
    """commons-lang ``StringEscapeUtils.escapeJavaScript``: quotes, backslash and ``/``
    escaped, control characters as ``\\n``/``\\u001F``, every non-ASCII UTF-16 unit as
    ``\\uXXXX`` (upper case)."""
    out = []
    units = text.encode("utf-16-be", "surrogatepass")
    for index in range(0, len(units), 2):
        code = (units[index] << 8) | units[index + 1]
        char = chr(code)
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif code < 32:
            out.append(_SHORT_ESCAPES.get(char) or f"\\u{code:04X}")
        else:
            out.append(_QUOTED.get(char, char))
    return "".join(out)


def url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in _URL_SAFE:
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


class Util:
    """``$util``."""

    @staticmethod
    def escapeJavaScript(value: Any) -> VtlString | None:  # noqa: N802
        return None if value is None else VtlString(escape_javascript(str(value)))

    @staticmethod
    def base64Encode(value: Any) -> VtlString:  # noqa: N802
        text = "" if value is None else str(value)
        return VtlString(base64.b64encode(text.encode("utf-8")).decode("ascii"))

    @staticmethod
    def base64Decode(value: Any) -> VtlString:  # noqa: N802
        try:
            data = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"$util.base64Decode: not base64 ({exc})") from None
        return VtlString(data.decode("utf-8", "replace"))

    @staticmethod
    def parseJson(value: Any) -> Any:  # noqa: N802
        try:
            return wrap(json.loads(str(value)))
        except ValueError as exc:
            raise ValueError(f"$util.parseJson: not JSON ({exc})") from None

    @staticmethod
    def urlEncode(value: Any) -> VtlString:  # noqa: N802
        return VtlString(url_encode("" if value is None else str(value)))

    @staticmethod
    def urlDecode(value: Any) -> VtlString:  # noqa: N802
        text = "" if value is None else str(value)
        if "%" in text and not _well_escaped(text):
            raise ValueError("$util.urlDecode: an incomplete or invalid % escape")
        return VtlString(unquote_plus(text, errors="replace"))


def _well_escaped(text: str) -> bool:
    parts = text.split("%")[1:]
    return all(len(p) >= 2 and all(c in "0123456789abcdefABCDEF" for c in p[:2]) for p in parts)
