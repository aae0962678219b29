"""Requests on the wire read back into the parameters a boto3 caller passed: the inverse of
botocore's serializers for the json, rest-json, query, ec2 and rest-xml protocols, driven by the
operation's input shape. Anything that cannot be read is a ValueError (``validation.py`` turns
it into the service's own 400).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from botocore import parsers
from botocore.model import Shape

from .catalog import _rest_routes, operation_model
from .request import AwsRequest

_MAX_QUERY_KEY = 256
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?Infinity|NaN")


def request_params(
    service: str, operation: str, protocol: str, req: AwsRequest, payload: bool = True
) -> dict[str, Any]:
    """The request's parameters as the dict a boto3 caller passed (ValueError when malformed).
    ``payload=False`` leaves a REST operation's payload member (an S3 object's body) unread."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return {}
    if protocol == "json":
        body = req.json()
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        return _json_members(shape, body)
    if protocol in ("query", "ec2"):
        pairs = [*req.query.items(), *req.form.items()]
        # No member's wire name is that long: such keys are unknown, and ignored as AWS does.
        flat = {k: v[0] for k, v in pairs if len(k) <= _MAX_QUERY_KEY}
        present = {key.rsplit(".", n)[0] for key in flat for n in range(key.count(".") + 1)}
        return _from_query(shape, flat, "", protocol == "ec2", present) or {}
    return _from_rest(service, operation, shape, protocol, req, payload)


class BadValue(ValueError):
    """A value written as text (a query parameter, a header) that is not of its type."""


