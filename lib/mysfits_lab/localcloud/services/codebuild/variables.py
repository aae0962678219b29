"""The variables a build's commands see from the buildspec, the project and StartBuild, with
Parameter Store and Secrets Manager references resolved through their APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .buildspec import Buildspec, PhaseError

ClientFor = Callable[[str], Any]  # service name -> boto3 client in the build's region


def user_variables(
    buildspec: Buildspec, environment_variables: list[dict[str, Any]], client: ClientFor
) -> dict[str, str]:
    """Lowest to highest precedence: buildspec, project, StartBuild override (the project's
    ``environmentVariables`` list already ends with the overrides)."""
    found = dict(buildspec.variables)
    for name, value in buildspec.parameter_store.items():
        found[name] = resolve(client, "PARAMETER_STORE", value)
    for name, value in buildspec.secrets_manager.items():
        found[name] = resolve(client, "SECRETS_MANAGER", value)
    for variable in environment_variables:
        found[variable["name"]] = resolve(
            client, variable.get("type", "PLAINTEXT"), str(variable.get("value", ""))
        )
    return found


def resolve(client: ClientFor, kind: str, value: str) -> str:
    """A variable's value: PLAINTEXT as is, the others read from their service."""
    try:
        if kind == "PARAMETER_STORE":
            found = client("ssm").get_parameter(Name=value, WithDecryption=True)
            return found["Parameter"]["Value"]
        if kind == "SECRETS_MANAGER":
            return _secret(client, value)
    except ClientError as exc:
        raise PhaseError(
            "CLIENT_ERROR",
            f"cannot resolve {kind} value {value!r}: {exc.response['Error'].get('Message', exc)}",
        ) from None
    return value


def _secret(client: ClientFor, reference: str) -> str:
    parts = reference.split(":")
    # "secret-id:json-key:version-stage:version-id", where secret-id may be an ARN.
    cut = 7 if parts[0] == "arn" else 1
    secret_id, rest = ":".join(parts[:cut]), parts[cut:] + ["", "", ""]
    json_key, stage, version = rest[0], rest[1], rest[2]
    kwargs: dict[str, str] = {"SecretId": secret_id}
    if stage:
        kwargs["VersionStage"] = stage
    if version:
        kwargs["VersionId"] = version
    text = client("secretsmanager").get_secret_value(**kwargs).get("SecretString", "")
    return str(json.loads(text)[json_key]) if json_key else text
