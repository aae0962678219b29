"""The few enum values AWS reads whatever their case, put in their canonical case before anyone
else reads the request.

Most AWS APIs compare an enum member exactly, and so does the edge (``validation.py``): ELBv2
answers ``ValidationError: 1 validation error detected: Value 'http' at 'protocol' failed to
satisfy constraint: Member must satisfy enum value set: [TCP, HTTP, HTTPS, TLS]``, Lambda the
same ``ValidationException`` for a ``Runtime`` of ``Python 2.7``, DynamoDB refuses any
``KeyType`` but ``HASH`` and ``RANGE``. A few members are read case-insensitively and stored in
their canonical spelling; only those are listed in ``CASE_INSENSITIVE``:

* CodeBuild ``ArtifactsType`` (``artifacts.type``, ``secondaryArtifacts[].type``, StartBuild's
  ``artifactsOverride.type``): the original workshop's ``code-build-project.json`` says
  ``"type": "no_artifacts"`` (and so did CloudFormation's own ``AWS::CodeBuild::Project``
  example); the project reads back ``NO_ARTIFACTS``.
* SNS ``Subscribe``'s ``Protocol`` (a plain string in the model, checked by SNS itself): SNS
  takes ``HTTPS`` and stores ``https`` (terraform-provider-aws #18475 validates lower case for
  that reason).

The request itself is rewritten (``canonical_request``): moto, a provider's ``call.params`` and
every later read see the canonical value, as they would on AWS. JSON bodies (json, rest-json)
and query forms are rewritten; a loose member inside a query-protocol list or map is not looked
for (none is listed).
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import parse_qsl, urlencode

from botocore.model import Shape

from .catalog import operation_model, service_model
from .request import AwsRequest

# SNS's delivery protocols (Subscribe documents them in lower case).
SNS_PROTOCOLS = (
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "sqs",
    "application",
    "lambda",
    "firehose",
)

# service → {botocore shape name: its canonical values, or None for the model's own enum}.
CASE_INSENSITIVE: dict[str, dict[str, tuple[str, ...] | None]] = {
    "codebuild": {"ArtifactsType": None},
    "sns": {"protocol": SNS_PROTOCOLS},
}


def canonical_value(service: str, shape: Shape, value: object) -> str | None:
    """The canonical spelling of ``value`` when ``shape`` is read case-insensitively and
    ``value`` differs from it only in case; None otherwise (exact, unknown or not loose)."""
    loose = CASE_INSENSITIVE.get(service, {})
    if shape.name not in loose or not isinstance(value, str):
        return None
    allowed = loose[shape.name] or tuple(shape.enum)
    if value in allowed:
        return None
    folded = value.casefold()
    return next((choice for choice in allowed if choice.casefold() == folded), None)


def canonical_request(
    service: str, operation: str, protocol: str, req: AwsRequest
) -> AwsRequest | None:
    """``req`` with its case-insensitive enum values in canonical case; None when nothing
    changes (also when the body cannot be read: validation says why)."""
    if service not in CASE_INSENSITIVE or operation not in service_model(service).operation_names:
        return None
    shape = operation_model(service, operation).input_shape
    if shape is None or shape.name not in _reaching(service):
        return None
    if protocol in ("json", "rest-json"):
        return _json_request(service, shape, req)
    if protocol == "query":
        return _query_request(service, shape, req)
    return None


@cache
def _reaching(service: str) -> frozenset[str]:
    """Names of the service's shapes from which a case-insensitive shape can be reached: the
    walk skips everything else (a DynamoDB item is never looked through)."""
    model = service_model(service)
    shapes = {name: model.shape_for(name) for name in model.shape_names}
    reaching = set(CASE_INSENSITIVE[service]) & set(shapes)
    grew = True
    while grew:  # a fixed point: shapes may be recursive
        grew = False
        for name, shape in shapes.items():
            if name not in reaching and any(c.name in reaching for c in _children(shape)):
                reaching.add(name)
                grew = True
    return frozenset(reaching)


def _children(shape: Shape) -> list[Shape]:
    kind = shape.type_name
    if kind == "structure":
        return list(shape.members.values())
    if kind == "list":
        return [shape.member]
    if kind == "map":
        return [shape.value]
    return []


# -- JSON bodies -----------------------------------------------------------------------------
def _json_request(service: str, shape: Shape, req: AwsRequest) -> AwsRequest | None:
    if not req.body:
        return None
    try:
        body = req.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not _fix_json(service, shape, body, _reaching(service)):
        return None
    return AwsRequest.from_environ(req.environ, json.dumps(body).encode())


def _fix_json(service: str, shape: Shape, value: object, reaching: frozenset[str]) -> bool:
    """Put loose values below ``value`` (read as ``shape``) in canonical case, in place;
    whether any changed. Values of the wrong type are left for validation to report."""
    changed = False
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue  # a header, URI label or query member
            key = member.serialization.get("name", name)
            if key in value:
                changed |= _fix_slot(service, member, value, key, reaching)
    elif shape.type_name == "list" and isinstance(value, list):
        for index in range(len(value)):
            changed |= _fix_slot(service, shape.member, value, index, reaching)
    elif shape.type_name == "map" and isinstance(value, dict):
        for key in list(value):
            changed |= _fix_slot(service, shape.value, value, key, reaching)
    return changed


def _fix_slot(
    service: str, shape: Shape, container: dict | list, key: object, reaching: frozenset[str]
) -> bool:
    if shape.name not in reaching:
        return False  # nothing loose below: not walked
    value = container[key]  # type: ignore[index]
    fixed = canonical_value(service, shape, value)
    if fixed is not None:
        container[key] = fixed  # type: ignore[index]
        return True
    return _fix_json(service, shape, value, reaching)


# -- query forms -----------------------------------------------------------------------------
def _query_request(service: str, shape: Shape, req: AwsRequest) -> AwsRequest | None:
    pairs = {**{k: v[0] for k, v in req.query.items()}, **{k: v[0] for k, v in req.form.items()}}
    fixes = _query_fixes(service, shape, pairs, "", _reaching(service))
    if not fixes:
        return None
    body = req.body
    if req.form:
        body = _rewrite_pairs(req.body.decode("utf-8", "replace"), fixes).encode()
    environ = req.environ
    if any(key in req.query for key in fixes):  # a query string names it (no SDK does)
        environ["QUERY_STRING"] = _rewrite_pairs(environ.get("QUERY_STRING", ""), fixes)
    return AwsRequest.from_environ(environ, body)


def _query_fixes(
    service: str, shape: Shape, pairs: dict[str, str], prefix: str, reaching: frozenset[str]
) -> dict[str, str]:
    """{form key: canonical value} for the loose scalars of a structure (and the structures in
    it) that a query request carries."""
    fixes: dict[str, str] = {}
    for name, member in shape.members.items():
        if member.name not in reaching:
            continue
        key = f"{prefix}{member.serialization.get('name', name)}"
        if member.type_name == "structure":
            fixes |= _query_fixes(service, member, pairs, f"{key}.", reaching)
        elif key in pairs:
            fixed = canonical_value(service, member, pairs[key])
            if fixed is not None:
                fixes[key] = fixed
    return fixes


def _rewrite_pairs(text: str, fixes: dict[str, str]) -> str:
    """``text`` (``a=1&b=2``) with the values of ``fixes``' keys replaced, order kept."""
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(key, fixes.get(key, value)) for key, value in pairs])
