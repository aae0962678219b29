"""Lambda on the local cloud: Python functions that really run (moto alone runs them only in
Docker).

Control plane (``lambda``): moto records functions, versions, aliases and concurrency; this
provider checks what it can run (Python runtimes, .zip code, environment variables) before moto
records it, reads the code (inline or from S3), and reports the truthful ``State`` and
``LastUpdateStatus`` while the code is unpacked (``engine.py``). ``Invoke`` and ``InvokeAsync``
are never forwarded to moto: they run on warm worker processes (``worker.py``, ``pool.py``),
asynchronous ones through a queue with retries (``events.py``). A traced invocation (the
function's ``TracingConfig``, the caller's ``X-Amzn-Trace-Id``) gives X-Ray segments
(``tracing.py``).

Other providers invoke functions through the AWS API, as any client:
``ctx.client("lambda", region).invoke(FunctionName=..., Payload=...)``.

Control route: ``GET /_localcloud/lambda`` lists functions, their state and their workers.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from .code import CodeSource, inline_source, s3_source
from .engine import LambdaEngine
from .models import LATEST, Function, check_environment, check_runtime, invalid, parse_reference
from .tracing import HEADER as TRACE_HEADER


class LambdaProvider(Provider):
    name = "lambda"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.engine = LambdaEngine(ctx, self.workdir())
        # A check of a function's state and moto's record of the change must not interleave.
        self._changing = threading.Lock()

    def routes(self) -> list[Route]:
        handlers: dict[str, Callable[[Call], Any]] = {
            "CreateFunction": self._create,
            "UpdateFunctionCode": self._update_code,
            "UpdateFunctionConfiguration": self._update_configuration,
            "DeleteFunction": self._delete,
            "GetFunction": self._get,
            "GetFunctionConfiguration": self._get_configuration,
            "PublishVersion": self._publish,
            "PutFunctionConcurrency": self._put_concurrency,
            "DeleteFunctionConcurrency": self._delete_concurrency,
            "PublishLayerVersion": self._publish_layer,
            "Invoke": self._invoke,
            "InvokeAsync": self._invoke_async,
            "InvokeWithResponseStream": self._invoke_stream,
        }
        return [Route("lambda", operation, handler) for operation, handler in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._control)]

    # -- functions --------------------------------------------------------------------------
    def _create(self, call: Call) -> dict[str, Any]:
        params = call.params
        if (params.get("PackageType") or "Zip") == "Zip" and not (
            params.get("Runtime") and params.get("Handler")
        ):
            raise invalid(
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        check_runtime(params.get("Runtime"), params.get("PackageType"))
        check_environment((params.get("Environment") or {}).get("Variables"))
        source = self._source(call.region, params.get("Code") or {})
        try:
            with self._changing:
                answer = call.moto()
                fn = self.engine.create(call.region, answer, source, _log_group(params))
        except BaseException:
            source.discard()
            raise
        return fn.amend(answer, creating=True)

    def _update_code(self, call: Call) -> dict[str, Any]:
        params = call.params
        fn = self._function(call)
        if fn is None:
            return call.moto()
        if params.get("DryRun"):
            return fn.amend(call.moto())
        source = self._source(call.region, params)
        try:
            with self._changing:
                fn.check_mutable()
                answer = call.moto()
                version = answer.get("Version", LATEST)
                publish = version if params.get("Publish") and version != LATEST else None
                self.engine.update_code(fn, answer, source, publish)
        except BaseException:
            source.discard()
            raise
        return fn.amend(answer, updating=True)

    def _update_configuration(self, call: Call) -> dict[str, Any]:
        params = call.params
        if "Runtime" in params:
            check_runtime(params["Runtime"])
        check_environment((params.get("Environment") or {}).get("Variables"))
        fn = self._function(call)
        if fn is None:
            return call.moto()
        with self._changing:
            fn.check_mutable()
            answer = call.moto()
            # moto drops TracingConfig from this operation: the engine keeps it.
            tracing = (params.get("TracingConfig") or {}).get("Mode")
            self.engine.update_configuration(fn, answer, _log_group(params), tracing)
        return fn.amend(answer, updating=True)

    def _delete(self, call: Call) -> dict[str, Any]:
        ref = parse_reference(call.params.get("FunctionName", ""), call.region)
        with self._changing:
            answer = call.moto()
            qualifier = call.params.get("Qualifier") or ref.qualifier
            self.engine.delete(ref.region, ref.name, qualifier)
        return answer

    def _get(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        fn = self._known(call)
        if fn is not None and "Configuration" in answer:
            answer["Configuration"] = fn.amend(answer["Configuration"])
        return answer

    def _get_configuration(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        fn = self._known(call)
        return fn.amend(answer) if fn is not None else answer

    def _publish(self, call: Call) -> dict[str, Any]:
        fn = self._function(call)
        if fn is None:
            return call.moto()
        with self._changing:
            fn.check_mutable()
            answer = call.moto()
            self.engine.publish(fn, answer["Version"])
        return fn.amend(answer)

    def _put_concurrency(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        fn = self._function(call)
        if fn is not None:
            self.engine.set_concurrency(fn, int(answer["ReservedConcurrentExecutions"]))
        return answer

    def _delete_concurrency(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        fn = self._function(call)
        if fn is not None:
            self.engine.set_concurrency(fn, None)
        return answer

    def _publish_layer(self, call: Call) -> dict[str, Any]:
        source = self._source(call.region, call.params.get("Content") or {})
        try:
            answer = call.moto()
            self.engine.code.add_layer(answer["LayerVersionArn"], source)
        finally:
            source.discard()
        return answer

    # -- invocations ------------------------------------------------------------------------
    def _invoke(self, call: Call) -> Response:
        params = call.params
        result = self.engine.invoke(
            call.region,
            params.get("FunctionName", ""),
            params.get("Qualifier"),
            _bytes(params.get("Payload")),
            params.get("InvocationType") or "RequestResponse",
            params.get("LogType"),
            params.get("ClientContext"),
            call.request.headers.get(TRACE_HEADER),
        )
        response = call.respond(result.to_api())
        response.headers["x-amzn-RequestId"] = result.request_id
        if result.status == 200:
            response.headers["Content-Type"] = "application/json"
        return response

    def _invoke_async(self, call: Call) -> Response:
        params = call.params
        result = self.engine.invoke(
            call.region,
            params.get("FunctionName", ""),
            None,
            _bytes(params.get("InvokeArgs")),
            "Event",
            trace_header=call.request.headers.get(TRACE_HEADER),
        )
        response = call.respond({"Status": 202}, 202)
        response.headers["x-amzn-RequestId"] = result.request_id
        return response

    def _invoke_stream(self, _call: Call) -> dict[str, Any]:
        raise invalid(
            "The local cloud does not stream function responses: call Invoke (the function "
            "runs the same, its whole answer comes at once)."
        )

    # -- helpers --------------------------------------------------------------------------
    def _function(self, call: Call) -> Function | None:
        ref = parse_reference(call.params.get("FunctionName", ""), call.region)
        return self.engine.find(ref.region, ref.name)

    def _known(self, call: Call) -> Function | None:
        ref = parse_reference(call.params.get("FunctionName", ""), call.region)
        return self.engine.get(ref.region, ref.name)

    def _source(self, region: str, code: dict[str, Any]) -> CodeSource:
        """The .zip file of CreateFunction's ``Code``, UpdateFunctionCode or a layer's
        ``Content``: inline, or read from S3 through the API."""
        if code.get("ZipFile") is not None:
            return inline_source(_decoded(code["ZipFile"]))
        if code.get("S3Bucket") and code.get("S3Key"):
            s3 = self.ctx.client("s3", region)
            return s3_source(s3, code, self.engine.code.scratch)
        if code.get("ImageUri"):
            check_runtime(None, "Image")
        raise invalid("Please provide a source for function code: ZipFile, or S3Bucket and S3Key.")

    def _control(self, _request: Request) -> dict[str, Any]:
        return self.engine.status()

    def stop(self) -> None:
        self.engine.stop()

    def status(self) -> dict[str, Any]:
        functions = self.engine.status()["functions"]
        return {"lambda": {"functions": {name: f["state"] for name, f in functions.items()}}}


def _log_group(params: dict[str, Any]) -> str | None:
    return (params.get("LoggingConfig") or {}).get("LogGroup")


def _decoded(value: Any) -> bytes:
    """A blob member of a JSON body (``ZipFile``): base64 on the wire."""
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise ServiceError("InvalidRequestContentException", "The payload is not a byte string.")
