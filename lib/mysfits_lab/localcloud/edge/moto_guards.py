"""Narrow corrections in front of moto (5.2): input AWS refuses with a 4xx that moto answers
with a 500 — or worse, runs — refused here in the service's own terms. Each guard names the
moto behaviour it shields; drop it when moto stops doing that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml
import yaml.constructor
from werkzeug.wrappers import Response

from .catalog import service_model
from .protocols import ServiceError, error_response
from .request import MAX_JSON_DEPTH, AwsRequest, json_too_deep

PYTHON_TAG = "tag:yaml.org,2002:python/"
# The tags of plain YAML data; CloudFormation's own are local (``!Ref``, ``!Sub``, ...).
_DATA_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
}
MAX_YAML_NODES = 1_000_000  # after aliases are expanded: a "billion laughs" is refused


def disarm_python_yaml() -> None:
    """moto parses CloudFormation templates (TemplateBody, and objects named by TemplateURL)
    with ``yaml.Loader``, PyYAML's unsafe loader: ``!!python/object/apply:os.system`` in a
    template would run in the cloud process. Its ``python/`` constructors are removed from
    every loader in this process (nothing here needs them); such tags become plain data."""
    pending = [yaml.constructor.BaseConstructor]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for table in ("yaml_constructors", "yaml_multi_constructors"):
            own = cls.__dict__.get(table)
            if own is not None:
                kept = {t: c for t, c in own.items() if not (t or "").startswith(PYTHON_TAG)}
                setattr(cls, table, kept)


def yaml_facts(text: str) -> tuple[int, set[str]]:
    """(aliases, tags) of a YAML document, read as events (no object is built, no recursion):
    ValueError when it is not YAML, nests too deep, refers to itself or expands too far."""
    Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # noqa: N806 - PyYAML's name
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for
    open_nodes: list[list[Any]] = []  # [anchor, nodes so far] of each open collection
    expanded = aliases = 0
    tags: set[str] = set()
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _ in open_nodes):
                    raise ValueError(f"alias *{event.anchor} refers to a node that contains it")
                aliases, nodes = aliases + 1, sizes.get(event.anchor, 1)
            elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
                if event.tag:
                    tags.add(event.tag)
                if isinstance(event, yaml.CollectionStartEvent):
                    open_nodes.append([event.anchor, 1])
                    if len(open_nodes) > MAX_JSON_DEPTH:
                        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
                    expanded += 1
                    continue
                nodes = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, nodes = open_nodes.pop()
                if anchor:
                    sizes[anchor] = nodes
                if open_nodes:
                    open_nodes[-1][1] += nodes
                continue
            else:
                continue
            expanded += nodes
            if open_nodes:
                open_nodes[-1][1] += nodes
            if expanded > MAX_YAML_NODES:
                raise ValueError(f"expands to more than {MAX_YAML_NODES} nodes")
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).replace("\n", " ")) from None
    return aliases, tags


def _json_or_yaml(text: str) -> tuple[bool, int, set[str]]:
    """(is JSON, aliases, tags); ValueError when it is neither, or too deep or large."""
    if json_too_deep(text.encode()):
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(text)
    except ValueError:
        return (False, *yaml_facts(text))
    return True, 0, set()


# -- the guards -------------------------------------------------------------------------------
def _cloudformation_template(params: dict[str, Any], _req: AwsRequest) -> None:
    """moto raises (a 500) on a template that is missing or not JSON/YAML, and runs Python in
    one (see ``disarm_python_yaml``); AWS answers ValidationError."""
    body = params.get("TemplateBody")
    if body is None:
        if "TemplateURL" not in params and not params.get("UsePreviousTemplate"):
            raise ServiceError(
                "ValidationError", "Either Template URL or Template Body must be specified."
            )
        return
    try:
        is_json, aliases, tags = _json_or_yaml(body)
    except ValueError as exc:
        raise ServiceError("ValidationError", f"Template format error: {exc}") from None
    if aliases:
        raise ServiceError(
            "ValidationError",
            "Template error: YAML aliases are not allowed in CloudFormation templates",
        )
    foreign = sorted(t for t in tags if t.startswith("tag:") and t not in _DATA_TAGS)
    if not is_json and foreign:
        raise ServiceError(
            "ValidationError", f"Template format error: unsupported YAML tag {foreign[0]}"
        )


def _api_definition(_params: dict[str, Any], req: AwsRequest) -> None:
    """moto's ImportRestApi and PutRestApi read the body as JSON, else YAML, and raise (a 500)
    on anything else, on a document that is not a mapping and on deep nesting; YAML aliases
    are expanded without limit. AWS answers BadRequestException."""
    try:
        text = req.body.decode("utf-8")
        is_json, _aliases, tags = _json_or_yaml(text)
        document = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ServiceError("BadRequestException", f"Invalid API definition: {exc}") from None
    if not isinstance(document, dict):
        raise ServiceError("BadRequestException", "Invalid API definition: not an OpenAPI document")


def _dynamodb_key_schema(params: dict[str, Any], _req: AwsRequest) -> None:
    """moto raises KeyError (a 500) without them; only a multi-account global table replica
    (GlobalTableSourceArn) takes its key schema from elsewhere."""
    if "GlobalTableSourceArn" in params:
        return
    for member in ("KeySchema", "AttributeDefinitions"):
        if member not in params:
            wire = member[0].lower() + member[1:]
            raise ServiceError(
                "ValidationException",
                f"1 validation error detected: Value null at '{wire}' failed to satisfy "
                "constraint: Member must not be null",
            )


def _training_algorithm(params: dict[str, Any], _req: AwsRequest) -> None:
    """moto writes into a missing AlgorithmSpecification (a 500); AWS needs one unless the job
    is a serverless one (which moto cannot record either)."""
    if "AlgorithmSpecification" not in params and "ServerlessJobConfig" not in params:
        raise ServiceError("ValidationException", "AlgorithmSpecification must be specified")


def _canned_acl(params: dict[str, Any], _req: AwsRequest) -> None:
    """moto raises (a 500) on a canned ACL it does not know; S3 answers InvalidArgument. (The
    edge leaves S3's other headers to S3, which reads most of them leniently.)"""
    acl = params.get("ACL")
    model = service_model("s3")
    known = {*model.shape_for("ObjectCannedACL").enum, *model.shape_for("BucketCannedACL").enum}
    known.add("log-delivery-write")  # S3 documents it for buckets; botocore's enums leave it out
    if acl is not None and acl not in known:
        raise ServiceError("InvalidArgument", f"{acl[:64]} is not a canned ACL")


Guard = Callable[[dict[str, Any], AwsRequest], None]
GUARDS: dict[tuple[str, str], Guard] = {
    **{
        ("cloudformation", op): _cloudformation_template
        for op in ("CreateStack", "UpdateStack", "CreateChangeSet", "ValidateTemplate")
    },
    ("apigateway", "ImportRestApi"): _api_definition,
    ("apigateway", "PutRestApi"): _api_definition,
    ("dynamodb", "CreateTable"): _dynamodb_key_schema,
    ("sagemaker", "CreateTrainingJob"): _training_algorithm,
    **{
        ("s3", op): _canned_acl
        for op in (
            "CreateBucket",
            "PutBucketAcl",
            "PutObject",
            "PutObjectAcl",
            "CopyObject",
            "CreateMultipartUpload",
        )
    },
}


def guard(service: str, operation: str, params: dict[str, Any], req: AwsRequest) -> None:
    """ServiceError when moto would mishandle this well-typed request."""
    check = GUARDS.get((service, operation))
    if check is not None:
        check(params, req)


def presigned_for_moto(environ: dict[str, Any], req: AwsRequest, service: str) -> None:
    """moto routes a request by its Authorization header, and one without by guessing: a
    presigned CloudFormation call (its signature in the query string) reaches S3 and lists
    buckets. Such a call of any service but S3 (which reads presigned URLs itself) gets the
    header its query string stands for; moto checks no signature either way."""
    region, name = req.scope
    if service != "s3" and name and "HTTP_AUTHORIZATION" not in environ:
        environ["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=presigned/20000101/{region}/{name}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )


def moto_failure(protocol: str) -> Response:
    """What the caller gets when moto raises instead of answering (it does, for input it does
    not expect): an error boto3 reads, that names the local cloud as the cause."""
    return error_response(
        protocol,
        "InternalFailure",
        "the local cloud (moto) failed on this request; AWS may accept it — see cloud.log",
        500,
    )
