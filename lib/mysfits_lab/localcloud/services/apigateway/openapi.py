"""Reading an API definition for ImportRestApi / PutRestApi: JSON or YAML, OpenAPI 3.0.x or
Swagger 2.0 (including ``"swagger": 2.0`` written as a number, as API Gateway accepts it),
checked as API Gateway checks it, into an ``ApiDefinition``.

Every problem found is named in one ``InvalidDocument`` ("Errors found during import: ...").
Warnings are returned with the definition; with ``failOnWarnings`` the caller refuses them.
moto is stricter (it refuses Swagger 2.0 and OPTIONS methods that declare no path parameters)
and looser (it drops authorizers, MOCK integrations and connection ids); here neither.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import yaml

from .definition import ApiDefinition, MethodSpec
from .extensions import (
    GATEWAY_RESPONSES,
    INTEGRATION,
    Problems,
    read_gateway_responses,
    read_integration,
)
from .security import apply_security, security_schemes

METHODS = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    "x-amazon-apigateway-any-method": "ANY",
}
_PATH_ITEM_FIELDS = {"parameters", "summary", "description", "servers", "$ref"}
_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}
_MAX_REF_DEPTH = 32


class InvalidDocument(ValueError):
    def __init__(self, errors: list[str], heading: str = "Errors found during import:"):
        self.errors = errors
        super().__init__("\n\t".join([heading, *errors]))


def load(body: bytes | str) -> dict[str, Any]:
    """The document as data: JSON, else YAML (safe loading only)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise InvalidDocument(["The API definition is not UTF-8 text"]) from None
    if not text.strip():
        raise InvalidDocument(["The API definition is empty"])
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = str(exc).replace("\n", " ")
            raise InvalidDocument(
                [f"Invalid OpenAPI input: neither JSON nor YAML ({problem})"]
            ) from None
    if not isinstance(document, dict):
        raise InvalidDocument(["Invalid OpenAPI input: the document is not an object"])
    return document


def document_version(document: dict[str, Any]) -> str:
    """'openapi3' or 'swagger2'; InvalidDocument for anything else."""
    swagger, openapi = document.get("swagger"), document.get("openapi")
    if swagger is not None and str(swagger) in ("2", "2.0"):
        return "swagger2"
    if openapi is not None and str(openapi).startswith("3."):
        return "openapi3"
    found = f"swagger: {swagger!r}" if swagger is not None else f"openapi: {openapi!r}"
    if swagger is None and openapi is None:
        found = "neither 'swagger' nor 'openapi'"
    raise InvalidDocument(
        [
            f"Invalid OpenAPI input: unsupported version ({found}); API Gateway imports "
            "OpenAPI 3.0 ('openapi: 3.0.1') and Swagger 2.0 ('swagger: \"2.0\"')"
        ]
    )


def read_definition(body: bytes | str, parameters: dict[str, str] | None = None) -> ApiDefinition:
    """The API a document defines; ``parameters`` are ImportRestApi's (``basepath``,
    ``endpointConfigurationTypes``)."""
    document = load(body)
    return _Reader(document, document_version(document), parameters or {}).read()


