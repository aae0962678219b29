"""Trace summaries as GetTraceSummaries returns them, and the facts a filter expression asks.

The trace's root is its earliest segment nobody traced calling: ``ResponseTime`` and ``Http``
are the root's, ``Duration`` runs from the root's start to the last end in the trace, and
``HasFault`` / ``HasError`` / ``HasThrottle`` say whether any segment or subsegment of the trace
came to that (the ``fault``, ``error``, ``throttle`` and ``ok`` keywords read the same flags).
Root causes follow the flag down to the deepest entity that carries it.
"""

from __future__ import annotations

from typing import Any

from .filters import Facts
from .traces import Entity, ServiceKey, Trace

MAX_ROOT_CAUSES = 5


def trace_flags(trace: Trace) -> dict[str, bool]:
    flags = trace.flags()
    error = bool(flags & {"error", "throttle"})  # a throttle (429) is an error too
    return {
        "fault": "fault" in flags,
        "error": error,
        "throttle": "throttle" in flags,
        "ok": not flags,
    }


def _http_fields(entity: Entity | None) -> dict[str, Any]:
    http = entity.body.get("http") if entity else None
    request = http.get("request") if isinstance(http, dict) else None
    request = request if isinstance(request, dict) else {}
    return {
        "http.status": entity.status if entity else None,
        "http.url": _text(request.get("url")),
        "http.method": _text(request.get("method")),
        "http.useragent": _text(request.get("user_agent")),
        "http.clientip": _text(request.get("client_ip")),
    }


def facts(trace: Trace) -> Facts:
    """What a filter expression may ask of ``trace``."""
    root = trace.root
    fields: dict[str, Any] = {
        **trace_flags(trace),
        "partial": trace.partial,
        "responsetime": _ms(root.duration) if root else None,
        "duration": _ms(trace.duration),
        **_http_fields(root),
    }
    for name, value in _annotations(trace).items():
        fields.setdefault(f"annotation.{name}", value)
    services: dict[tuple[str, str | None], list[Facts]] = {}
    for _, callee in trace.calls():
        assert callee.service is not None
        outcome = callee.outcome
        call = {
            "ok": outcome == "ok",
            "fault": outcome == "fault",
            "error": outcome in ("error", "throttle"),
            "throttle": outcome == "throttle",
            "partial": callee.end is None,
            "responsetime": _ms(callee.duration),
            "duration": _ms(callee.duration),
            **_http_fields(callee),
        }
        services.setdefault((callee.service.name, callee.service.type), []).append(Facts(call))
    return Facts(fields, services)


def summary(trace: Trace, account_id: str) -> dict[str, Any]:
    """One ``TraceSummary``."""
    root = trace.root
    flags = trace_flags(trace)
    answer: dict[str, Any] = {
        "Id": trace.id,
        "StartTime": trace.start,
        "HasFault": flags["fault"],
        "HasError": flags["error"],
        "HasThrottle": flags["throttle"],
        "IsPartial": trace.partial,
        "ServiceIds": [s.to_api(account_id) for s in trace.services()],
        "Annotations": {
            name: [{"AnnotationValue": _annotation_value(value), "ServiceIds": []}]
            for name, value in _annotations(trace).items()
        },
        "Users": _users(trace, account_id),
        "ResourceARNs": [],
        "InstanceIds": [],
        "AvailabilityZones": [],
        "Revision": len(trace.documents),
        "MatchedEventTime": trace.start,
    }
    if trace.duration is not None:
        answer["Duration"] = _ms(trace.duration)
    if root is not None:
        if root.duration is not None:
            answer["ResponseTime"] = _ms(root.duration)
        if root.service is not None:
            answer["EntryPoint"] = root.service.to_api(account_id)
        http = _http_summary(root)
        if http:
            answer["Http"] = http
    answer["FaultRootCauses"] = _flag_causes(trace, ("fault",), account_id)
    answer["ErrorRootCauses"] = _flag_causes(trace, ("error", "throttle"), account_id)
    answer["ResponseTimeRootCauses"] = _slowest_cause(trace, account_id)
    return answer


