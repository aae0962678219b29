"""The service graph computed from hand-made traces of module 6: API Gateway → Lambda → the
function → DynamoDB and SNS, with faults where the workshop puts them."""

from __future__ import annotations

import json

from mysfits_lab.localcloud.services.xray.graph import service_graph
from mysfits_lab.localcloud.services.xray.traces import Trace

from .samples import API, FUNCTION, T0, documents, entity_id, post_question, trace, trace_id

ACCOUNT = "123456789012"


def graph(*traces: Trace) -> dict[tuple[str, str | None], dict]:
    return {(s["Name"], s.get("Type")): s for s in service_graph(list(traces), ACCOUNT)}


def counts(statistics: dict) -> tuple[int, int, int, int, int]:
    """(total, ok, error, throttle, fault)"""
    return (
        statistics["TotalCount"],
        statistics["OkCount"],
        statistics["ErrorStatistics"]["OtherCount"],
        statistics["ErrorStatistics"]["ThrottleCount"],
        statistics["FaultStatistics"]["TotalCount"],
    )


def edges(nodes: dict, caller: tuple[str, str | None]) -> dict[tuple[str, str | None], dict]:
    by_ref = {n["ReferenceId"]: key for key, n in nodes.items()}
    return {by_ref[e["ReferenceId"]]: e for e in nodes[caller]["Edges"]}


API_NODE = (API, "AWS::ApiGateway::Stage")
LAMBDA_NODE = (FUNCTION, "AWS::Lambda")
FUNCTION_NODE = (FUNCTION, "AWS::Lambda::Function")
DYNAMODB = ("DynamoDB", "AWS::DynamoDB::Table")
SNS = ("SNS", "AWS::SNS")
CLIENT = ("client", "client")


def workshop_traces() -> list[Trace]:
    return [
        trace(post_question(1)),
        trace(post_question(2, sns_fault=True)),
        trace(post_question(3, fault=True)),
    ]


def test_nodes_are_services_with_their_requests_counted():
    nodes = graph(*workshop_traces())
    assert set(nodes) == {CLIENT, API_NODE, LAMBDA_NODE, FUNCTION_NODE, DYNAMODB, SNS}
    # hangingException is a local subsegment: part of the function, not a service.
    assert counts(nodes[API_NODE]["SummaryStatistics"]) == (3, 2, 0, 0, 1)
    assert counts(nodes[LAMBDA_NODE]["SummaryStatistics"]) == (3, 2, 0, 0, 1)
    assert counts(nodes[FUNCTION_NODE]["SummaryStatistics"]) == (3, 2, 0, 0, 1)
    assert counts(nodes[DYNAMODB]["SummaryStatistics"]) == (2, 2, 0, 0, 0)
    assert counts(nodes[SNS]["SummaryStatistics"]) == (2, 1, 0, 0, 1)
    api = nodes[API_NODE]
    assert api["Root"] is True and api["State"] == "active" and api["AccountId"] == ACCOUNT
    assert api["Names"] == [API]
    assert api["SummaryStatistics"]["TotalResponseTime"] == 0.3 + 0.3 + 5.2
    assert api["ResponseTimeHistogram"] == [{"Value": 0.3, "Count": 2}, {"Value": 5.2, "Count": 1}]
    assert api["StartTime"] == T0 + 10 and api["EndTime"] == T0 + 30 + 5.2
    assert not any(n.get("Root") for k, n in nodes.items() if k != API_NODE)
    assert "SummaryStatistics" not in nodes[CLIENT]
    assert nodes[CLIENT]["ReferenceId"] == 0
    assert sorted(n["ReferenceId"] for n in nodes.values()) == list(range(6))


