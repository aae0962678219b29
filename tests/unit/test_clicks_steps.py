"""Module 5's pure parts: the mapping template and API document, and the clicks' views."""

from __future__ import annotations

import base64
import importlib.util
import json

import pytest

from mysfits_lab.paths import assets_dir
from mysfits_lab.steps import clicks
from mysfits_lab.views import clicks as views


def _processor():
    path = assets_dir() / "functions" / "clicks" / "stream_processor.py"
    spec = importlib.util.spec_from_file_location("stream_processor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_mapping_template_is_the_originals_with_the_stream_name():
    template = clicks.mapping_template("ana-MysfitsFireHoseToS3")
    assert template == (
        '{ "DeliveryStreamName": "ana-MysfitsFireHoseToS3", '
        '"Record": { "Data": "$util.base64Encode($input.json(\'$\'))" } }'
    )


def test_the_stream_buffers_briefly_for_the_function_and_for_the_bucket():
    from mysfits_lab.localcloud.services.firehose.models import check_destination

    arn = "arn:aws:lambda:us-east-1:123456789012:function:ana-MysfitsClicksProcessor"
    config = clicks.destination("clicks", "arn:aws:iam::123456789012:role/r", arn)
    delivered = check_destination(config)
    assert delivered.processor is not None and delivered.processor.lambda_arn == arn
    assert delivered.processor.interval_seconds == clicks.FUNCTION_BUFFER_SECONDS
    assert delivered.interval_seconds == clicks.BUFFER_SECONDS
    assert delivered.latency_seconds == clicks.DELIVERY_SECONDS <= 30  # a learner's half minute


def _encoded(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.b64encode(raw).decode()


def test_the_transform_enriches_good_clicks_and_fails_bad_ones_without_failing_the_batch(
    monkeypatch,
):
    processor = _processor()
    known = {"m1": {"species": "Troll", "goodevil": "Evil", "lawchaos": "Lawful", "name": "x"}}

    def lookup(mysfit_id):
        if mysfit_id not in known:
            raise processor.ClickError("GET answered 404")
        return known[mysfit_id]

    monkeypatch.setattr(processor, "lookup", lookup)
    event = {
        "records": [
            {"recordId": "1", "data": _encoded({"userId": "u", "mysfitId": "m1"})},
            {"recordId": "2", "data": _encoded({"userId": "u", "mysfitId": "nope"})},
            {"recordId": "3", "data": _encoded(b"not json")},
            {"recordId": "4", "data": _encoded({"userId": "u"})},
            {"recordId": "5", "data": _encoded({"mysfitId": "m1"})},
        ]
    }
    out = processor.process_records(event, None)["records"]
    assert [r["recordId"] for r in out] == ["1", "2", "3", "4", "5"]
    assert [r["result"] for r in out] == [
        "Ok",
        "ProcessingFailed",
        "ProcessingFailed",
        "ProcessingFailed",
        "Ok",
    ]
    line = base64.b64decode(out[0]["data"]).decode()
    assert line.endswith("\n")
    assert json.loads(line) == {
        "userId": "u",
        "mysfitId": "m1",
        "species": "Troll",
        "goodevil": "Evil",
        "lawchaos": "Lawful",
    }
    assert json.loads(base64.b64decode(out[4]["data"]))["userId"] == "guest"
    assert out[1]["data"] == event["records"][1]["data"]  # kept as it came, for the error prefix


def test_the_transform_names_a_missing_api_url(monkeypatch):
    processor = _processor()
    monkeypatch.setattr(processor, "API_URL", "")
    with pytest.raises(processor.ClickError, match="MYSFITS_API_URL"):
        processor.lookup("m1")


def test_clicks_views_show_a_table_and_counts_per_species():
    landed = [
        {
            "userId": "u",
            "mysfitId": "a",
            "species": "Troll",
            "goodevil": "Evil",
            "lawchaos": "Lawful",
            "object": "firehose/2026/12/01/19/s-1-x",
        },
        {
            "userId": "v",
            "mysfitId": "b",
            "species": "Troll",
            "goodevil": "Good",
            "lawchaos": "Neutral",
            "object": "firehose/2026/12/01/19/s-1-x",
        },
        {
            "userId": "v",
            "mysfitId": "c",
            "species": "Yeti",
            "goodevil": "Good",
            "lawchaos": "Neutral",
            "object": "firehose/2026/12/01/19/s-1-y",
        },
    ]
    frame = views.clicks_frame(landed)
    assert list(frame.columns) == views.COLUMNS and list(frame["object"]) == ["s-1-x"] * 2 + [
        "s-1-y"
    ]
    figure = views.clicks_per_species(landed)
    bars = figure.axes[0].patches
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["Troll", "Yeti"] and [b.get_height() for b in bars] == [2, 1]
