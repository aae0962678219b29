"""What the Lambda provider knows about a function, beyond moto's record: the code and settings
each version runs (``Revision``), and the truthful ``State`` / ``LastUpdateStatus`` of the
function while its code is unpacked. Pure state and checks; no I/O.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...constants import ACCOUNT_ID
from ...edge import ServiceError

# Runtimes AWS lets a .zip function be created with (December 2026). python3.9 is deprecated
# (no more patches) but still accepted until its block date, which AWS has moved twice;
# python3.15 is a preview, absent from the runtime list.
PYTHON_RUNTIMES = (
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
)
LATEST = "$LATEST"
DEFAULT_CONCURRENCY = 10  # concurrent executions of a function without reserved concurrency
ENVIRONMENT_LIMIT = 4096  # bytes of Environment.Variables, as AWS measures them
# Variables the Lambda runtime sets itself: AWS refuses a function that sets them.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)

_NAME = r"(?P<name>[A-Za-z0-9_-]{1,64})"
_QUALIFIER = r"(?::(?P<qualifier>[A-Za-z0-9$_-]{1,128}))?"
_REFERENCE = re.compile(
    rf"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{{12}}):function:"
    rf"|(?P<partial>\d{{12}}):function:)?{_NAME}{_QUALIFIER}$"
)

_serials = itertools.count(1)


def function_arn(region: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def not_found(region: str, name: str, qualifier: str | None = None) -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException",
        f"Function not found: {function_arn(region, name, qualifier)}",
        404,
        {"Type": "User"},
    )


def conflict(message: str) -> ServiceError:
    return ServiceError(
        "ResourceConflictException",
        f"The operation cannot be performed at this time. {message}",
        409,
        {"Type": "User"},
    )


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message, 400, {"Type": "User"})


@dataclass(frozen=True)
class FunctionRef:
    region: str
    name: str
    qualifier: str | None


def parse_reference(reference: str, region: str, qualifier: str | None = None) -> FunctionRef:
    """A function's name, ARN or partial ARN (each with an optional ``:qualifier``), and the
    ``Qualifier`` parameter, as Lambda reads them."""
    match = _REFERENCE.match(reference or "")
    if match is None:
        raise invalid(f"The function name {reference[:140]!r} is not a valid function name.")
    account = match["account"] or match["partial"]
    if account and account != ACCOUNT_ID:
        raise ServiceError(
            "AccessDeniedException",
            f"The account {account} does not exist on the local cloud (its account is "
            f"{ACCOUNT_ID}).",
            403,
        )
    derived = match["qualifier"]
    if derived and qualifier and derived != qualifier:
        raise invalid(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return FunctionRef(match["region"] or region, match["name"], derived or qualifier)


def check_runtime(runtime: str | None, package_type: str | None = "Zip") -> None:
    """The local cloud runs Python .zip functions only: anything else is refused up front."""
    if (package_type or "Zip") != "Zip":
        raise invalid(
            "The local cloud runs .zip functions only (PackageType Zip): it has no container "
            "engine to run a function image."
        )
    if runtime not in PYTHON_RUNTIMES:
        raise invalid(
            f"The runtime parameter of {runtime} is not supported by the local cloud: it runs "
            f"Python functions only. Supported runtimes: {', '.join(PYTHON_RUNTIMES)}."
        )


def check_environment(variables: Mapping[str, Any] | None) -> None:
    """Reserved keys and the 4 KB limit, with AWS's messages."""
    if not variables:
        return
    reserved = sorted(k for k in variables if k in RESERVED_VARIABLES)
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = ",".join(f"{k}:{v}" for k, v in variables.items())
    if len(measured.encode()) > ENVIRONMENT_LIMIT:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit. String measured: "
            f"{{{measured[:200]}...}}"
        )


@dataclass(frozen=True)
class Revision:
    """The code and settings one version of a function runs; workers of an older ``serial``
    are recycled."""

    region: str
    name: str
    version: str  # "$LATEST" or a published version number
    runtime: str
    handler: str
    timeout: int  # seconds
    memory: int  # MB
    environment: Mapping[str, str]
    code_sha256: str  # hex digest of the .zip file
    code_dir: Path
    layer_dirs: tuple[Path, ...] = ()
    log_group: str = ""
    tracing: str = "PassThrough"  # TracingConfig.Mode
    serial: int = field(default_factory=lambda: next(_serials))

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.name)

    def published(self, version: str) -> Revision:
        return replace(self, version=version, serial=next(_serials))


