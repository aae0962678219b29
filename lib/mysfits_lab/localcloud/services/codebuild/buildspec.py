"""Reading a buildspec (pure): phases, variables and artifacts, with CodeBuild's own errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

# The build phases that run buildspec commands, and their names in the buildspec.
COMMAND_PHASES = {
    "INSTALL": "install",
    "PRE_BUILD": "pre_build",
    "BUILD": "build",
    "POST_BUILD": "post_build",
}


class PhaseError(Exception):
    """A phase failed; ``code``/``message`` become the phase's context, as AWS reports it."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def yaml_error(message: str) -> PhaseError:
    return PhaseError("YAML_FILE_ERROR", message)


@dataclass
class PhaseSpec:
    commands: list[str] = field(default_factory=list)
    finally_: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"
    runtime_versions: dict[str, Any] = field(default_factory=dict)


@dataclass
class Buildspec:
    version: str
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    phases: dict[str, PhaseSpec] = field(default_factory=dict)
    artifacts: dict[str, Any] | None = None

    def phase(self, build_phase: str) -> PhaseSpec | None:
        """The commands of a build phase (``PRE_BUILD``), if the buildspec has any."""
        return self.phases.get(COMMAND_PHASES.get(build_phase, ""))


def truthy(value: Any) -> bool:
    """A buildspec yes/no (``yes``, ``true``, ``1``)."""
    return value is True or str(value).lower() in ("yes", "true", "1")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _commands(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise yaml_error(f"Expected {where} to be a list of commands")
    commands = []
    for index, item in enumerate(value):
        # An unquoted "- echo a: b" is a mapping in YAML; CodeBuild rejects it the same way.
        if isinstance(item, dict | list):
            raise yaml_error(
                f"Expected {where}[{index}] to be of string type: found subkeys "
                "instead (quote the command)"
            )
        commands.append(str(item))
    return commands


def _phase(name: str, body: Any) -> PhaseSpec:
    body = body or {}
    if not isinstance(body, dict):
        raise yaml_error(f"phase {name} must be a mapping with commands")
    on_failure = str(body.get("on-failure", "ABORT")).upper()
    if on_failure not in ("ABORT", "CONTINUE"):
        raise yaml_error(f"phase {name}: on-failure must be ABORT or CONTINUE")
    return PhaseSpec(
        commands=_commands(body.get("commands"), "Commands"),
        finally_=_commands(body.get("finally"), "Finally"),
        on_failure=on_failure,
        runtime_versions=dict(body.get("runtime-versions") or {}),
    )


def parse_buildspec(text: str) -> Buildspec:
    """Read a buildspec (version 0.2, or 0.1 where each command runs in its own shell);
    PhaseError ``YAML_FILE_ERROR`` when CodeBuild would reject it."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(f"the buildspec is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise yaml_error("the buildspec must be a YAML mapping with version and phases")
    version = str(document.get("version", ""))
    if version not in ("0.2", "0.1"):
        raise yaml_error(f"invalid buildspec version {version or '(missing)'!r}: use 0.2")
    env = document.get("env") or {}
    if not isinstance(env, dict):
        raise yaml_error("env must be a mapping")
    spec = Buildspec(
        version=version,
        variables={str(k): _scalar(v) for k, v in (env.get("variables") or {}).items()},
        parameter_store={str(k): str(v) for k, v in (env.get("parameter-store") or {}).items()},
        secrets_manager={str(k): str(v) for k, v in (env.get("secrets-manager") or {}).items()},
    )
    phases = document.get("phases") or {}
    if not isinstance(phases, dict):
        raise yaml_error("phases must be a mapping")
    known = set(COMMAND_PHASES.values())
    for name, body in phases.items():
        if name not in known:
            raise yaml_error(f"unknown phase {name!r} (phases are {', '.join(sorted(known))})")
        spec.phases[name] = _phase(name, body)
    artifacts = document.get("artifacts")
    if artifacts is not None:
        if not isinstance(artifacts, dict) or not artifacts.get("files"):
            raise yaml_error("artifacts needs a files list")
        spec.artifacts = artifacts
    return spec
