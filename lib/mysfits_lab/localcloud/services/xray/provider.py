"""The X-Ray provider: a daemon for the SDKs, and the X-Ray API over one store of segments.

moto's X-Ray keeps segments but draws no service graph; here PutTraceSegments and the daemon's
UDP port feed one bounded store (``store.py``), and every query — GetTraceSummaries with its
filter expressions, BatchGetTraces, GetServiceGraph, GetTraceGraph — is answered from it, so
they agree. Sampling rules come from ``sampling.py`` (moto has none).

While it runs, every process that runs AWS code (ECS tasks, Lambda functions) finds the daemon
at ``AWS_XRAY_DAEMON_ADDRESS`` (``ctx.extra_environment``).

Control route: ``GET /_localcloud/xray`` → ``{"daemon_address", "segments", "traces",
"datagrams": {"received", "rejected"}, "dropped"}``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import time
from typing import Any

from werkzeug.wrappers import Request

from ...constants import ACCOUNT_ID
from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from . import filters
from .daemon import Daemon
from .documents import InvalidSegment, parse_document
from .graph import service_graph
from .sampling import Sampling
from .store import SegmentStore
from .summaries import facts, summary
from .traces import Trace

log = logging.getLogger("mysfits_lab.localcloud.xray")

DAEMON_VARIABLE = "AWS_XRAY_DAEMON_ADDRESS"
PAGE_SIZE = 100  # trace summaries per page
WARN_EVERY = 10.0  # seconds between warnings about refused daemon documents


class XRayProvider(Provider):
    name = "xray"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.store = SegmentStore()
        self.sampling = Sampling(ctx.region, ctx.clock.now())
        self.daemon = Daemon(self.accept, ctx.edge_url, ctx.region)
        self._warned_at = float("-inf")

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.daemon.start()
        assert self.daemon.address is not None
        self.ctx.extra_environment[DAEMON_VARIABLE] = self.daemon.address

    def stop(self) -> None:
        if self.ctx.extra_environment.get(DAEMON_VARIABLE) == self.daemon.address:
            del self.ctx.extra_environment[DAEMON_VARIABLE]
        self.daemon.stop()

    def status(self) -> dict[str, Any]:
        segments, traces = self.store.counts()
        return {
            "xray": {
                "daemon_address": self.daemon.address,
                "segments": segments,
                "traces": traces,
            }
        }

    def control(self) -> list[ControlRule]:
        return [ControlRule("", self._describe)]

    def _describe(self, _request: Request) -> dict[str, Any]:
        return self.status()["xray"] | {
            "datagrams": {"received": self.daemon.received, "rejected": self.daemon.rejected},
            "dropped": self.store.dropped,
        }

    # -- segments in ----------------------------------------------------------------------
    def accept(self, text: str) -> bool:
        """One document from the daemon: stored, or refused as PutTraceSegments refuses it."""
        try:
            self.store.put(parse_document(text))
            return True
        except InvalidSegment as refused:
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                log.warning("X-Ray refused a segment (id %s): %s", refused.segment_id, refused)
            return False

    def routes(self) -> list[Route]:
        return [
            Route("xray", "PutTraceSegments", self._put),
            Route("xray", "GetTraceSummaries", self._summaries),
            Route("xray", "BatchGetTraces", self._batch_get),
            Route("xray", "GetServiceGraph", self._service_graph),
            Route("xray", "GetTraceGraph", self._trace_graph),
            Route("xray", "GetSamplingRules", lambda _call: self.sampling.rules()),
            Route("xray", "GetSamplingTargets", self._sampling_targets),
        ]

    def _put(self, call: Call) -> dict[str, Any]:
        unprocessed = []
        for text in call.params.get("TraceSegmentDocuments", []):
            try:
                self.store.put(parse_document(text))
            except InvalidSegment as refused:
                unprocessed.append(refused.to_api())
        return {"UnprocessedTraceSegments": unprocessed}

    # -- queries --------------------------------------------------------------------------
    def _traces(self, trace_ids: list[str] | None = None) -> list[Trace]:
        built = [Trace(tid, docs) for tid, docs in self.store.traces(trace_ids).items()]
        return sorted(built, key=lambda t: t.start)

    def _between(self, params: dict[str, Any]) -> tuple[float, float, list[Trace]]:
        start, end = epoch(params["StartTime"], "StartTime"), epoch(params["EndTime"], "EndTime")
        if start > end:
            raise ServiceError("InvalidRequestException", "StartTime must not be after EndTime")
        traces = [t for t in self._traces() if t.root is not None and start <= t.start <= end]
        return start, end, traces

    def _summaries(self, call: Call) -> dict[str, Any]:
        expression = call.params.get("FilterExpression")
        tree = filters.parse(expression) if expression is not None else None
        _, _, traces = self._between(call.params)
        matched = [t for t in traces if tree is None or tree.matches(facts(t))]
        offset = _offset(call.params.get("NextToken"))
        page = matched[offset : offset + PAGE_SIZE]
        answer: dict[str, Any] = {
            "TraceSummaries": [summary(t, ACCOUNT_ID) for t in page],
            "ApproximateTime": self.ctx.clock.now(),
            "TracesProcessedCount": len(traces),
        }
        if offset + PAGE_SIZE < len(matched):
            answer["NextToken"] = _token(offset + PAGE_SIZE)
        return answer

    def _batch_get(self, call: Call) -> dict[str, Any]:
        wanted = list(dict.fromkeys(call.params.get("TraceIds", [])))
        found = {t.id: t for t in self._traces(wanted)}
        traces = []
        for trace_id in wanted:
            trace = found.get(trace_id.lower())
            if trace is None:
                continue
            item: dict[str, Any] = {
                "Id": trace.id,
                "Segments": trace.merged_documents(),
                "LimitExceeded": False,
            }
            if trace.duration is not None:
                item["Duration"] = round(trace.duration, 3)
            traces.append(item)
        missing = [t for t in wanted if t.lower() not in found]
        return {"Traces": traces, "UnprocessedTraceIds": missing}

    def _service_graph(self, call: Call) -> dict[str, Any]:
        start, end, traces = self._between(call.params)
        return {
            "StartTime": start,
            "EndTime": end,
            "Services": service_graph(traces, ACCOUNT_ID),
            "ContainsOldGroupVersions": False,
        }

    def _trace_graph(self, call: Call) -> dict[str, Any]:
        traces = self._traces(call.params.get("TraceIds", []))
        return {"Services": service_graph(traces, ACCOUNT_ID)}

    def _sampling_targets(self, call: Call) -> dict[str, Any]:
        statistics = call.params.get("SamplingStatisticsDocuments", [])
        return self.sampling.targets(statistics, self.ctx.clock.now())


def epoch(value: Any, name: str) -> float:
    """A timestamp parameter as seconds since the epoch: botocore sends a number; other
    clients may send ISO-8601 text (a time without a zone is UTC)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ServiceError("InvalidRequestException", f"{name} is not a time") from None
    else:
        raise ServiceError("InvalidRequestException", f"{name} is not a time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"summaries:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "summaries" and number.isdigit() and len(number) < 10:
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ServiceError("InvalidRequestException", "NextToken is not one this API gave")