def revision_from(
    config: Mapping[str, Any],
    region: str,
    code_dir: Path,
    layer_dirs: tuple[Path, ...],
    log_group: str | None,
) -> Revision:
    """The $LATEST revision described by moto's FunctionConfiguration (its answer to
    CreateFunction, UpdateFunctionCode or UpdateFunctionConfiguration)."""
    name = config["FunctionName"]
    return Revision(
        region=region,
        name=name,
        version=LATEST,
        runtime=config.get("Runtime") or "",
        handler=config.get("Handler") or "",
        timeout=int(config.get("Timeout") or 3),
        memory=int(config.get("MemorySize") or 128),
        environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        code_sha256=config.get("_CodeSha256Hex") or "",
        code_dir=code_dir,
        layer_dirs=layer_dirs,
        log_group=log_group or f"/aws/lambda/{name}",
        tracing=tracing_mode(config),
    )


def tracing_mode(config: Mapping[str, Any]) -> str:
    """``TracingConfig.Mode`` of a configuration (PassThrough when absent)."""
    return (config.get("TracingConfig") or {}).get("Mode") or "PassThrough"


@dataclass
class Function:
    """One function: its current $LATEST revision, its published versions, and the state AWS
    reports for it. Guarded by the engine's lock."""

    region: str
    name: str
    latest: Revision | None = None  # None until the code is unpacked
    versions: dict[str, Revision] = field(default_factory=dict)
    state: str = "Pending"  # Pending, Active, Failed
    state_reason: str = "The function is being created."
    state_code: str = "Creating"
    update: str | None = None  # LastUpdateStatus: InProgress, Successful, Failed
    update_reason: str = ""
    update_code: str = ""
    reserved: int | None = None  # reserved concurrency
    log_group: str | None = None  # LoggingConfig.LogGroup
    # TracingConfig.Mode of $LATEST: kept here, as moto drops it from UpdateFunctionConfiguration.
    tracing: str = "PassThrough"

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.name)

    @property
    def busy(self) -> bool:
        """Being created or updated: a further change is refused, as on AWS."""
        return self.state == "Pending" or self.update == "InProgress"

    def check_mutable(self) -> None:
        if self.state == "Pending":
            raise conflict("The function is currently in the following state: Pending")
        if self.update == "InProgress":
            raise conflict(f"An update is in progress for resource: {self.arn}")

    def begin_update(self) -> None:
        self.update, self.update_reason, self.update_code = (
            "InProgress",
            "The function is being created.",
            "Creating",
        )

    def activated(self, revision: Revision) -> None:
        self.latest = revision
        self.state, self.state_reason, self.state_code = "Active", "", ""
        self.update, self.update_reason, self.update_code = "Successful", "", ""

    def failed(self, reason: str, code: str) -> None:
        """The code could not be unpacked: a new function is Failed (it cannot run); an
        updated one keeps running its previous code, its update Failed."""
        if self.latest is None:
            self.state, self.state_reason, self.state_code = "Failed", reason, code
        self.update, self.update_reason, self.update_code = "Failed", reason, code

    def state_fields(self, creating: bool = False, updating: bool = False) -> dict[str, Any]:
        """State and LastUpdateStatus members of a FunctionConfiguration. The answers to
        CreateFunction and Update* describe the operation that began: Pending, InProgress."""
        fields: dict[str, Any] = {}
        state = "Pending" if creating else self.state
        if state == "Active":
            fields["State"] = "Active"
        else:
            reason = "The function is being created." if creating else self.state_reason
            fields.update(
                State=state,
                StateReason=reason,
                StateReasonCode="Creating" if creating else self.state_code,
            )
        update = "InProgress" if updating else (None if creating else self.update)
        if update == "Successful":
            fields["LastUpdateStatus"] = "Successful"
        elif update:
            fields.update(
                LastUpdateStatus=update,
                LastUpdateStatusReason=(
                    "The function is being created." if updating else self.update_reason
                ),
                LastUpdateStatusReasonCode="Creating" if updating else self.update_code,
            )
        return fields

    def amend(
        self, config: dict[str, Any], creating: bool = False, updating: bool = False
    ) -> dict[str, Any]:
        """moto's FunctionConfiguration with the state this provider knows."""
        for key in (
            "State",
            "StateReason",
            "StateReasonCode",
            "LastUpdateStatus",
            "LastUpdateStatusReason",
            "LastUpdateStatusReasonCode",
        ):
            config.pop(key, None)
        version = config.get("Version", LATEST)
        if version != LATEST and version in self.versions:
            config["State"] = "Active"  # a published version is ready once it exists here
            config["LastUpdateStatus"] = "Successful"
            config["TracingConfig"] = {"Mode": self.versions[version].tracing}
            return config
        config.update(self.state_fields(creating, updating))
        if version == LATEST:
            config["TracingConfig"] = {"Mode": self.tracing}
        return config
