"""Mapping templates rendered as API Gateway renders them: the workshop's Firehose template
exactly, ``$input``/``$util``/``$context`` as the API Gateway developer guide's "Variables for
data transformations" describes them, and Velocity's directives."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mysfits_lab.localcloud.services.apigateway.integrations.jsonpath import MISSING, evaluate
from mysfits_lab.localcloud.services.apigateway.integrations.variables import (
    context_of,
    params_of,
)
from mysfits_lab.localcloud.services.apigateway.integrations.vtl import (
    BadInput,
    TemplateFailure,
    render,
)
from mysfits_lab.localcloud.services.apigateway.integrations.vtl_values import (
    escape_javascript,
    url_encode,
)

from .builders import request

# module-5/cfn/real-time-streaming.yml's request template, the stream name substituted
WORKSHOP = (
    '{ "DeliveryStreamName": "MysfitsFireHoseToS3-abc", "Record": { "Data": '
    "\"$util.base64Encode($input.json('$'))\" } }"
)
CLICK = b'{"userId": "guest", "mysfitId": "4e53920c-505a-4a90-a694-b9300791f0ae"}'


def _render(template: str, body: bytes | str = b"", **fields: Any) -> str:
    req = request(body=body if isinstance(body, bytes) else body.encode(), **fields)
    text = req.body.decode()
    return render(template, text, params_of(req), context_of(req), req.stage_variables).text


# -- the workshop's template -------------------------------------------------------------------
def test_the_workshops_template_gives_firehose_the_click_re_serialised_in_base64():
    rendered = _render(WORKSHOP, CLICK)
    assert rendered == (
        '{ "DeliveryStreamName": "MysfitsFireHoseToS3-abc", "Record": { "Data": '
        '"eyJ1c2VySWQiOiJndWVzdCIsIm15c2ZpdElkIjoiNGU1MzkyMGMtNTA1YS00'
        'YTkwLWE2OTQtYjkzMDA3OTFmMGFlIn0=" } }'
    )
    data = json.loads(rendered)["Record"]["Data"]
    # what Firehose writes to S3: the body as compact JSON
    assert base64.b64decode(data) == (
        b'{"userId":"guest","mysfitId":"4e53920c-505a-4a90-a694-b9300791f0ae"}'
    )


@pytest.mark.parametrize(
    ("body", "data"),
    [
        # quotes inside strings stay JSON-escaped
        (
            '{"text": "She said \\"hi\\" and \'bye\'"}',
            "eyJ0ZXh0IjoiU2hlIHNhaWQgXCJoaVwiIGFuZCAnYnllJyJ9",
        ),
        # non-ASCII is kept as UTF-8, not \u-escaped
        ('{"name": "Gängster 🐉"}', "eyJuYW1lIjoiR8OkbmdzdGVyIPCfkIkifQ=="),
        # an empty body is an empty object
        ("", "e30="),
        ("   ", "e30="),
    ],
)
def test_the_workshops_template_with_tricky_bodies(body, data):
    assert json.loads(_render(WORKSHOP, body))["Record"]["Data"] == data


def test_nested_json_keeps_its_structure_compactly():
    body = '{"a": {"b": [1, {"c": true, "d": null}], "e": 1.5}}'
    assert _render("$input.json('$')", body) == '{"a":{"b":[1,{"c":true,"d":null}],"e":1.5}}'
    assert _render("$input.json('$.a.b[1]')", body) == '{"c":true,"d":null}'
    assert _render("$input.json('$.a.e')", body) == "1.5"
    assert _render("$input.json('$.a.b[1].d')", body) == "null"
    assert _render("$input.json('$.nothing')", body) == ""


def test_a_body_that_is_not_json_fails_only_where_it_is_read_as_json():
    assert _render("$input.body", "not json") == "not json"
    with pytest.raises(BadInput):
        _render("$input.json('$')", "not json")
    with pytest.raises(BadInput):
        _render("$input.path('$.a')", "{broken")


# -- $input --------------------------------------------------------------------------------------
def test_input_path_gives_values_a_template_can_use():
    body = '{"name": "Sir Fuzzles", "good": true, "tags": ["a", "b"], "age": 7, "m": {"x": 1}}'
    template = (
        "#set($root = $input.path('$'))"
        "$root.name|$root.good|$root.tags.size()|$root.tags.get(1)|$root.age|"
        "#if($root.good)yes#{else}no#end|$root.m|$root.tags|$root.name.toUpperCase()"
    )
    assert _render(template, body) == 'Sir Fuzzles|true|2|b|7|yes|{x=1}|["a","b"]|SIR FUZZLES'


def test_input_params_searches_path_then_query_string_then_header():
    fields = {
        "path_parameters": {"id": "from-path"},
        "query_string": "id=from-query&q=1&q=2",
        "headers": [("Id", "from-header"), ("X-Only", "header"), ("Content-Type", "text/plain")],
    }
    assert _render("$input.params('id')", **fields) == "from-path"
    assert _render("$input.params('q')", **fields) == "2"  # a repeated name: its last value
    assert _render("$input.params('x-only')", **fields) == "header"
    assert _render("[$input.params('missing')]", **fields) == "[]"
    assert _render("$input.params().querystring.q", **fields) == "2"
    assert _render("$input.params().header.get('X-Only')", **fields) == "header"
    assert _render("$input.params().path", **fields) == "{id=from-path}"


def test_the_developer_guides_all_parameters_template():
    """Example 2 of the guide's "Examples using variables for mapping template
    transformations": every request parameter passed in a JSON payload."""
    template = """#set($allParams = $input.params())
{
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
}
}"""
    rendered = _render(
        template,
        path_parameters={"petId": "7"},
        query_string="type=dog",
        headers=[("Accept", "application/json"), ("X-Note", 'say "hi"')],
    )
    assert json.loads(rendered) == {
        "params": {
            "path": {"petId": "7"},
            "querystring": {"type": "dog"},
            "header": {"Accept": "application/json", "X-Note": 'say "hi"'},
        }
    }


