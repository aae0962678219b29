"""FilterCriteria patterns over DynamoDB stream records."""

from __future__ import annotations

import json

import pytest

from mysfits_lab.localcloud.services.event_sources.filters import (
    BadPattern,
    matches_any,
    parse_criteria,
)

RECORD = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"id": {"S": "q-1"}},
        "NewImage": {
            "id": {"S": "q-1"},
            "email": {"S": "Ana@Example.com"},
            "likes": {"N": "42"},
            "answered": {"BOOL": False},
        },
    },
}


def _patterns(*patterns: dict) -> tuple[dict, ...]:
    return parse_criteria({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "REMOVE"]}, False),
        ({"dynamodb": {"NewImage": {"id": {"S": ["q-1"]}}}}, True),
        ({"dynamodb": {"NewImage": {"id": {"S": [{"prefix": "q-"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"id": {"S": [{"suffix": "-2"}]}}}}, False),
        (
            {
                "dynamodb": {
                    "NewImage": {"email": {"S": [{"equals-ignore-case": "ana@example.COM"}]}}
                }
            },
            True,
        ),
        ({"dynamodb": {"NewImage": {"likes": {"N": [{"numeric": [">", 40, "<=", 42]}]}}}}, True),
        ({"dynamodb": {"NewImage": {"likes": {"N": [{"numeric": ["<", 10]}]}}}}, False),
        ({"dynamodb": {"NewImage": {"likes": {"N": [42]}}}}, True),
        ({"dynamodb": {"NewImage": {"answered": {"BOOL": [False]}}}}, True),
        ({"dynamodb": {"NewImage": {"answered": {"BOOL": [0]}}}}, False),
        ({"dynamodb": {"OldImage": [{"exists": False}]}}, True),
        ({"dynamodb": {"NewImage": [{"exists": True}]}}, True),
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, True),
        ({"eventName": [{"anything-but": {"prefix": "INS"}}]}, False),
        ({"missing": ["x"]}, False),
    ],
)
def test_a_pattern_matches_as_lambda_filters(pattern, expected):
    assert matches_any(_patterns(pattern), RECORD) is expected


def test_filters_are_alternatives_and_no_filter_lets_everything_through():
    assert matches_any((), RECORD)
    assert matches_any(_patterns({"eventName": ["REMOVE"]}, {"eventName": ["INSERT"]}), RECORD)
    assert not matches_any(_patterns({"eventName": ["REMOVE"]}), RECORD)


@pytest.mark.parametrize(
    "pattern",
    [
        {"eventName": [{"unknown-rule": 1}]},
        {"eventName": [{"numeric": [">"]}]},
        {"eventName": [{"prefix": 1}]},
        {"eventName": []},
    ],
)
def test_rules_lambda_does_not_have_are_refused(pattern):
    with pytest.raises(BadPattern):
        _patterns(pattern)


def test_at_most_five_filters():
    with pytest.raises(BadPattern):
        _patterns(*[{"eventName": ["INSERT"]}] * 6)
