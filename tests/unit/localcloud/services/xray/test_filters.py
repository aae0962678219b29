"""Filter expressions: parsed, evaluated against a trace's facts, and refused clearly."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.xray import filters
from mysfits_lab.localcloud.services.xray.filters import Facts
from mysfits_lab.localcloud.services.xray.summaries import facts

from .samples import API, FUNCTION, post_question, process_stream, trace

SLOW_FAULT = facts(trace(post_question(1, fault=True)))  # 5.2 s, 502, hangingException
FAST_OK = facts(trace(post_question(2)))  # 0.3 s, 200, DynamoDB and SNS
THROTTLED = facts(trace(process_stream(3, throttle=True)))  # SNS answered 429


def matching(expression: str) -> list[str]:
    tree = filters.parse(expression)
    named = {"slow_fault": SLOW_FAULT, "fast_ok": FAST_OK, "throttled": THROTTLED}
    return [name for name, fact in named.items() if tree.matches(fact)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("fault", ["slow_fault"]),
        ("error", ["throttled"]),
        ("throttle", ["throttled"]),
        ("ok", ["fast_ok"]),
        ("!ok", ["slow_fault", "throttled"]),
        ("fault = false", ["fast_ok", "throttled"]),
        ("fault != true", ["fast_ok", "throttled"]),
        ("partial", []),
        ("responsetime > 1", ["slow_fault"]),
        ("responsetime>1", ["slow_fault"]),
        ("responsetime < 1", ["fast_ok", "throttled"]),
        ("responsetime >= 0.4", ["slow_fault", "throttled"]),
        ("responsetime <= 0.3", ["fast_ok"]),
        ("duration > 5", ["slow_fault"]),
        ("duration = 0.4", ["throttled"]),
        ("http.status = 502", ["slow_fault"]),
        ("http.status != 502", ["fast_ok"]),  # the stream's trace has no HTTP status
        ("http.status >= 200 AND http.status < 300", ["fast_ok"]),
        ('http.url CONTAINS "questions"', ["slow_fault", "fast_ok"]),
        ('http.url BEGINSWITH "https://api.local/"', ["slow_fault", "fast_ok"]),
        ('http.url ENDSWITH "/questions"', ["slow_fault", "fast_ok"]),
        ('http.url contains "nothing"', []),
        ('http.method = "POST"', ["slow_fault", "fast_ok"]),
        (f'service("{FUNCTION}")', ["slow_fault", "fast_ok"]),
        ('service("DynamoDB")', ["fast_ok"]),
        ('service("SNS") { throttle }', ["throttled"]),
        ('service("SNS") { ok }', ["fast_ok"]),
        (f'service("{FUNCTION}") {{ fault }}', ["slow_fault"]),
        (f'service("{FUNCTION}") {{ responsetime > 5 }}', ["slow_fault"]),
        (
            f'service(id(name: "{FUNCTION}", type: "AWS::Lambda::Function"))',
            ["slow_fault", "fast_ok"],
        ),
        ('service(id(type: "AWS::SNS"))', ["fast_ok", "throttled"]),
        ('service("nope")', []),
        ("service()", ["slow_fault", "fast_ok", "throttled"]),
        ('annotation.stage = "prod"', ["slow_fault", "fast_ok"]),
        ("fault OR throttle", ["slow_fault", "throttled"]),
        ("fault || throttle", ["slow_fault", "throttled"]),
        ("ok AND responsetime < 1", ["fast_ok"]),
        ("ok && responsetime < 1", ["fast_ok"]),
        ("fault or ok and responsetime > 1", ["slow_fault"]),  # AND binds tighter
        ("(fault OR ok) AND responsetime < 1", ["fast_ok"]),
        ("!(fault OR ok)", ["throttled"]),
        ('!service("DynamoDB") AND http.status = 502', ["slow_fault"]),
        (f'service("{API}") AND !fault', ["fast_ok"]),
    ],
)
def test_expressions_keep_the_right_traces(expression, expected):
    assert matching(expression) == expected


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("", "empty"),
        ("fault AND", "expected a keyword, found the end"),
        ("(fault", "expected ')'"),
        ("fault)", "unexpected ')'"),
        ("responsetime", "responsetime needs one of"),
        ('responsetime > "1"', "responsetime compares with a number"),
        ("http.status CONTAINS 5", "http.status needs one of"),
        ("http.url > 5", "http.url needs one of"),
        ('http.url = "unclosed', "a string is not closed"),
        ("fault = maybe", "fault compares with true or false"),
        ('user = "ada"', "unsupported keyword 'user'"),
        ('edge("a", "b")', "unsupported keyword 'edge'"),
        ("fault # comment", "unexpected '#'"),
        ("service(42)", "expected ')' to close service("),
        ('service(id(color: "x"))', "id() takes name: and type:"),
        ("(" * 40 + "fault" + ")" * 40, "nested deeper than"),
        ("!" * 40 + "fault", "nested deeper than"),
        ("fault OR " * 300 + "fault", "longer than"),
    ],
)
def test_unsupported_expressions_are_invalid_requests(expression, complaint):
    with pytest.raises(ServiceError) as error:
        filters.parse(expression)
    assert error.value.code == "InvalidRequestException"
    assert error.value.status == 400
    assert complaint in error.value.message
    assert "Invalid filter expression at position" in error.value.message


def test_positions_point_at_the_problem():
    with pytest.raises(ServiceError) as error:
        filters.parse("fault AND duration ~ 3")
    assert "at position 19" in error.value.message


def test_unknown_facts_never_match():
    empty = Facts({"responsetime": None, "http.url": None})
    for expression in ("responsetime > 0", 'http.url CONTAINS ""', "annotation.x", "fault"):
        assert not filters.parse(expression).matches(empty)
    assert filters.parse("!fault").matches(empty)
