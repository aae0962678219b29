"""The functions of this cloud and their invocations.

The control plane stays moto's; the engine keeps, per function, what runs (``Revision``s) and
the state AWS reports while code is unpacked: a new function is Pending until its code is
unpacked (on a background thread), then Active; an update is InProgress — invocations keep
running the previous code meanwhile — then Successful, and the workers of the old code are
recycled. Invocations run on the function's ``FunctionPool``; asynchronous ones go through the
``EventQueue``. Traced invocations give X-Ray segments (``tracing.py``).
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ...core.provider import Context
from ...edge import ServiceError
from .adopt import adopted_revision
from .code import CodeSource, CodeStore, sdk_dir
from .events import AsyncEvent, EventQueue, QueueFull
from .host import WorkerHost, environment_for, function_paths, socket_dir
from .invocations import Runner
from .models import (
    DEFAULT_CONCURRENCY,
    LATEST,
    Function,
    Revision,
    conflict,
    function_arn,
    not_found,
    parse_reference,
    revision_from,
    tracing_mode,
)
from .output import LogSink
from .payloads import InvokeResult, check_json, check_size, decode_client_context, throttled
from .pool import FunctionPool
from .tracing import TraceHeader, decide
from .worker import Invocation, Worker

log = logging.getLogger("mysfits_lab.localcloud.lambda")

IDLE_SECONDS = 600.0  # a worker idle this long is stopped, as Lambda reclaims environments
SETTLE_WAIT = 10.0  # seconds an invocation of a version being published waits for it


class LambdaEngine:
    def __init__(self, ctx: Context, workdir: Path):
        self.ctx = ctx
        self.code = CodeStore(workdir)
        self._functions: dict[tuple[str, str], Function] = {}
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._lock = threading.RLock()
        self._settled = threading.Condition(self._lock)  # a creation or update finished
        self._preparing = ThreadPoolExecutor(2, thread_name_prefix="lambda-prepare")
        self._stopping = ThreadPoolExecutor(4, thread_name_prefix="lambda-stop")
        self._sockets = socket_dir(workdir)
        self._sdk = sdk_dir(workdir)
        self._python = f"python{sys.version_info.major}.{sys.version_info.minor}"
        self.host = WorkerHost(
            launcher=ctx.launcher,
            clock=ctx.clock,
            socket_dir=self._sockets,
            environment=lambda rev, stream: environment_for(
                rev, stream, ctx.child_environment, str(self._sdk)
            ),
            open_log=self._open_log,
            paths=lambda rev: function_paths(rev, self._python, self._sdk),
        )
        self.runner = Runner(ctx, self._pool, self.require, self.revision)
        self.events = EventQueue(
            self.runner.run_event, self.runner.event_settings, self.runner.deliver, ctx.clock
        )
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="lambda-reaper", daemon=True)
        self._reaper.start()

    # -- control plane ----------------------------------------------------------------------
    def get(self, region: str, name: str) -> Function | None:
        with self._lock:
            return self._functions.get((region, name))

    def find(self, region: str, name: str) -> Function | None:
        """The function, adopted from moto when moto created it by itself (CloudFormation);
        None for a function this cloud cannot run (moto answers for it)."""
        return self.get(region, name) or self._adopt(region, name, strict=False)

    def require(self, region: str, name: str) -> Function:
        """The function to invoke: ResourceNotFoundException, or InvalidRuntimeException for
        one moto created that is not a Python .zip function."""
        found = self.get(region, name) or self._adopt(region, name, strict=True)
        if found is None:
            raise not_found(region, name)
        return found

    def create(
        self, region: str, config: dict[str, Any], source: CodeSource, log_group: str | None
    ) -> Function:
        fn = Function(
            region, config["FunctionName"], log_group=log_group, tracing=tracing_mode(config)
        )
        with self._lock:
            old = self._pools.pop((region, fn.name), None)
            self._functions[(region, fn.name)] = fn
        if old is not None:
            old.close()
        version = config.get("Version")
        self._preparing.submit(
            self._prepare, fn, config, source, version if version != LATEST else None
        )
        return fn

    def update_code(
        self, fn: Function, config: dict[str, Any], source: CodeSource | None, publish: str | None
    ) -> None:
        with self._lock:
            fn.begin_update()
        self._preparing.submit(self._prepare, fn, config, source, publish)

    def update_configuration(
        self,
        fn: Function,
        config: dict[str, Any],
        log_group: str | None,
        tracing: str | None = None,
    ) -> None:
        with self._lock:
            fn.begin_update()
            if log_group:
                fn.log_group = log_group
            if tracing:
                fn.tracing = tracing
        self._preparing.submit(self._prepare, fn, config, None, None)

    def _prepare(
        self,
        fn: Function,
        config: dict[str, Any],
        source: CodeSource | None,
        publish: str | None,
    ) -> None:
        """Unpack the code (once per SHA-256) and make the new revision current."""
        try:
            if source is not None:
                code_dir, sha = self.code.unpack(source), source.sha256
            else:
                assert fn.latest is not None
                code_dir, sha = fn.latest.code_dir, fn.latest.code_sha256
            layers = self.code.layer_dirs([layer["Arn"] for layer in config.get("Layers") or []])
            settings = {**config, "_CodeSha256Hex": sha, "TracingConfig": {"Mode": fn.tracing}}
            revision = revision_from(settings, fn.region, code_dir, layers, fn.log_group)
        except Exception as exc:
            log.exception("function %s: the code could not be unpacked", fn.name)
            with self._lock:
                fn.failed(f"The code could not be unpacked: {exc}", "InvalidZipFileException")
                self._settled.notify_all()
            return
        finally:
            if source is not None:
                source.discard()
        with self._lock:
            if self._functions.get((fn.region, fn.name)) is not fn:
                return  # deleted (or created anew) meanwhile
            fn.activated(revision)
            # The pool learns the new revision before any invocation can pick it up.
            pool = self._pool(fn)
            pool.set_current(revision)
            if publish:
                fn.versions[publish] = revision.published(publish)
                pool.set_current(fn.versions[publish])
            self._settled.notify_all()
        log.info("function %s: %s active (%s)", fn.name, revision.version, sha[:12])

    def publish(self, fn: Function, version: str) -> None:
        """PublishVersion: ``version`` runs what $LATEST runs now."""
        with self._lock:
            if version in fn.versions or fn.latest is None:
                return
            fn.versions[version] = fn.latest.published(version)
            self._pool(fn).set_current(fn.versions[version])

    def delete(self, region: str, name: str, qualifier: str | None) -> None:
        with self._lock:
            fn = self._functions.get((region, name))
            if fn is None:
                return
            if qualifier and qualifier != LATEST:
                fn.versions.pop(qualifier, None)
                pool = self._pools.get((region, name))
                if pool is not None:
                    pool.forget(qualifier)
                return
            del self._functions[(region, name)]
            pool = self._pools.pop((region, name), None)
            self._settled.notify_all()
        if pool is not None:
            pool.close()

    def set_concurrency(self, fn: Function, reserved: int | None) -> None:
        with self._lock:
            fn.reserved = reserved
            pool = self._pool(fn)
        pool.resize(DEFAULT_CONCURRENCY if reserved is None else reserved)

    def _pool(self, fn: Function) -> FunctionPool:
        with self._lock:
            pool = self._pools.get((fn.region, fn.name))
            if pool is None:
                limit = DEFAULT_CONCURRENCY if fn.reserved is None else fn.reserved
                pool = FunctionPool(self._start_worker, self._stop_worker, limit)
                self._pools[(fn.region, fn.name)] = pool
            return pool

    # -- invocations ------------------------------------------------------------------------
    def invoke(
        self,
        region: str,
        reference: str,
        qualifier: str | None,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        log_type: str | None = None,
        client_context: str | None = None,
        trace_header: str | None = None,
    ) -> InvokeResult:
        """Invoke as the API does; ServiceError for what AWS refuses. ``trace_header`` is the
        caller's ``X-Amzn-Trace-Id``, if it sent one."""
        received = self.ctx.clock.now()
        ref = parse_reference(reference, region, qualifier)
        fn = self.require(ref.region, ref.name)
        revision = self.revision(fn, ref.qualifier)
        check_size(payload, invocation_type)
        check_json(payload)
        context = decode_client_context(client_context)
        request_id = str(uuid.uuid4())
        if invocation_type == "DryRun":
            return InvokeResult(204, request_id)
        trace = decide(
            revision.tracing, TraceHeader.parse(trace_header), received, self.runner.xray_running()
        )
        if invocation_type == "Event":
            event = AsyncEvent(
                ref.region, ref.name, ref.qualifier, payload, request_id, received, trace=trace
            )
            try:
                self.events.submit(event)
            except QueueFull:
                raise throttled(
                    "CallerRateLimitExceeded",
                    "Rate Exceeded. (the local cloud queues at most 1000 events, 64 MB)",
                ) from None
            return InvokeResult(202, request_id)
        arn = function_arn(ref.region, ref.name, ref.qualifier)
        invocation = Invocation(request_id, payload, arn, context)
        outcome = self.runner.traced_run(fn, revision, invocation, trace, received)
        return InvokeResult(
            200,
            request_id,
            outcome.payload,
            outcome.function_error,
            outcome.tail() if log_type == "Tail" else None,
            revision.version,
        )

    def revision(self, fn: Function, qualifier: str | None) -> Revision:
        """What ``qualifier`` ($LATEST, a version, an alias) of ``fn`` runs now."""
        if qualifier and qualifier != LATEST and not qualifier.isdigit():
            try:
                alias = self.ctx.moto(
                    "lambda", "GetAlias", fn.region, FunctionName=fn.name, Name=qualifier
                )
            except ServiceError:
                raise not_found(fn.region, fn.name, qualifier) from None
            qualifier = alias.get("FunctionVersion") or LATEST
        deadline = time.monotonic() + SETTLE_WAIT
        with self._lock:
            while True:
                if qualifier in (None, LATEST):
                    if fn.latest is not None:
                        return fn.latest
                    raise conflict(f"The function is currently in the following state: {fn.state}")
                found = fn.versions.get(qualifier)  # type: ignore[arg-type]
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if not fn.busy or remaining <= 0:  # a version published with an update waits
                    raise not_found(fn.region, fn.name, qualifier)
                self._settled.wait(remaining)

    def _start_worker(self, revision: Revision) -> Worker:
        return Worker(self.host, revision).start()

    def _stop_worker(self, worker: Worker) -> None:
        try:
            self._stopping.submit(worker.stop)
        except RuntimeError:  # shutting down: stop it here
            worker.stop()

    def _open_log(self, revision: Revision, stream: str) -> LogSink | None:
        try:
            return self.ctx.logs.open(revision.region, revision.log_group, stream, True)
        except (ClientError, BotoCoreError) as exc:  # the function runs without its log
            log.warning("no log stream %s/%s: %s", revision.log_group, stream, exc)
            return None

    # -- adoption, status, lifecycle --------------------------------------------------------
    def _adopt(self, region: str, name: str, strict: bool) -> Function | None:
        revision = adopted_revision(self.ctx, self.code, region, name, strict)
        if revision is None:
            return None
        fn = Function(region, name, tracing=revision.tracing)
        with self._lock:
            existing = self._functions.get((region, name))
            if existing is not None:
                return existing
            fn.activated(revision)
            self._functions[(region, name)] = fn
            self._pool(fn).set_current(revision)
        log.info("function %s adopted from moto's record", name)
        return fn

    def status(self) -> dict[str, Any]:
        with self._lock:
            functions = list(self._functions.values())
            pools = dict(self._pools)
        described = {}
        for fn in functions:
            pool = pools.get((fn.region, fn.name))
            described[fn.name] = {
                "region": fn.region,
                "state": fn.state,
                "last_update": fn.update,
                "versions": sorted(fn.versions, key=int),
                "code_sha256": fn.latest.code_sha256 if fn.latest else None,
                "workers": pool.snapshot() if pool else {},
            }
        return {
            "functions": described,
            "queued_events": self.events.pending(),
            "tracing": self.runner.tracer.status(),
        }

    def _reap(self) -> None:
        while not self._closed.wait(30.0):
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reap_idle(IDLE_SECONDS)

    def stop(self) -> None:
        self._closed.set()
        self.events.stop()
        self.runner.tracer.stop()
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
        self._preparing.shutdown(wait=False, cancel_futures=True)
        self._stopping.shutdown(wait=True)
        shutil.rmtree(self._sockets, ignore_errors=True)