def scalar(shape: Shape, text: str) -> Any:
    """A number or boolean written as text (query strings, headers, URI labels)."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        if not _INTEGER.fullmatch(text):
            raise BadValue(f"{text[:64]!r} is not an integer")
        return int(text)
    if kind in ("float", "double"):
        if not _FLOAT.fullmatch(text):
            raise BadValue(f"{text[:64]!r} is not a number")
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise BadValue(f"{text[:64]!r} is not a boolean")
        return text.lower() == "true"
    return text


# -- json and rest-json bodies ------------------------------------------------------------
def _json_members(shape: Shape, body: dict[str, Any]) -> dict[str, Any]:
    """A JSON object's body members under their member names; ``null`` is absent, as AWS
    reads it, and members this botocore does not know are left out (AWS ignores them)."""
    found = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        value = body.get(member.serialization.get("name", name))
        if value is not None:
            found[name] = _json_value(member, value)
    return found


def _json_value(shape: Shape, value: Any) -> Any:
    """A JSON value read as ``shape``: a list or object where the other is due cannot be
    read (AWS's JSON services answer SerializationException); scalars are checked later."""
    # Depth is bounded: AwsRequest.json() refuses JSON nested deeper than MAX_JSON_DEPTH.
    kind = shape.type_name
    if kind not in ("structure", "list", "map") or getattr(shape, "is_document_type", False):
        return value
    wanted = list if kind == "list" else dict
    if not isinstance(value, wanted):
        what = "array" if kind == "list" else "object"
        raise ValueError(f"expected a JSON {what} for {shape.name}, not {type(value).__name__}")
    if kind == "structure":
        return _json_members(shape, value)
    if len(value) > shape.metadata.get("max", len(value)):
        return value  # too many: validation says so without reading every item
    if kind == "list":
        return [_json_value(shape.member, item) for item in value]
    return {k: _json_value(shape.value, v) for k, v in value.items()}


# -- query and ec2 ---------------------------------------------------------------------------
def _query_name(shape: Shape, default: str, ec2: bool) -> str:
    """The wire name botocore's QuerySerializer (or EC2Serializer) gives a member."""
    if ec2:
        if "queryName" in shape.serialization:
            return shape.serialization["queryName"]
        name = shape.serialization.get("name")
        return name[0].upper() + name[1:] if name else default
    return shape.serialization.get("name", default)


def _from_query(
    shape: Shape, flat: dict[str, str], prefix: str, ec2: bool, present: set[str]
) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if prefix and prefix not in present:
            return None  # also ends recursive shapes
        found = {}
        for name, member in shape.members.items():
            key = _query_name(member, name, ec2)
            value = _from_query(member, flat, f"{prefix}.{key}" if prefix else key, ec2, present)
            if value is not None:
                found[name] = value
        return found or None
    if kind == "list":
        if flat.get(prefix) == "":
            return []  # how the query protocol writes an empty list
        if ec2:
            base = prefix
        elif shape.serialization.get("flattened"):
            name = shape.member.serialization.get("name")
            base = ".".join([*prefix.split(".")[:-1], name]) if name else prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items: list[Any] = []
        while base in present:
            item = _from_query(shape.member, flat, f"{base}.{len(items) + 1}", ec2, present)
            if item is None:
                break
            items.append(item)
        return items or None
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = _query_name(shape.key, "key", ec2)
        value_name = _query_name(shape.value, "value", ec2)
        entries, index = {}, 1
        while f"{base}.{index}.{key_name}" in flat:
            value_prefix = f"{base}.{index}.{value_name}"
            entries[flat[f"{base}.{index}.{key_name}"]] = _from_query(
                shape.value, flat, value_prefix, ec2, present
            )
            index += 1
        return entries or None
    text = flat.get(prefix)
    return None if text is None else scalar(shape, text)


# -- rest-json and rest-xml ----------------------------------------------------------------
def _from_rest(
    service: str, operation: str, shape: Shape, protocol: str, req: AwsRequest, payload: bool
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    route = next(r for r in _rest_routes(service) if r.operation == operation)
    match = route.regex.match(req.raw_path)
    uri = operation_model(service, operation).http.get("requestUri", "")
    labels = re.findall(r"\{([^}+]+)\+?\}", uri.partition("?")[0])
    groups = [unquote(group) for group in match.groups()] if match else []
    values = dict(zip(labels, groups, strict=False))
    named_query = set()
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri" and wire in values:
            params[name] = scalar(member, values[wire])
        elif location == "querystring" and member.type_name != "map":
            named_query.add(wire)
            if wire in req.query:
                texts = req.query[wire]
                params[name] = (
                    [scalar(member.member, t) for t in texts]
                    if member.type_name == "list"
                    else scalar(member, texts[0])
                )
        elif location == "header" and wire.lower() in req.headers:
            text = req.headers[wire.lower()]
            params[name] = (
                [scalar(member.member, t.strip()) for t in text.split(",")]
                if member.type_name == "list"
                else scalar(member, text)
            )
        elif location == "headers":
            lower = wire.lower()
            found = {k[len(lower) :]: v for k, v in req.headers.items() if k.startswith(lower)}
            if found:
                params[name] = found
    for name, member in shape.members.items():  # a map of every other query parameter
        if member.serialization.get("location") == "querystring" and member.type_name == "map":
            rest = {
                k: v if member.value.type_name == "list" else v[0] for k, v in req.query.items()
            }
            if others := {k: v for k, v in rest.items() if k not in named_query}:
                params[name] = others
    payload_name = shape.serialization.get("payload")
    if payload_name:
        if payload and req.body:
            params[payload_name] = _payload(shape, payload_name, protocol, req)
    elif protocol == "rest-json" and req.body and _has_body_members(shape):
        body = req.json()
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        params.update(_json_members(shape, body))
    return params


def _has_body_members(shape: Shape) -> bool:
    return any(not m.serialization.get("location") for m in shape.members.values())


def _payload(shape: Shape, name: str, protocol: str, req: AwsRequest) -> Any:
    """The whole body as one member: bytes for a blob, text for a string, else a structure."""
    member = shape.members[name]
    if member.type_name == "blob":
        return req.body
    if member.type_name == "string":
        return req.body.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if protocol == "rest-json":
        return _json_value(member, req.json())
    # A structure's XML is the same whichever way it travels, so botocore's response parser
    # reads it (with the input shape, whose payload it is).
    try:
        parsed = parsers.create_parser("rest-xml").parse(
            {"status_code": 200, "headers": {}, "body": req.body}, shape
        )
    except parsers.ResponseParserError as exc:
        raise ValueError(f"the XML body is not well formed: {exc}") from None
    return parsed.get(name, {})
