"""Functions moto created by itself — a CloudFormation stack's ``AWS::Lambda::Function`` never
passes through the API routes — are adopted on their first use: their configuration comes from
moto's API, their code from moto's in-process record (the API only gives a download URL that
does not exist)."""

from __future__ import annotations

import logging

from ...constants import ACCOUNT_ID
from ...core.provider import Context
from ...edge import ServiceError
from .code import CodeStore, inline_source
from .models import PYTHON_RUNTIMES, Revision, revision_from

log = logging.getLogger("mysfits_lab.localcloud.lambda")


def moto_code(region: str, name: str) -> bytes | None:
    """The .zip file moto keeps for ``name`` (moto 5: ``LambdaFunction.code_bytes``)."""
    try:
        from moto.awslambda.models import lambda_backends

        function = lambda_backends[ACCOUNT_ID][region].get_function(name)
        data = getattr(function, "code_bytes", None)
    except Exception as exc:  # moto's internals moved, or the function just went
        log.warning("cannot read the code of %s from moto: %s", name, exc)
        return None
    return data if isinstance(data, bytes) and data else None


def adopted_revision(
    ctx: Context, code: CodeStore, region: str, name: str, strict: bool
) -> Revision | None:
    """The $LATEST revision of a function only moto knows, its code unpacked; None when moto
    does not know it either, or (unless ``strict``) when it is not a Python .zip function."""
    try:
        config = ctx.moto("lambda", "GetFunctionConfiguration", region, FunctionName=name)
    except (ServiceError, LookupError):
        return None
    data = moto_code(region, name)
    if data is None or config.get("Runtime") not in PYTHON_RUNTIMES:
        if not strict:
            return None
        raise ServiceError(
            "InvalidRuntimeException",
            f"The local cloud cannot run {name}: it runs Python .zip functions only "
            f"({config.get('Runtime') or config.get('PackageType')}).",
            502,
        )
    source = inline_source(data)
    layers = code.layer_dirs([layer["Arn"] for layer in config.get("Layers") or []])
    return revision_from(
        {**config, "_CodeSha256Hex": source.sha256}, region, code.unpack(source), layers, None
    )
