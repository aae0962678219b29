"""Lambda functions from ``assets/functions/<folder>``, as every module that has one deploys
them: packaged as ``sam build`` would (dependencies installed, never vendored), created or —
on a rerun — updated only when the code or the settings changed, and waited for until Lambda
says the function is ready.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..functions_package import package
from ..lab import Lab, LabError
from ..paths import assets_dir
from ..waiting import wait_until
from . import iam
from .aws_errors import error_code, tolerate

RUNTIME = "python3.12"
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# A role created a moment ago may not be assumable by Lambda yet (IAM is eventually consistent).
_ROLE_NOT_READY = "cannot be assumed by Lambda"


def functions_dir() -> Path:
    return assets_dir() / "functions"


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # the learner-prefixed function name
    folder: str  # under assets/functions/
    handler: str  # module.function
    role_arn: str
    environment: dict[str, str]
    timeout: int = 30
    memory: int = 128
    extra_files: tuple[tuple[str, bytes], ...] = ()  # generated files packaged with the code
    tracing: bool = False

    def configuration(self) -> dict[str, Any]:
        return {
            "FunctionName": self.name,
            "Runtime": RUNTIME,
            "Role": self.role_arn,
            "Handler": self.handler,
            "Timeout": self.timeout,
            "MemorySize": self.memory,
            "Environment": {"Variables": dict(self.environment)},
            "TracingConfig": {"Mode": "Active" if self.tracing else "PassThrough"},
        }


def execution_role(lab: Lab, name: str, statements: list[dict[str, Any]] | None = None) -> str:
    """The function's role: CloudWatch Logs, plus what ``statements`` allow."""
    inline = None
    if statements:
        inline = {"access": {"Version": "2012-10-17", "Statement": statements}}
    return iam.ensure_role(
        lab,
        name,
        "lambda.amazonaws.com",
        managed_policies=(BASIC_EXECUTION,),
        inline_policies=inline,
    )


def code_zip(spec: FunctionSpec) -> bytes:
    source = functions_dir() / spec.folder
    if not spec.extra_files:
        return package(source)
    with tempfile.TemporaryDirectory() as staging:
        folder = Path(staging) / spec.folder
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__"))
        for name, content in spec.extra_files:
            (folder / name).write_bytes(content)
        return package(folder)


def code_sha256(code: bytes) -> str:
    """What Lambda reports as ``CodeSha256``: base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    env = current.get("Environment", {}).get("Variables", {})
    return (
        env != wanted["Environment"]["Variables"]
        or current.get("Handler") != wanted["Handler"]
        or current.get("Timeout") != wanted["Timeout"]
        or current.get("MemorySize") != wanted["MemorySize"]
        or current.get("Role") != wanted["Role"]
        or current.get("Runtime") != wanted["Runtime"]
        or current.get("TracingConfig", {}).get("Mode") != wanted["TracingConfig"]["Mode"]
    )


def deploy(lab: Lab, spec: FunctionSpec) -> dict[str, Any]:
    """Create the function, or update its code and settings where they changed; waits until
    it is ready. Returns its configuration and what was done (``"action"``)."""
    client = lab.client("lambda")
    code = code_zip(spec)
    wanted = spec.configuration()
    try:
        current = client.get_function_configuration(FunctionName=spec.name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        created = _create(lab, wanted, code)
        return _ready(lab, spec.name) | {"action": "created", "FunctionArn": created["FunctionArn"]}
    action = "unchanged"
    if _differs(current, wanted):
        _wait_idle(lab, spec.name)
        client.update_function_configuration(**wanted)
        action = "settings updated"
    if current.get("CodeSha256") != code_sha256(code):
        _wait_idle(lab, spec.name)
        client.update_function_code(FunctionName=spec.name, ZipFile=code)
        action = "code updated" if action == "unchanged" else "code and settings updated"
    return _ready(lab, spec.name) | {"action": action}


def _create(lab: Lab, configuration: dict[str, Any], code: bytes) -> dict[str, Any]:
    client = lab.client("lambda")
    deadline = time.monotonic() + lab.wait_budget(60)
    while True:
        try:
            return client.create_function(
                **configuration, Code={"ZipFile": code}, Tags=lab.tags, Publish=False
            )
        except ClientError as exc:
            role_pending = _ROLE_NOT_READY in str(exc)
            if not role_pending or time.monotonic() > deadline:
                raise
            time.sleep(lab.poll_interval * 4)


def _wait_idle(lab: Lab, name: str) -> None:
    """An update is refused while another is in progress."""
    _ready(lab, name)


def _ready(lab: Lab, name: str) -> dict[str, Any]:
    client = lab.client("lambda")

    def ready() -> dict[str, Any] | None:
        current = client.get_function_configuration(FunctionName=name)
        if current.get("State") == "Failed" or current.get("LastUpdateStatus") == "Failed":
            reason = current.get("StateReason") or current.get("LastUpdateStatusReason")
            raise LabError(f"Lambda function {name} failed to deploy: {reason}")
        settled = current.get("State") == "Active" and current.get("LastUpdateStatus") in (
            None,
            "Successful",
        )
        return current if settled else None

    return wait_until(
        ready,
        f"Lambda function {name} to be ready",
        timeout=lab.wait_budget(300),
        # Local code is unpacked in a moment; on AWS, a function is ready within seconds.
        interval=min(lab.poll_interval, 0.5),
    )


def delete(lab: Lab, name: str) -> list[str]:
    with tolerate("ResourceNotFoundException"):
        lab.client("lambda").delete_function(FunctionName=name)
        return [f"Lambda function {name}"]
    return []
