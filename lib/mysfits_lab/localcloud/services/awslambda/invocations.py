"""How invocations run: on a warm worker of the function's pool, in their place in a trace (a
sampled one's segments are queued for X-Ray), and — for asynchronous ones — as attempts of the
``EventQueue``, with their destinations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...core.provider import Context
from ...edge import ServiceError
from . import destinations
from .events import AsyncEvent, Attempt
from .models import Function, Revision, function_arn, not_found
from .payloads import throttled
from .pool import FunctionPool, PoolClosed, Throttled
from .tracing import SegmentSender, TraceContext, TracedInvocation, TraceHeader, decide
from .worker import INIT_LIMIT, Invocation, Outcome

# Set in ctx.extra_environment while the cloud has X-Ray (its daemon's address).
XRAY_DAEMON_VARIABLE = "AWS_XRAY_DAEMON_ADDRESS"


class Runner:
    """Runs the engine's invocations; ``pool``, ``require`` and ``revision`` are the engine's."""

    def __init__(
        self,
        ctx: Context,
        pool: Callable[[Function], FunctionPool],
        require: Callable[[str, str], Function],
        revision: Callable[[Function, str | None], Revision],
    ):
        self.ctx = ctx
        self._pool = pool
        self._require = require
        self._revision = revision
        self.tracer = SegmentSender(ctx.client, self.xray_running)

    def run(self, fn: Function, revision: Revision, invocation: Invocation) -> Outcome:
        """One invocation on a warm worker (a new one if none is free and the function may
        run more at once; otherwise it waits for one)."""
        pool = self._pool(fn)
        wait = revision.timeout * self.ctx.clock.timeout_scale + INIT_LIMIT
        try:
            worker = pool.acquire(revision, time.monotonic() + wait)
        except Throttled:
            reason = (
                "ReservedFunctionConcurrentInvocationLimitExceeded"
                if fn.reserved is not None
                else "ConcurrentInvocationLimitExceeded"
            )
            raise throttled(reason, "Rate Exceeded.") from None
        except PoolClosed:
            raise not_found(fn.region, fn.name) from None
        except OSError as exc:
            raise ServiceError(
                "ServiceException", f"the local cloud could not start the function: {exc}", 500
            ) from None
        reusable = False
        try:
            outcome = worker.invoke(invocation)
            reusable = outcome.reusable
            return outcome
        finally:
            pool.release(worker, reusable)

    def traced_run(
        self,
        fn: Function,
        revision: Revision,
        invocation: Invocation,
        decided: TraceHeader,
        received: float,
        record_throttle: bool = True,
    ) -> Outcome:
        """``run`` in its place in a trace: the handler gets the trace header; a sampled
        invocation's segments are queued for X-Ray (a throttled one's too, unless the caller
        retries it itself)."""
        trace = TraceContext.begin(decided)
        invocation.trace_id = trace.environment()
        try:
            outcome = self.run(fn, revision, invocation)
        except ServiceError as exc:
            if trace.sampled and record_throttle and exc.code == "TooManyRequestsException":
                self.tracer.submit(
                    TracedInvocation(
                        trace,
                        revision.region,
                        revision.name,
                        invocation.arn,
                        invocation.request_id,
                        received,
                        self.ctx.clock.now(),
                        status=429,
                        throttled=True,
                    )
                )
            raise
        if trace.sampled:
            self.tracer.submit(
                TracedInvocation(
                    trace,
                    revision.region,
                    revision.name,
                    invocation.arn,
                    invocation.request_id,
                    received,
                    self.ctx.clock.now(),
                    outcome.started,
                    outcome.ended,
                    outcome.init_span,
                    outcome.payload if outcome.function_error else None,
                    str(revision.code_dir),
                )
            )
        return outcome

    def xray_running(self) -> bool:
        return XRAY_DAEMON_VARIABLE in self.ctx.extra_environment

    # -- asynchronous invocations ------------------------------------------------------------
    def run_event(self, event: AsyncEvent) -> Attempt:
        try:
            fn = self._require(event.region, event.name)
            revision = self._revision(fn, event.qualifier)
        except ServiceError as exc:
            if exc.code == "ResourceConflictException":  # Pending: try again later
                return Attempt(ok=False, throttled=True)
            return Attempt(ok=False, gone=True)
        arn = function_arn(event.region, event.name, event.qualifier)
        invocation = Invocation(event.request_id, event.payload, arn)
        decided = event.trace or decide(revision.tracing, None, event.received, self.xray_running())
        try:
            # Each attempt is traced anew, in the trace the event came with.
            outcome = self.traced_run(
                fn, revision, invocation, decided, self.ctx.clock.now(), record_throttle=False
            )
        except ServiceError as exc:
            throttled = exc.code == "TooManyRequestsException"
            return Attempt(ok=False, throttled=throttled, gone=not throttled)
        return Attempt(
            ok=outcome.function_error is None,
            payload=outcome.payload,
            function_error=outcome.function_error,
            executed_version=revision.version,
        )

    def event_settings(self, event: AsyncEvent) -> dict[str, Any]:
        params: dict[str, Any] = {"FunctionName": event.name}
        if event.qualifier:
            params["Qualifier"] = event.qualifier
        try:
            return self.ctx.moto("lambda", "GetFunctionEventInvokeConfig", event.region, **params)
        except (ServiceError, LookupError):
            return {}

    def deliver(self, event: AsyncEvent, attempt: Attempt, condition: str) -> None:
        destinations.deliver(self.ctx.client, event, attempt, condition, self.ctx.clock.now())