def _http_summary(root: Entity) -> dict[str, Any]:
    fields = _http_fields(root)
    names = {
        "http.url": "HttpURL",
        "http.status": "HttpStatus",
        "http.method": "HttpMethod",
        "http.useragent": "UserAgent",
        "http.clientip": "ClientIp",
    }
    return {names[k]: v for k, v in fields.items() if v is not None}


# -- root causes ---------------------------------------------------------------------------
def _owner(entity: Entity) -> tuple[ServiceKey | None, list[Entity], bool]:
    """The service an entity is found in, the path of entities from that service's segment
    down to it, and whether the service is inferred."""
    path = [entity]
    if entity.service is not None:  # a segment, or an inferred downstream call
        inferred = not entity.is_segment
        if inferred:
            path = _path_from_segment(entity)
        return entity.service, path, inferred
    segment = entity.segment
    return (segment.service if segment else None), _path_from_segment(entity), False


def _path_from_segment(entity: Entity) -> list[Entity]:
    path = [entity]
    while not path[0].is_segment and path[0].parent is not None:
        path.insert(0, path[0].parent)
    return path


def _cause(
    entity: Entity, account_id: str, client_impacting: bool, coverage_of: float | None = None
) -> dict[str, Any] | None:
    service, path, inferred = _owner(entity)
    if service is None:
        return None
    steps = []
    for step in path:
        item: dict[str, Any] = {"Name": step.name}
        if coverage_of is not None:
            duration = step.duration or 0.0
            item["Coverage"] = round(duration / coverage_of, 3) if coverage_of > 0 else 0.0
        else:
            exceptions = step.exceptions()
            item["Exceptions"] = [
                {"Name": str(e.get("type", "")), "Message": str(e.get("message", ""))}
                for e in exceptions
            ]
            item["Remote"] = any(e.get("remote") is True for e in exceptions)
        steps.append(item)
    return {
        "Services": [{**service.to_api(account_id), "EntityPath": steps, "Inferred": inferred}],
        "ClientImpacting": client_impacting,
    }


def _flag_causes(trace: Trace, outcomes: tuple[str, ...], account_id: str) -> list[dict]:
    """A cause per deepest entity that came to ``outcomes`` (none of its descendants did)."""
    flagged = [e for e in trace.all_entities() if e.outcome in outcomes]
    above: set[int] = set()  # entities with a flagged descendant
    for entity in flagged:
        parent = entity.parent
        while parent is not None and id(parent) not in above:
            above.add(id(parent))
            parent = parent.parent
    impacting = trace.root is not None and trace.root.outcome in outcomes
    causes = []
    for entity in sorted(flagged, key=lambda e: e.start):
        if id(entity) in above:
            continue
        cause = _cause(entity, account_id, impacting)
        if cause is not None:
            causes.append(cause)
        if len(causes) >= MAX_ROOT_CAUSES:
            break
    return causes


def _slowest_cause(trace: Trace, account_id: str) -> list[dict]:
    """The entity at the end of the slowest path from the root, with each step's share."""
    root = trace.root
    if root is None or not root.duration:
        return []
    entity = root
    while True:
        below = [e for e in [*entity.children, *entity.linked] if e.duration is not None]
        if not below:
            break
        entity = max(below, key=lambda e: e.duration or 0.0)
    cause = _cause(entity, account_id, True, coverage_of=root.duration)
    return [cause] if cause else []


# -- annotations and users -----------------------------------------------------------------
def _annotations(trace: Trace) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for entity in trace.all_entities():
        annotations = entity.body.get("annotations")
        if isinstance(annotations, dict):
            for name, value in annotations.items():
                if isinstance(value, str | int | float | bool):
                    found.setdefault(str(name), value)
    return found


def _annotation_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, int | float):
        return {"NumberValue": value}
    return {"StringValue": value}


def _users(trace: Trace, account_id: str) -> list[dict[str, Any]]:
    users: dict[str, list[dict[str, Any]]] = {}
    for segment in trace.segments:
        user = segment.body.get("user")
        if isinstance(user, str) and user and segment.service is not None:
            users.setdefault(user, []).append(segment.service.to_api(account_id))
    return [{"UserName": name, "ServiceIds": ids} for name, ids in users.items()]


def _ms(seconds: float | None) -> float | None:
    """Seconds to the millisecond, as X-Ray reports (and filters) times."""
    return None if seconds is None else round(seconds, 3)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