class _Reader:
    def __init__(self, document: dict[str, Any], version: str, parameters: dict[str, str]):
        self.doc = document
        self.version = version
        self.parameters = parameters
        self.problems = Problems()

    # -- references -----------------------------------------------------------------------
    def resolve(self, node: Any, where: str) -> Any:
        """Follow internal ``$ref``s ("#/components/parameters/id"); external ones are refused."""
        for _ in range(_MAX_REF_DEPTH):
            if not (isinstance(node, dict) and "$ref" in node):
                return node
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                self.problems.error(f"Unsupported reference {ref!r} on {where}: only #/... ones")
                return None
            target: Any = self.doc
            for step in ref[2:].split("/"):
                step = step.replace("~1", "/").replace("~0", "~")
                target = target.get(step) if isinstance(target, dict) else None
            if target is None:
                self.problems.error(f"Unresolvable reference {ref!r} on {where}")
                return None
            node = target
        self.problems.error(f"References nest too deep on {where}")
        return None

    # -- the document ---------------------------------------------------------------------
    def read(self) -> ApiDefinition:
        info = self.resolve(self.doc.get("info"), "info")
        info = info if isinstance(info, dict) else {}
        title = info.get("title")
        if not isinstance(title, str) or not title.strip():
            self.problems.error("Invalid OpenAPI input: info.title (the API's name) is required")
        definition = ApiDefinition(
            title=str(title or ""),
            description=_text(info.get("description")),
            version=_text(info.get("version")),
        )
        self._api_settings(definition)
        schemes = security_schemes(self.doc, self.version, self.resolve, definition, self.problems)
        paths = self.doc.get("paths", {})
        if not isinstance(paths, dict):
            self.problems.error("Invalid OpenAPI input: paths must be an object")
            paths = {}
        base = self._base_path()
        for raw_path, item in paths.items():
            path = self._resource_path(str(raw_path), base)
            if path is None:
                continue
            item = self.resolve(item, str(raw_path))
            if not isinstance(item, dict):
                self.problems.error(f"Invalid path item {raw_path!r}: expected an object")
                continue
            methods = definition.paths.setdefault(path, {})
            shared = item.get("parameters") or []
            for key, operation in item.items():
                verb = METHODS.get(str(key).lower())
                if verb is None:
                    if key not in _PATH_ITEM_FIELDS and not str(key).startswith("x-"):
                        self.problems.warn(f"Ignoring unsupported operation {key!r} on {path}")
                    continue
                operation = self.resolve(operation, f"{verb} {path}")
                if not isinstance(operation, dict):
                    self.problems.error(f"Invalid operation {verb} {path}: expected an object")
                    continue
                methods[verb] = self._method(verb, path, operation, shared, schemes)
        self._check_siblings(definition)
        if self.problems.errors:
            raise InvalidDocument(self.problems.errors)
        definition.warnings = self.problems.warnings
        return definition

    def _api_settings(self, definition: ApiDefinition) -> None:
        types = self.parameters.get("endpointConfigurationTypes")
        configured = self.doc.get("x-amazon-apigateway-endpoint-configuration")
        if types:
            definition.endpoint_types = [t.strip().upper() for t in types.split(",") if t.strip()]
        elif isinstance(configured, dict) and isinstance(configured.get("types"), list):
            definition.endpoint_types = [str(t).upper() for t in configured["types"]]
        for kind in definition.endpoint_types:
            if kind not in ("EDGE", "REGIONAL", "PRIVATE"):
                self.problems.error(f"Invalid endpoint configuration type {kind!r}")
        media = self.doc.get("x-amazon-apigateway-binary-media-types")
        if isinstance(media, list):
            definition.binary_media_types = [str(m) for m in media]
        source = self.doc.get("x-amazon-apigateway-api-key-source")
        if source is not None:
            definition.api_key_source = str(source).upper()
        policy = self.doc.get("x-amazon-apigateway-policy")
        if policy is not None:
            definition.policy = policy if isinstance(policy, str) else json.dumps(policy)
        responses = self.resolve(self.doc.get(GATEWAY_RESPONSES), GATEWAY_RESPONSES)
        definition.gateway_responses = read_gateway_responses(responses, self.problems)
        size = self.doc.get("x-amazon-apigateway-minimum-compression-size")
        if isinstance(size, int) and not isinstance(size, bool):
            definition.minimum_compression_size = size

    def _base_path(self) -> str:
        """The part of the paths ``basepath=prepend|split`` adds (``ignore``, the default,
        adds nothing)."""
        mode = self.parameters.get("basepath", "ignore").lower()
        if mode not in ("ignore", "prepend", "split"):
            self.problems.error(f"Invalid basepath mode {mode!r}: ignore, prepend or split")
            return ""
        if mode == "ignore":
            return ""
        if self.version == "swagger2":
            base = str(self.doc.get("basePath") or "")
        else:
            servers = self.doc.get("servers")
            first = servers[0] if isinstance(servers, list) and servers else {}
            server = first if isinstance(first, dict) else {}
            url = str(server.get("url") or "")
            variables = server.get("variables")
            for name, variable in (variables if isinstance(variables, dict) else {}).items():
                default = variable.get("default", "") if isinstance(variable, dict) else ""
                url = url.replace("{" + str(name) + "}", str(default))
            base = urlsplit(url).path
        parts = [p for p in base.split("/") if p]
        if mode == "split":
            parts = parts[1:]
        return "".join(f"/{p}" for p in parts)

    def _resource_path(self, raw: str, base: str) -> str | None:
        if not raw.startswith("/"):
            self.problems.error(f"Invalid path {raw!r}: it must start with '/'")
            return None
        path = (base + raw).rstrip("/") or "/"
        parts = path.split("/")[1:] if path != "/" else []
        for index, part in enumerate(parts):
            if not _valid_part(part):
                self.problems.error(
                    f"Resource's path part {part!r} of {raw!r} is invalid: only a-zA-Z0-9._-: "
                    "or a {variable} (a {greedy+} one last) may be used"
                )
                return None
            if part.endswith("+}") and index != len(parts) - 1:
                self.problems.error(f"A greedy path part must be the last one: {raw!r}")
                return None
        return path

    @staticmethod
    def _variables(path: str) -> set[str]:
        return {p.strip("{}+") for p in path.split("/") if p.startswith("{")}

    def _check_siblings(self, definition: ApiDefinition) -> None:
        variables: dict[str, set[str]] = {}
        for path in definition.paths:
            parts = path.split("/")[1:] if path != "/" else []
            for depth, part in enumerate(parts):
                if part.startswith("{"):
                    parent = "/" + "/".join(parts[:depth])
                    variables.setdefault(parent, set()).add(part)
        for parent, parts in sorted(variables.items()):
            if len(parts) > 1:
                names = ", ".join(sorted(parts))
                self.problems.error(
                    f"Resources under {parent} have several variable path parts ({names}): "
                    "only one is allowed"
                )

    # -- methods --------------------------------------------------------------------------
    def _method(
        self,
        verb: str,
        path: str,
        operation: dict[str, Any],
        shared: list[Any],
        schemes: dict[str, dict[str, Any]],
    ) -> MethodSpec:
        where = f"{verb} {path}"
        method = MethodSpec(http_method=verb, operation_name=_text(operation.get("operationId")))
        declared = []
        for parameters in (shared, operation.get("parameters") or []):
            if isinstance(parameters, list):
                declared += parameters
            else:
                self.problems.error(f"Invalid parameters on {where}: expected a list")
        method.request_parameters = self._request_parameters(declared, where)
        requirements = operation.get("security", self.doc.get("security"))
        apply_security(method, requirements, schemes, where, self.problems)
        method.responses = self._method_responses(operation, where)
        if INTEGRATION in operation:
            data = self.resolve(operation[INTEGRATION], where)
            method.integration = read_integration(
                data, where, self._variables(path), set(method.request_parameters), self.problems
            )
        return method

    def _request_parameters(self, declared: list[Any], where: str) -> dict[str, bool]:
        found: dict[str, bool] = {}
        if not isinstance(declared, list):
            self.problems.error(f"Invalid parameters on {where}: expected a list")
            return found
        for parameter in declared:
            parameter = self.resolve(parameter, where)
            if not isinstance(parameter, dict):
                self.problems.error(f"Invalid parameter on {where}: expected an object")
                continue
            location = _LOCATIONS.get(str(parameter.get("in")))
            name = parameter.get("name")
            if location is None or not name:
                continue  # body, formData, cookie: no method request parameter
            required = location == "path" or bool(parameter.get("required"))
            found[f"method.request.{location}.{name}"] = required
        return found

    def _method_responses(self, operation: dict[str, Any], where: str) -> dict[str, dict]:
        responses = operation.get("responses")
        if responses is None:
            self.problems.warn(f"attribute responses is missing on {where}")
            return {}
        if not isinstance(responses, dict):
            self.problems.error(f"Invalid responses on {where}: expected an object")
            return {}
        found = {}
        for status, response in responses.items():
            code = str(status)
            if not (code.isdigit() and len(code) == 3):
                continue  # "default": no method response of its own
            response = self.resolve(response, where)
            headers = response.get("headers") if isinstance(response, dict) else None
            names = headers if isinstance(headers, dict) else {}
            found[code] = {f"method.response.header.{name}": False for name in names}
        return found


def _valid_part(part: str) -> bool:
    if part.startswith("{"):
        name = part[1:-1].removesuffix("+")
        return part.endswith("}") and bool(name) and all(c.isalnum() or c in "._-" for c in name)
    return bool(part) and all(c.isalnum() or c in "._-:" for c in part)


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)
