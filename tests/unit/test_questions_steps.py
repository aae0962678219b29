"""Module 6's waits for X-Ray: a request's trace, and the traces of a burst with a fault, once
whole (API Gateway's segment reaches X-Ray after the function's)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from mysfits_lab.steps import questions
from tests.unit.fakes import FakeLab, Script

TRACE = "1-6b0f582d-53f1df1b52a3ab30bffd47a2"
STAGE = {"Name": "mysfit-QuestionsApi/prod", "Type": "AWS::ApiGateway::Stage"}
LAMBDA = {"Name": "mysfit-MysfitsPostQuestionFunction", "Type": "AWS::Lambda"}
FUNCTION = {"Name": "mysfit-MysfitsPostQuestionFunction", "Type": "AWS::Lambda::Function"}


def _summary(trace: str = TRACE, whole: bool = True, fault: bool = False) -> dict[str, Any]:
    """A trace summary before API Gateway's segment came (its entry point is then Lambda's)."""
    return {
        "Id": trace,
        "HasFault": fault,
        "EntryPoint": STAGE if whole else LAMBDA,
        "ServiceIds": [STAGE, LAMBDA, FUNCTION] if whole else [LAMBDA, FUNCTION],
    }


def _lab(*pages: list[dict[str, Any]], local: bool = True) -> FakeLab:
    xray = SimpleNamespace(
        get_trace_summaries=Script(*({"TraceSummaries": page} for page in pages))
    )
    lab = FakeLab(xray=xray)
    lab.is_local = local  # type: ignore[attr-defined]
    return lab


def test_the_trace_of_an_answer_is_awaited_until_whole():
    lab = _lab(
        [_summary(whole=False)], [_summary("1-6b0f582d-000000000000000000000000"), _summary()]
    )
    answer = SimpleNamespace(headers={"X-Amzn-Trace-Id": f"Root={TRACE};Sampled=1"})
    assert questions.wait_for_trace(lab, answer)["Id"] == TRACE
    assert lab.client("xray").get_trace_summaries.calls == 2


def test_an_answer_without_a_trace_is_not_awaited():
    lab = _lab([])
    assert questions.wait_for_trace(lab, SimpleNamespace(headers={})) is None
    assert lab.client("xray").get_trace_summaries.calls == 0


def test_locally_each_failed_answer_of_a_burst_has_its_fault_trace():
    first = _summary("1-6b0f582d-000000000000000000000001", fault=True)
    second = _summary("1-6b0f582d-000000000000000000000002", fault=True)
    ok = _summary("1-6b0f582d-000000000000000000000003")
    early = _summary(second["Id"], whole=False, fault=True)
    lab = _lab([first, ok, early], [first, ok, second])
    assert questions.wait_for_fault_traces(lab, 0.0, [502, 200, 502]) == [first, second]
    assert lab.client("xray").get_trace_summaries.calls == 2


def test_on_aws_the_bursts_first_sampled_trace_is_enough():
    ok = _summary()
    lab = _lab([], [ok], local=False)  # AWS samples the first request each second, 5% of the rest
    assert questions.wait_for_fault_traces(lab, 0.0, [502, 200, 502]) == [ok]


def test_a_burst_without_failures_waits_for_nothing():
    lab = _lab([])
    assert questions.wait_for_fault_traces(lab, 0.0, [200] * 6) == []
    assert lab.client("xray").get_trace_summaries.calls == 0
