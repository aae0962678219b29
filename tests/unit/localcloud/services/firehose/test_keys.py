"""Object keys as Firehose names them: prefixes, the time path, the suffix, error outputs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from mysfits_lab.localcloud.services.firehose.keys import (
    PrefixError,
    check_prefixes,
    error_key,
    object_key,
)

OLDEST = datetime(2024, 3, 9, 7, 5, 4, tzinfo=UTC)
NOW = datetime(2024, 3, 9, 8, 0, 1, tzinfo=UTC)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_the_default_layout_appends_the_time_path_to_the_prefix():
    key = object_key("firehose/", "clicks", "1", OLDEST, NOW)
    assert re.fullmatch(rf"firehose/2024/03/09/07/clicks-1-2024-03-09-08-00-01-{UUID}", key)


def test_the_prefix_is_concatenated_as_given_and_the_version_is_in_the_name():
    assert object_key("", "s", "7", OLDEST, NOW).startswith("2024/03/09/07/s-7-2024-03-09-08")
    # AWS appends the time path with no separator of its own.
    assert object_key("logs", "s", "1", OLDEST, NOW).startswith("logs2024/03/09/07/s-1-")


def test_each_key_has_its_own_uuid_and_the_extension_last():
    first = object_key("p/", "s", "1", OLDEST, NOW, ".gz")
    second = object_key("p/", "s", "1", OLDEST, NOW, ".gz")
    assert first != second
    assert first.endswith(".gz")


def test_timestamp_expressions_replace_the_time_path():
    prefix = "y=!{timestamp:yyyy}/m=!{timestamp:MM}/d=!{timestamp:dd}/h=!{timestamp:HH}/"
    key = object_key(prefix, "s", "1", OLDEST, NOW)
    assert key.startswith("y=2024/m=03/d=09/h=07/s-1-2024-03-09-08-00-01-")


def test_timestamp_patterns_take_quoted_text_and_short_fields():
    prefix = "!{timestamp:'year='yy'/'M/d/H/m/s}/"
    assert object_key(prefix, "s", "1", OLDEST, NOW).startswith("year=24/3/9/7/5/4/s-1-")


def test_a_random_string_is_eleven_characters_and_new_each_time():
    key = object_key("!{firehose:random-string}/!{firehose:random-string}/", "s", "1", OLDEST, NOW)
    first, second, rest = key.split("/", 2)
    assert len(first) == len(second) == 11 and first != second
    # No timestamp expression: the time path is still appended.
    assert rest.startswith("2024/03/09/07/s-1-")


def test_processing_failures_default_to_the_prefix_and_the_error_type():
    key = error_key("firehose/", None, "processing-failed", "s", "2", OLDEST, NOW)
    assert re.fullmatch(
        rf"firehose/processing-failed/2024/03/09/07/s-2-2024-03-09-08-00-01-{UUID}", key
    )
    key = error_key("", None, "processing-failed", "s", "1", OLDEST, NOW)
    assert key.startswith("processing-failed/2024/03/09/07/s-1-")


def test_error_output_prefixes_literal_and_with_expressions():
    literal = error_key("firehose/", "errors/", "processing-failed", "s", "1", OLDEST, NOW)
    assert literal.startswith("errors/processing-failed/2024/03/09/07/s-1-")
    evaluated = error_key(
        "p/!{timestamp:yyyy}/",
        "bad/!{firehose:error-output-type}/!{timestamp:yyyy/MM}/",
        "processing-failed",
        "s",
        "1",
        OLDEST,
        NOW,
    )
    assert evaluated.startswith("bad/processing-failed/2024/03/s-1-")


@pytest.mark.parametrize(
    ("prefix", "error_prefix", "message"),
    [
        ("p/!{timestamp:yyyy}/", None, "ErrorOutputPrefix cannot be null or empty"),
        ("p/", "e/!{timestamp:yyyy}/", "must contain !{firehose:error-output-type}"),
        ("p/!{firehose:error-output-type}/", "e/", "Prefix can't contain"),
        ("p/!{timestamp:yyyy/", None, "can only appear in !{namespace:value}"),
        ("!{partitionKeyFromQuery:id}/", "e/!{firehose:error-output-type}", "dynamic partition"),
        ("!{timestamp:yyyy-ww}/", "e/!{firehose:error-output-type}", "pattern letters"),
        ("!{timestamp:'open}/", "e/!{firehose:error-output-type}", "not closed"),
        ("!{firehose:nope}/", "e/!{firehose:error-output-type}", "random-string"),
        ("!{unknown:x}/", "e/!{firehose:error-output-type}", "namespace must be"),
    ],
)
def test_prefixes_aws_or_the_local_cloud_refuse(prefix, error_prefix, message):
    with pytest.raises(PrefixError, match=re.escape(message)):
        check_prefixes(prefix, error_prefix)


def test_valid_prefixes_pass():
    check_prefixes("", None)
    check_prefixes("firehose/", None)
    check_prefixes("firehose/", "errors/")
    check_prefixes("p/!{timestamp:yyyy}/", "e/!{firehose:error-output-type}/")