def test_edges_go_from_caller_to_callee_with_their_counts():
    nodes = graph(*workshop_traces())
    assert set(edges(nodes, CLIENT)) == {API_NODE}
    assert counts(edges(nodes, CLIENT)[API_NODE]["SummaryStatistics"]) == (3, 2, 0, 0, 1)
    assert counts(edges(nodes, API_NODE)[LAMBDA_NODE]["SummaryStatistics"]) == (3, 2, 0, 0, 1)
    assert counts(edges(nodes, LAMBDA_NODE)[FUNCTION_NODE]["SummaryStatistics"]) == (
        3,
        2,
        0,
        0,
        1,
    )
    function_edges = edges(nodes, FUNCTION_NODE)
    assert set(function_edges) == {DYNAMODB, SNS}
    assert counts(function_edges[SNS]["SummaryStatistics"]) == (2, 1, 0, 0, 1)
    sns = function_edges[SNS]
    assert sns["ResponseTimeHistogram"] == [{"Value": 0.05, "Count": 2}]
    assert sns["StartTime"] == T0 + 10 + 0.2 and sns["Aliases"] == []
    assert edges(nodes, DYNAMODB) == {} and edges(nodes, SNS) == {}


def test_documents_may_arrive_in_any_order():
    bodies = post_question(4, fault=True)
    shuffled = Trace(trace_id(4), documents(list(reversed(bodies))))
    assert graph(shuffled) == graph(trace(bodies))
    assert shuffled.root is not None and shuffled.root.name == API


def test_a_segment_whose_caller_was_not_traced_is_called_by_the_client():
    api, service, function = post_question(5)
    nodes = graph(trace([function]))  # the function's parent segment never arrived
    assert set(edges(nodes, CLIENT)) == {FUNCTION_NODE}
    assert nodes[FUNCTION_NODE]["Root"] is True


def test_subsegments_without_their_segment_draw_nothing():
    *_, hanging = post_question(6, fault=True)
    assert graph(trace([hanging])) == {}


def test_calls_still_in_progress_are_not_counted():
    api, service, function = post_question(7)
    running = {k: v for k, v in service.items() if k != "end_time"} | {"in_progress": True}
    nodes = graph(trace([api, running, function]))
    assert counts(nodes[LAMBDA_NODE]["SummaryStatistics"]) == (0, 0, 0, 0, 0)
    assert counts(nodes[FUNCTION_NODE]["SummaryStatistics"]) == (1, 1, 0, 0, 0)


def test_documents_naming_each_other_as_parents_do_not_loop():
    tid = trace_id(8)
    a, b = entity_id(8, 1), entity_id(8, 2)

    def streamed(own: str, parent: str) -> dict:
        return {
            "type": "subsegment",
            "name": "loop",
            "id": own,
            "trace_id": tid,
            "parent_id": parent,
            "start_time": T0,
            "end_time": T0 + 1,
            "namespace": "remote",
        }

    segments = [
        {"name": "one", "id": entity_id(8, 3), "trace_id": tid, "parent_id": entity_id(8, 4)},
        {"name": "two", "id": entity_id(8, 4), "trace_id": tid, "parent_id": entity_id(8, 3)},
    ]
    timed = [s | {"start_time": T0, "end_time": T0 + 1} for s in segments]
    looped = Trace(tid, documents([streamed(a, b), streamed(b, a), *timed]))
    assert len(looped.all_entities()) == 4
    nodes = graph(looped)
    assert {k[0] for k in nodes} <= {"client", "one", "two"}
    assert json.loads(looped.merged_documents()[0]["Document"])["name"] in ("one", "two")


def test_a_call_inside_a_call_is_not_another_service():
    api, service, function = post_question(9)
    dynamodb = function["subsegments"][0]
    dynamodb["subsegments"] = [
        {
            "name": "127.0.0.1",
            "id": entity_id(9, 20),
            "namespace": "remote",  # httplib's subsegment for the request botocore sends
            "start_time": T0 + 90.06,
            "end_time": T0 + 90.19,
        }
    ]
    function["subsegments"].append(
        {
            "name": "api.example.com",
            "id": entity_id(9, 21),
            "namespace": "remote",
            "start_time": T0 + 90.21,
            "end_time": T0 + 90.22,
        }
    )
    nodes = graph(trace([api, service, function]))
    assert ("127.0.0.1", "remote") not in nodes
    assert set(edges(nodes, FUNCTION_NODE)) == {DYNAMODB, SNS, ("api.example.com", "remote")}