# -- $util ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ('He didn\'t say, "Stop!"', 'He didn\\\'t say, \\"Stop!\\"'),  # commons-lang's example
        ("a/b\\c", "a\\/b\\\\c"),
        ("line\nnext\ttab\r", "line\\nnext\\ttab\\r"),
        ("\x01\x1f", "\\u0001\\u001F"),
        ("é", "\\u00E9"),
        ("🐉", "\\uD83D\\uDC09"),  # UTF-16 units, as Java's String holds it
        ("plain", "plain"),
    ],
)
def test_escape_javascript_is_commons_langs(text, escaped):
    assert escape_javascript(text) == escaped
    assert _render("$util.escapeJavaScript($input.path('$.t'))", json.dumps({"t": text})) == escaped


def test_util_functions():
    assert _render("$util.base64Encode('Hello, World')") == "SGVsbG8sIFdvcmxk"
    assert _render("$util.base64Decode('SGVsbG8sIFdvcmxk')") == "Hello, World"
    assert _render("$util.urlEncode('a b&c=d/é*~')") == "a+b%26c%3Dd%2F%C3%A9*%7E"
    assert url_encode("-_.*") == "-_.*"
    assert _render("$util.urlDecode('a+b%26c')") == "a b&c"
    template = "#set($o = $util.parseJson($input.path('$.raw')))$o.a.b"
    assert _render(template, '{"raw": "{\\"a\\": {\\"b\\": 42}}"}') == "42"
    with pytest.raises(TemplateFailure):
        _render("$util.parseJson('not json')")
    with pytest.raises(TemplateFailure):
        _render("$util.base64Decode('***')")


