"""Answers on the wire, driven by botocore's service models, so no provider writes JSON bytes or
XML text by hand: moto's answers parsed into a dict (with botocore's own parsers), dicts
serialized as an operation's output, and errors serialized in the service's own protocol so
boto3 raises a ``ClientError`` with the code and message given. Requests are read in
``params.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any
from xml.sax.saxutils import escape

from botocore import parsers
from botocore.model import Shape
from werkzeug.wrappers import Response

from .catalog import operation_model, service_model

JSON_CONTENT = {"json": "application/x-amz-json-1.1", "rest-json": "application/json"}


class ServiceError(Exception):
    """An error the caller made, answered in the service's protocol (4xx unless told)."""

    def __init__(
        self, code: str, message: str, status: int = 400, fields: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.fields = fields or {}  # the error shape's other members (JSON protocols)


# -- errors ---------------------------------------------------------------------------------
def error_response(
    protocol: str,
    code: str,
    message: str,
    status: int = 400,
    fields: dict[str, Any] | None = None,
) -> Response:
    request_id = str(uuid.uuid4())
    sender = "Sender" if status < 500 else "Receiver"
    extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in (fields or {}).items())
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message, **(fields or {})})
        response = Response(body, status, content_type=JSON_CONTENT[protocol])
        response.headers["x-amzn-ErrorType"] = code
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>{sender}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message>{extra}</Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        response = Response(body, status, content_type="text/xml")
    elif protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message>{extra}</Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        response = Response(body, status, content_type="text/xml")
    else:  # rest-xml
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message>{extra}<RequestId>{request_id}</RequestId></Error>"
        )
        response = Response(body, status, content_type="application/xml")
    response.headers["x-amzn-RequestId"] = request_id
    return response


# -- parsing moto's answers -----------------------------------------------------------------
def parse_response(service: str, operation: str, protocol: str, response: Response) -> dict:
    """A moto response, in the ``protocol`` of the request it answers, as the dict boto3 would
    return (``Error`` on failures)."""
    parser = parsers.create_parser(protocol)
    parsed = parser.parse(
        {
            "status_code": response.status_code,
            "headers": dict(response.headers),
            "body": response.get_data(),
        },
        operation_model(service, operation).output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    return parsed


# -- serializing results --------------------------------------------------------------------
def result_response(
    service: str, operation: str, protocol: str, data: dict[str, Any], status: int | None = None
) -> Response:
    """``data`` (shaped like boto3's return value) as the operation's wire response, with the
    operation's own success status (S3's DeleteBucket: 204) unless ``status`` is given."""
    model = operation_model(service, operation)
    status = status or model.http.get("responseCode", 200)
    shape = model.output_shape
    data = {k: v for k, v in data.items() if k != "ResponseMetadata"}
    if shape is None and protocol.startswith("rest"):
        return _with_request_id(Response(b"", status))
    if protocol.startswith("rest") and shape is not None:
        return _rest_result(shape, protocol, data, status)
    if protocol in ("json", "rest-json"):
        return Response(json.dumps(_jsonable(data)), status, content_type=JSON_CONTENT[protocol])
    inner = _xml_members(shape, data) if shape is not None else ""
    if protocol == "query":
        xmlns = service_model(service).metadata.get("xmlNamespace", "")
        wrapper = (shape.serialization.get("resultWrapper") if shape else None) or (
            f"{operation}Result"
        )
        body = (
            f'<{operation}Response xmlns="{xmlns}"><{wrapper}>{inner}</{wrapper}>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{operation}Response>"
        )
    else:
        root = (shape.serialization.get("name") if shape else None) or f"{operation}Result"
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'
    return _with_request_id(Response(body, status, content_type="text/xml"))


def _with_request_id(response: Response) -> Response:
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


def _rest_result(shape: Shape, protocol: str, data: dict[str, Any], status: int) -> Response:
    """REST outputs: header and status-code members leave the body; a payload member is the
    body itself (raw bytes for a blob or string)."""
    headers: dict[str, str] = {}
    body_members: dict[str, Any] = {}
    for name, value in data.items():
        member = shape.members.get(name)
        location = member.serialization.get("location") if member is not None else None
        if member is None or value is None:
            continue
        if location == "header":
            headers[member.serialization.get("name", name)] = str(value)
        elif location == "statusCode":
            status = int(value)
        elif location is None:
            body_members[name] = value
    payload = shape.serialization.get("payload")
    content_type = headers.pop("Content-Type", None)
    if payload:
        value = body_members.get(payload, b"")
        if shape.members[payload].type_name in ("blob", "string"):
            body = value if isinstance(value, bytes) else str(value).encode()
            content_type = content_type or "application/octet-stream"
        elif protocol == "rest-json":
            body = json.dumps(_jsonable(value)).encode()
        else:
            inner = _xml_members(shape.members[payload], value)
            tag = shape.members[payload].serialization.get("name", payload)
            body = f"<{tag}>{inner}</{tag}>".encode()
    elif protocol == "rest-json":
        body = json.dumps(_jsonable(body_members)).encode()
    else:
        root = shape.serialization.get("name") or "Result"
        body = f"<{root}>{_xml_members(shape, body_members)}</{root}>".encode()
    default = JSON_CONTENT["rest-json"] if protocol == "rest-json" else "application/xml"
    response = Response(body, status, content_type=content_type or default)
    response.headers.update(headers)
    return response


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _xml_scalar(shape: Shape, value: Any) -> str:
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "timestamp":
        if isinstance(value, int | float):
            value = dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if shape.type_name == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return escape(str(value))


def _xml_value(shape: Shape, value: Any) -> str:
    if shape.type_name == "structure":
        return _xml_members(shape, value)
    if shape.type_name == "list":
        member = shape.member
        name = member.serialization.get("name", "member")
        return "".join(f"<{name}>{_xml_value(member, item)}</{name}>" for item in value)
    if shape.type_name == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        return "".join(
            f"<entry><{key_name}>{escape(str(k))}</{key_name}>"
            f"<{value_name}>{_xml_value(shape.value, v)}</{value_name}></entry>"
            for k, v in value.items()
        )
    return _xml_scalar(shape, value)


def _xml_members(shape: Shape, data: dict[str, Any]) -> str:
    out = []
    for name, member in shape.members.items():
        if name not in data or data[name] is None or member.serialization.get("location"):
            continue
        tag = member.serialization.get("name", name)
        value = data[name]
        if member.type_name == "list" and member.serialization.get("flattened"):
            item_tag = member.member.serialization.get("name", tag)
            out.extend(f"<{item_tag}>{_xml_value(member.member, v)}</{item_tag}>" for v in value)
        else:
            out.append(f"<{tag}>{_xml_value(member, value)}</{tag}>")
    return "".join(out)
