"""Which AWS service and operation a request is for, from botocore's own service models.

Resolution order (the first that answers wins):
1. the SigV4 signing name (several services share one: ``sagemaker`` signs SageMaker and its
   runtime, ``elasticloadbalancing`` both ELB versions), narrowed by the rules below;
2. the ``X-Amz-Target`` prefix of the JSON protocols (``AWSCognitoIdentityProviderService``) —
   how unsigned browser calls (Cognito ``SignUp``, ``InitiateAuth``) are recognised;
3. path rules that providers add (``/<pool>/.well-known/jwks.json`` → ``cognito-idp``).
For query protocols the operation is the ``Action`` parameter and ``Version`` picks the service;
for REST protocols it is the operation whose method and ``requestUri`` template match.

The index of every service's metadata takes seconds to build from botocore's data files, so it
is cached on disk per botocore version.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import botocore
import botocore.session
from botocore.model import OperationModel, ServiceModel

from .request import AwsRequest

log = logging.getLogger("mysfits_lab.localcloud.edge")

# The wire protocols the edge speaks (and moto answers in); newer ones such as CBOR are skipped
# where a service also offers one of these.
SUPPORTED_PROTOCOLS = ("json", "rest-json", "query", "ec2", "rest-xml")
_INDEX_FORMAT = 3  # bump when ServiceInfo changes, so stale caches are rebuilt
_SESSION_LOCK = threading.Lock()
_SESSION = botocore.session.get_session()


@dataclass(frozen=True)
class ServiceInfo:
    name: str  # botocore's service name, as in boto3.client(name)
    signing_name: str
    target_prefix: str | None
    protocol: str  # the one this edge answers in by default
    protocols: tuple[str, ...]  # every one it speaks (CloudWatch: json, and query for older SDKs)
    api_version: str


@dataclass(frozen=True)
class Resolved:
    service: str | None
    operation: str | None
    protocol: str  # the protocol to answer in (json when unknown: botocore reads __type)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mysfits-lab"


def _build_index() -> dict[str, ServiceInfo]:
    loader = _SESSION.get_component("data_loader")
    index = {}
    for name in loader.list_available_services("service-2"):
        meta = loader.load_service_model(name, "service-2")["metadata"]
        protocols = meta.get("protocols") or [meta["protocol"]]
        spoken = [p for p in protocols if p in SUPPORTED_PROTOCOLS] or [meta["protocol"]]
        index[name] = ServiceInfo(
            name=name,
            signing_name=meta.get("signingName") or meta.get("endpointPrefix") or name,
            target_prefix=meta.get("targetPrefix"),
            protocol=spoken[0],
            protocols=tuple(spoken),
            api_version=meta.get("apiVersion", ""),
        )
    return index


@lru_cache(maxsize=1)
def service_index() -> dict[str, ServiceInfo]:
    path = cache_dir() / f"botocore-services-{botocore.__version__}-v{_INDEX_FORMAT}.json"
    try:
        return {
            k: ServiceInfo(**{**v, "protocols": tuple(v["protocols"])})
            for k, v in json.loads(path.read_text()).items()
        }
    except (OSError, ValueError, TypeError):
        pass
    index = _build_index()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({k: v.__dict__ for k, v in index.items()}))
        temporary.replace(path)
    except OSError as exc:  # a read-only home only costs the next start a few seconds
        log.info("cannot cache the service index in %s: %s", path, exc)
    return index


@lru_cache(maxsize=64)
def service_model(name: str) -> ServiceModel:
    with _SESSION_LOCK:  # botocore sessions are not thread-safe
        return _SESSION.get_service_model(name)


def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


class _RestRoute:
    """One REST operation's method + ``requestUri`` template as a regex."""

    def __init__(self, model: OperationModel):
        method, uri = model.http.get("method", "POST"), model.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        self.operation, self.method = model.name, method
        self.required = {
            key: value
            for key, _, value in (part.partition("=") for part in query.split("&") if part)
        }
        # Required header and query members tell apart operations on one URI
        # (CopyObject needs x-amz-copy-source, UploadPart partNumber and uploadId).
        shape = model.input_shape
        self.headers, self.params = [], []
        for name in shape.required_members if shape is not None else []:
            member = shape.members[name]
            wire = member.serialization.get("name", name)
            if member.serialization.get("location") == "header":
                self.headers.append(wire.lower())
            elif member.serialization.get("location") == "querystring":
                self.params.append(wire)
        pattern = ""
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{"):
                pattern += "(.+)" if piece.endswith("+}") else "([^/]+)"
            else:
                pattern += re.escape(piece)
        self.regex = re.compile(f"^{pattern.rstrip('/') or ''}/?$")
        # More literal characters and more required query keys: more specific.
        self.rank = (
            len(self.required) + len(self.headers) + len(self.params),
            len(re.sub(r"\{[^}]+\}", "", path)),
        )

    def matches(self, req: AwsRequest) -> bool:
        if req.method != self.method or not self.regex.match(req.raw_path):
            return False
        return (
            all(
                key in req.query and (not value or req.query[key][0] == value)
                for key, value in self.required.items()
            )
            and all(header in req.headers for header in self.headers)
            and all(param in req.query for param in self.params)
        )


@lru_cache(maxsize=64)
def _rest_routes(service: str) -> list[_RestRoute]:
    model = service_model(service)
    routes = [_RestRoute(model.operation_model(name)) for name in model.operation_names]
    return sorted(routes, key=lambda r: r.rank, reverse=True)


def rest_operation(service: str, req: AwsRequest) -> str | None:
    return next((r.operation for r in _rest_routes(service) if r.matches(req)), None)


class ServiceCatalog:
    def __init__(self) -> None:
        self._path_rules: list[tuple[re.Pattern[str], str]] = []

    def add_path_rule(self, pattern: str, service: str) -> None:
        """Unsigned requests whose path matches ``pattern`` belong to ``service``."""
        self._path_rules.append((re.compile(pattern), service))

    def resolve(self, req: AwsRequest) -> Resolved:
        info = self._service(req)
        if info is None:
            return Resolved(None, None, self._fallback_protocol(req))
        protocol = self._protocol(info, req)
        return Resolved(info.name, self._operation(info, req, protocol), protocol)

    @staticmethod
    def _fallback_protocol(req: AwsRequest) -> str:
        """The protocol of an error for a request of no known service, as its client reads it."""
        if req.target:
            return "json"
        if req.param("Action"):
            version = req.param("Version")
            ec2 = any(
                i.protocol == "ec2" and i.api_version == version for i in service_index().values()
            )
            return "ec2" if ec2 else "query"
        # Only S3 clients send a payload hash header (botocore's s3v4 signer, presigned URLs).
        return "rest-xml" if "x-amz-content-sha256" in req.headers else "rest-json"

    def _service(self, req: AwsRequest) -> ServiceInfo | None:
        index = service_index()
        prefix = req.target.rsplit(".", 1)[0] if req.target else None
        signing = req.signing_name
        if signing:
            candidates = [i for i in index.values() if i.signing_name == signing]
            if not candidates and signing in index:
                candidates = [index[signing]]
            chosen = self._narrow(candidates, req, prefix)
            if chosen is not None:
                return chosen
        if prefix:
            found = [i for i in index.values() if i.target_prefix == prefix]
            if found:
                return min(found, key=lambda i: i.name)
        for pattern, service in self._path_rules:
            if pattern.search(req.path) and service in index:
                return index[service]
        return None

    @staticmethod
    def _narrow(
        candidates: list[ServiceInfo], req: AwsRequest, prefix: str | None
    ) -> ServiceInfo | None:
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        if prefix:
            for info in candidates:
                if info.target_prefix == prefix:
                    return info
        version = req.param("Version") if req.param("Action") else None
        if version:
            for info in candidates:
                if info.api_version == version:
                    return info
        rest = [i for i in candidates if i.protocol.startswith("rest")]
        for info in sorted(rest, key=lambda i: (i.name != i.signing_name, i.name)):
            if rest_operation(info.name, req):
                return info
        named = [i for i in candidates if i.name == i.signing_name]
        return named[0] if named else candidates[0]

    @staticmethod
    def _operation(info: ServiceInfo, req: AwsRequest, protocol: str) -> str | None:
        if protocol == "json":
            return req.target.rsplit(".", 1)[-1] if req.target else None
        if protocol in ("query", "ec2"):
            return req.param("Action")
        return rest_operation(info.name, req)

    @staticmethod
    def _protocol(info: ServiceInfo, req: AwsRequest) -> str:
        """The protocol the request is written in, among those the service speaks."""
        if req.target and "json" in info.protocols:
            return "json"
        if req.param("Action") and {"query", "ec2"} & set(info.protocols):
            return "ec2" if "ec2" in info.protocols else "query"
        return info.protocol