# -- $context, $stageVariables -------------------------------------------------------------------
def test_context_variables():
    template = (
        "$context.requestId|$context.extendedRequestId|$context.httpMethod|"
        "$context.resourcePath|$context.resourceId|$context.stage|$context.path|$context.apiId|"
        "$context.accountId|$context.requestTime|$context.requestTimeEpoch|"
        "$context.identity.sourceIp|$context.identity.userAgent"
    )
    rendered = _render(template, headers=[("User-Agent", "curl/8.0")])
    assert rendered.split("|") == [
        "c0ffee00-0000-4000-8000-000000000001",
        "Ab12Cd34Ef56Gh=",
        "POST",
        "/questions",
        "res123",
        "prod",
        "/prod/questions",
        "a1b2c3d4e5",
        "123456789012",
        "14/Nov/2023:22:13:20 +0000",
        "1700000000123",
        "127.0.0.1",
        "curl/8.0",
    ]


def test_claims_are_strings_and_the_claims_map_itself_prints_nothing():
    claims = {"email": "ana@example.com", "email_verified": True, "exp": 1700003600, "auth_time": 1}
    template = (
        "[$context.authorizer.claims]$context.authorizer.claims.email|"
        "$context.authorizer.claims.email_verified|$context.authorizer.claims.exp|"
        "$context.authorizer.claims.auth_time"
    )
    assert _render(template, claims=claims) == (
        "[]ana@example.com|true|Tue Nov 14 23:13:20 UTC 2023|1"
    )


def test_references_to_nothing_render_empty():
    assert _render("[$context.authorizer.claims.email][$util.hmac('x')][$nothing][${nothing}]") == (
        "[][][][]"
    )
    assert _render("$stageVariables.table", stage_variables={"table": "Mysfits"}) == "Mysfits"
    assert _render("[$stageVariables.nope]") == "[]"


def test_response_overrides():
    req = request()
    rendered = render(
        "#set($context.responseOverride.status = 418)"
        '#set($context.responseOverride.header.Tea = "yes"){}',
        "",
        params_of(req),
        context_of(req),
    )
    assert (rendered.text, rendered.status, rendered.headers) == ("{}", 418, {"Tea": "yes"})
    ignored = render("#set($context.responseOverride.status = 99)", "", {}, {})
    assert ignored.status is None


# -- directives and limits -----------------------------------------------------------------------
def test_foreach_over_a_payload_list():
    body = '{"items": [{"id": 1}, {"id": 2}, {"id": 3}]}'
    template = (
        "[#foreach($i in $input.path('$.items')){\"n\": $i.id}#if($foreach.hasNext),#end#end]"
    )
    assert json.loads(_render(template, body)) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_foreach_is_capped_at_api_gateways_1000_iterations():
    assert _render("#foreach($i in [1..1000])#end done") == " done"
    with pytest.raises(TemplateFailure, match="1000"):
        _render("#foreach($i in [1..1001])#end")


@pytest.mark.parametrize("template", ["#if($x", "#foreach($i in)#end", "$input.json('$..a')"])
def test_templates_that_cannot_run_are_template_failures(template):
    with pytest.raises(TemplateFailure):
        _render(template, '{"a": 1}')


# -- JSONPath ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", {"a": {"b c": [10, 20]}, "l": [{"id": 1}, {"id": 2}]}),
        ("$.a['b c'][1]", 20),
        ('$["a"]["b c"][-1]', 20),
        ("$.l[*].id", [1, 2]),
        ("$.l.*", [{"id": 1}, {"id": 2}]),
        ("$.a.missing", MISSING),
        ("$.l[5]", MISSING),
    ],
)
def test_jsonpath_subset(path, value):
    document = {"a": {"b c": [10, 20]}, "l": [{"id": 1}, {"id": 2}]}
    assert evaluate(document, path) == value


@pytest.mark.parametrize("path", ["a.b", "$..a", "$.l[0:1]", "$.l[?(@.id)]"])
def test_jsonpath_outside_the_subset_is_refused(path):
    with pytest.raises(ValueError):
        evaluate({}, path)
