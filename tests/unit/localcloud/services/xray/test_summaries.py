"""Trace summaries in AWS's shape, their root causes, and traces as BatchGetTraces returns them."""

from __future__ import annotations

import json

from mysfits_lab.localcloud.services.xray.summaries import summary

from .samples import API, FUNCTION, T0, entity_id, post_question, process_stream, trace, trace_id

ACCOUNT = "123456789012"


def test_a_failing_post_question_is_summarised_with_its_root_cause():
    found = summary(trace(post_question(1, fault=True)), ACCOUNT)
    assert found["Id"] == trace_id(1)
    assert found["StartTime"] == T0 + 10
    assert (found["Duration"], found["ResponseTime"]) == (5.2, 5.2)
    assert (found["HasFault"], found["HasError"], found["HasThrottle"]) == (True, False, False)
    assert found["IsPartial"] is False
    assert found["Http"] == {
        "HttpURL": "https://api.local/prod/questions",
        "HttpStatus": 502,
        "HttpMethod": "POST",
    }
    assert found["EntryPoint"] == {
        "Name": API,
        "Names": [API],
        "AccountId": ACCOUNT,
        "Type": "AWS::ApiGateway::Stage",
    }
    assert [(s["Name"], s["Type"]) for s in found["ServiceIds"]] == [
        (API, "AWS::ApiGateway::Stage"),
        (FUNCTION, "AWS::Lambda"),
        (FUNCTION, "AWS::Lambda::Function"),
    ]
    (cause,) = found["FaultRootCauses"]
    assert cause["ClientImpacting"] is True
    (service,) = cause["Services"]
    assert (service["Name"], service["Type"], service["Inferred"]) == (
        FUNCTION,
        "AWS::Lambda::Function",
        False,
    )
    assert [step["Name"] for step in service["EntityPath"]] == [FUNCTION, "hangingException"]
    exceptions = service["EntityPath"][-1]["Exceptions"]
    assert exceptions == [{"Name": "Exception", "Message": "FATAL: no"}]
    assert found["ErrorRootCauses"] == []
    (slow,) = found["ResponseTimeRootCauses"]
    path = slow["Services"][0]["EntityPath"]
    assert path[-1]["Name"] == "hangingException" and 0.9 < path[-1]["Coverage"] < 1
    assert found["Annotations"] == {
        "stage": [{"AnnotationValue": {"StringValue": "prod"}, "ServiceIds": []}]
    }
    assert found["Revision"] == 4


def test_a_downstream_fault_is_inferred_and_does_not_impact_the_client():
    found = summary(trace(post_question(2, sns_fault=True)), ACCOUNT)
    assert found["HasFault"] is True and found["Http"]["HttpStatus"] == 200
    (cause,) = found["FaultRootCauses"]
    assert cause["ClientImpacting"] is False
    (service,) = cause["Services"]
    assert (service["Name"], service["Type"], service["Inferred"]) == ("SNS", "AWS::SNS", True)
    assert [step["Name"] for step in service["EntityPath"]] == [FUNCTION, "sns"]


def test_a_throttle_is_an_error_too():
    found = summary(trace(process_stream(3, throttle=True)), ACCOUNT)
    assert (found["HasFault"], found["HasError"], found["HasThrottle"]) == (False, True, True)
    assert "Http" not in found
    (cause,) = found["ErrorRootCauses"]
    assert cause["Services"][0]["Name"] == "SNS"


def test_an_ok_trace_has_no_causes_of_failure():
    found = summary(trace(post_question(4)), ACCOUNT)
    assert (found["HasFault"], found["HasError"], found["HasThrottle"]) == (False, False, False)
    assert found["FaultRootCauses"] == found["ErrorRootCauses"] == []
    assert [s["Name"] for s in found["ServiceIds"]][-2:] == ["DynamoDB", "SNS"]


def test_streamed_subsegments_are_put_back_in_their_segment():
    failing = trace(post_question(5, fault=True))
    merged = {s["Id"]: json.loads(s["Document"]) for s in failing.merged_documents()}
    assert list(merged) == [entity_id(5, i) for i in (0, 2, 3)]  # the three segments
    function = merged[entity_id(5, 3)]
    (hanging,) = function["subsegments"]
    assert hanging["name"] == "hangingException" and hanging["parent_id"] == entity_id(5, 3)
    api = merged[entity_id(5, 0)]
    assert api["subsegments"][0]["name"] == "Lambda"
