"""``AWS`` and ``AWS_PROXY`` integrations without a cloud (a fake of the cloud's AWS API): the
call the workshop's Firehose integration makes, integration responses selected by status or a
Lambda error message, passthrough behaviours, the Lambda proxy event and the proxy answers API
Gateway accepts or answers 502."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mysfits_lab.localcloud.services.apigateway.answers import Answer, GatewayError
from mysfits_lab.localcloud.services.apigateway.integrations import aws, aws_proxy, proxy_format
from mysfits_lab.localcloud.services.apigateway.integrations.service_calls import (
    Invoked,
    ServiceAnswer,
)
from mysfits_lab.localcloud.services.apigateway.models import Integration

from .builders import FUNCTION, LAMBDA_URI, FakeServices, backends, invocation, request, response

STREAM_TEMPLATE = (
    '{ "DeliveryStreamName": "clicks", "Record": { "Data": '
    "\"$util.base64Encode($input.json('$'))\" } }"
)
CORS = {
    "method.response.header.Access-Control-Allow-Origin": "'*'",
    "method.response.header.Access-Control-Allow-Methods": "'OPTIONS, PUT'",
}


def firehose(**changes: Any) -> Integration:
    """module 5's integration, as its SAM template declares it."""
    fields: dict[str, Any] = {
        "type": "AWS",
        "http_method": "POST",
        "uri": "arn:aws:apigateway:us-east-1:firehose:action/PutRecord",
        "credentials": "arn:aws:iam::123456789012:role/ClickProcessingApiRole",
        "request_parameters": {
            "integration.request.header.Content-Type": "'application/x-amz-json-1.1'"
        },
        "request_templates": {"application/json": STREAM_TEMPLATE},
        "responses": (response("200", parameters=CORS),),
    }
    return Integration(**(fields | changes))


def _body(answer: Answer) -> bytes:
    return b"".join(answer.body)


# -- AWS: Firehose PutRecord ---------------------------------------------------------------------
def test_the_click_becomes_a_signed_put_record_call():
    services = FakeServices()
    click = b'{"userId": "guest", "mysfitId": "m-1"}'
    answer = aws.invoke(invocation(firehose(), body=click, http_method="PUT"), backends(services))

    (call,) = services.calls
    assert call["signing_name"] == "firehose"
    assert (call["region"], call["method"], call["path"]) == ("us-east-1", "POST", "/")
    assert call["headers"]["X-Amz-Target"] == "Firehose_20150804.PutRecord"
    assert call["headers"]["Content-Type"] == "application/x-amz-json-1.1"
    assert call["timeout_s"] == 29.0
    sent = json.loads(call["body"])
    assert sent["DeliveryStreamName"] == "clicks"
    assert base64.b64decode(sent["Record"]["Data"]) == b'{"userId":"guest","mysfitId":"m-1"}'
    # no response template: Firehose's answer passes through, with the mapped headers
    assert answer.status == 200
    assert _body(answer) == b'{"RecordId":"r-1","Encrypted":false}'
    assert answer.header("Access-Control-Allow-Methods") == "OPTIONS, PUT"
    assert answer.header("Content-Type") == "application/json"


def test_a_service_error_selects_its_integration_response_by_status():
    refused = ServiceAnswer(
        400, {}, b'{"__type":"ResourceNotFoundException","message":"Stream clicks not found"}'
    )
    workshop = aws.invoke(invocation(firehose()), backends(FakeServices(answer=refused)))
    assert workshop.status == 200  # the workshop has only a default response
    assert json.loads(_body(workshop))["__type"] == "ResourceNotFoundException"

    selective = firehose(
        responses=(
            response("200", parameters=CORS),
            response(
                "400",
                "4\\d{2}",
                templates={"application/json": '{"error": "$input.path(\'$.message\')"}'},
            ),
        )
    )
    answer = aws.invoke(invocation(selective), backends(FakeServices(answer=refused)))
    assert answer.status == 400
    assert json.loads(_body(answer)) == {"error": "Stream clicks not found"}


def test_without_a_content_type_mapping_the_services_json_type_is_sent():
    services = FakeServices()
    aws.invoke(invocation(firehose(request_parameters={})), backends(services))
    assert services.calls[0]["headers"]["Content-Type"] == "application/x-amz-json-1.1"


def test_query_services_get_their_action_in_the_query_string():
    services = FakeServices(answer=ServiceAnswer(200, {}, b"<PublishResponse/>"))
    integration = firehose(
        uri="arn:aws:apigateway:us-east-1:sns:action/Publish",
        request_parameters={},
        request_templates={"application/json": "TopicArn=arn&Message=$util.urlEncode($input.body)"},
    )
    aws.invoke(invocation(integration, body=b"hi there"), backends(services))
    call = services.calls[0]
    assert call["signing_name"] == "sns"
    assert call["path"] == "/?Action=Publish&Version=2010-03-31"
    assert call["body"] == b"TopicArn=arn&Message=hi+there"


def test_path_uris_reach_the_services_rest_api_with_path_parameters():
    services = FakeServices(answer=ServiceAnswer(200, {}, b"stored"))
    integration = firehose(
        http_method="PUT",
        uri="arn:aws:apigateway:us-east-1:s3:path/my-bucket/{key}",
        request_parameters={"integration.request.path.key": "method.request.path.item"},
        request_templates={},
    )
    aws.invoke(
        invocation(integration, path_parameters={"item": "a b.txt"}, body=b"data"),
        backends(services),
    )
    call = services.calls[0]
    assert (call["signing_name"], call["method"], call["path"]) == (
        "s3",
        "PUT",
        "/my-bucket/a%20b.txt",
    )
    assert call["body"] == b"data"


@pytest.mark.parametrize(
    ("behavior", "templates", "content_type", "outcome"),
    [
        ("WHEN_NO_MATCH", {"application/json": "{}"}, "text/plain", "passed"),
        ("WHEN_NO_TEMPLATES", {"application/json": "{}"}, "text/plain", 415),
        ("WHEN_NO_TEMPLATES", {}, "text/plain", "passed"),
        ("NEVER", {}, "text/plain", 415),
        ("NEVER", {"application/json": "{}"}, None, "templated"),  # no type: application/json
    ],
)
def test_passthrough_behaviours(behavior, templates, content_type, outcome):
    services = FakeServices()
    headers = [("Content-Type", content_type)] if content_type else []
    call = invocation(
        firehose(passthrough_behavior=behavior, request_templates=templates),
        body=b"raw body",
        headers=headers,
    )
    if outcome == 415:
        with pytest.raises(GatewayError) as refused:
            aws.invoke(call, backends(services))
        assert refused.value.response_type == "UNSUPPORTED_MEDIA_TYPE"
        assert services.calls == []
        return
    aws.invoke(call, backends(services))
    assert services.calls[0]["body"] == (b"raw body" if outcome == "passed" else b"{}")


def test_a_body_that_is_not_json_is_a_400_and_a_broken_template_a_500():
    with pytest.raises(GatewayError) as bad_body:
        aws.invoke(invocation(firehose(), body=b"{not json"), backends(FakeServices()))
    assert bad_body.value.response_type == "BAD_REQUEST_BODY"
    assert bad_body.value.message.startswith("Could not parse request body into json")

    broken = firehose(request_templates={"application/json": "#foreach($x in"})
    with pytest.raises(GatewayError) as bad_template:
        aws.invoke(invocation(broken, body=b"{}"), backends(FakeServices()))
    assert bad_template.value.response_type == "API_CONFIGURATION_ERROR"


def test_the_integration_timeout_is_a_504():
    services = FakeServices(timeout=True)
    with pytest.raises(GatewayError) as timed_out:
        aws.invoke(invocation(firehose(timeout_ms=1000), body=b"{}"), backends(services))
    assert timed_out.value.response_type == "INTEGRATION_TIMEOUT"
    assert services.calls[0]["timeout_s"] == 1.0


def test_unknown_services_and_uris_are_configuration_errors():
    for uri in ("arn:aws:apigateway:us-east-1:nosuchservice:action/Do", "http://not-an-arn/"):
        with pytest.raises(GatewayError) as refused:
            aws.invoke(invocation(firehose(uri=uri), body=b"{}"), backends(FakeServices()))
        assert refused.value.response_type == "API_CONFIGURATION_ERROR"


# -- AWS: Lambda without proxy -------------------------------------------------------------------
def lambda_custom() -> Integration:
    return Integration(
        type="AWS",
        http_method="POST",
        uri=LAMBDA_URI,
        request_templates={"application/json": '{"name": "$input.path(\'$.name\')"}'},
        responses=(
            response("200"),
            response("404", ".*not found.*", templates={"application/json": '{"missing": true}'}),
        ),
    )


def test_a_lambda_custom_integration_sends_the_template_as_the_payload():
    services = FakeServices(invoked=Invoked(b'{"hello": "ana"}'))
    answer = aws.invoke(invocation(lambda_custom(), body=b'{"name": "ana"}'), backends(services))
    (call,) = services.calls
    assert call["function"] == FUNCTION
    assert json.loads(call["payload"]) == {"name": "ana"}
    assert (answer.status, _body(answer)) == (200, b'{"hello": "ana"}')


def test_a_lambda_error_is_selected_by_its_error_message():
    error = b'{"errorMessage": "mysfit not found", "errorType": "KeyError"}'
    services = FakeServices(invoked=Invoked(error, "Unhandled"))
    answer = aws.invoke(invocation(lambda_custom(), body=b"{}"), backends(services))
    assert (answer.status, _body(answer)) == (404, b'{"missing": true}')

    other = FakeServices(invoked=Invoked(b'{"errorMessage": "boom"}', "Unhandled"))
    fallback = aws.invoke(invocation(lambda_custom(), body=b"{}"), backends(other))
    assert (fallback.status, json.loads(_body(fallback))) == (200, {"errorMessage": "boom"})


# -- AWS_PROXY -----------------------------------------------------------------------------------
def proxy(**changes: Any) -> Integration:
    return Integration(
        **({"type": "AWS_PROXY", "http_method": "POST", "uri": LAMBDA_URI} | changes)
    )


def test_the_proxy_event():
    services = FakeServices(invoked=Invoked(b'{"statusCode": 200, "body": "ok"}'))
    call = invocation(
        proxy(),
        resource_path="/questions/{questionId}",
        path="/questions/q%201",
        path_parameters={"questionId": "q 1"},
        query_string="topic=a&topic=b&empty=",
        headers=[
            ("Host", "127.0.0.1:5000"),
            ("Content-Type", "application/json"),
            ("Content-Length", "16"),
            ("Accept", "text/html"),
            ("Accept", "application/json"),
            ("User-Agent", "curl/8.0"),
        ],
        body=b'{"question": "?"}',
        claims={"email": "ana@example.com", "email_verified": True, "sub": "u-1"},
        stage_variables={"table": "Questions"},
    )
    aws_proxy.invoke(call, backends(services))
    event = services.event()
    assert services.calls[0]["function"] == FUNCTION
    assert services.calls[0]["trace_id"] == "Root=1-655400a0-0123456789abcdef01234567"
    assert event["resource"] == "/questions/{questionId}"
    assert event["path"] == "/questions/q 1"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["Accept"] == "application/json"
    assert event["multiValueHeaders"]["Accept"] == ["text/html", "application/json"]
    assert "Content-Length" not in event["headers"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == "5000"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Amzn-Trace-Id"] == "Root=1-655400a0-0123456789abcdef01234567"
    assert event["queryStringParameters"] == {"topic": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"topic": ["a", "b"], "empty": [""]}
    assert event["pathParameters"] == {"questionId": "q 1"}
    assert event["stageVariables"] == {"table": "Questions"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"question": "?"}', False)
    context = event["requestContext"]
    assert context == context | {
        "resourceId": "res123",
        "resourcePath": "/questions/{questionId}",
        "httpMethod": "POST",
        "extendedRequestId": "Ab12Cd34Ef56Gh=",
        "requestTime": "14/Nov/2023:22:13:20 +0000",
        "path": "/prod/questions/q%201",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "domainPrefix": "a1b2c3d4e5",
        "requestTimeEpoch": 1700000000123,
        "requestId": "c0ffee00-0000-4000-8000-000000000001",
        "domainName": "127.0.0.1:5000",
        "apiId": "a1b2c3d4e5",
    }
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8.0"
    assert context["authorizer"] == {
        "claims": {"email": "ana@example.com", "email_verified": "true", "sub": "u-1"}
    }


def test_an_empty_request_has_null_members():
    event = proxy_format.event(request(headers=[], body=b"", resource_path="/"))
    assert event["body"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert "authorizer" not in event["requestContext"]


def test_binary_bodies_are_base64():
    binary = proxy_format.event(
        request(
            headers=[("Content-Type", "image/png")],
            body=b"\x89PNG",
            binary_media_types=("image/*",),
        )
    )
    assert (binary["body"], binary["isBase64Encoded"]) == ("iVBORw==", True)
    not_text = proxy_format.event(request(headers=[("Content-Type", "text/plain")], body=b"\xff"))
    assert (not_text["body"], not_text["isBase64Encoded"]) == ("/w==", True)


@pytest.mark.parametrize(
    ("answer", "status", "headers", "body"),
    [
        (
            {
                "statusCode": 201,
                "headers": {"X-One": "1", "X-Flag": True},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": '{"status": "success"}',
            },
            201,
            [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1"), ("X-Flag", "true")],
            b'{"status": "success"}',
        ),
        ({"statusCode": "202"}, 202, [], b""),
        ({"headers": {"X-Only": "h"}}, 200, [("X-Only", "h")], b""),
        ({"statusCode": 200, "body": None, "isBase64Encoded": False}, 200, [], b""),
        (
            {
                "statusCode": 200,
                "headers": {"x-multi": "solo"},
                "multiValueHeaders": {"X-Multi": ["m"]},
            },
            200,
            [("X-Multi", "m")],
            b"",
        ),
    ],
)
def test_good_proxy_answers(answer, status, headers, body):
    made = proxy_format.answer(json.dumps(answer).encode(), request())
    assert made.status == status
    assert [h for h in made.headers if h[0] not in ("Content-Type", "Content-Length")] == headers
    assert made.header("Content-Type") == "application/json"
    assert _body(made) == body


def test_base64_answers_are_decoded_for_a_binary_accept_type_only():
    payload = json.dumps({"statusCode": 200, "body": "iVBORw==", "isBase64Encoded": True}).encode()
    binary = request(headers=[("Accept", "image/png")], binary_media_types=("image/png",))
    assert _body(proxy_format.answer(payload, binary)) == b"\x89PNG"
    assert _body(proxy_format.answer(payload, request())) == b"iVBORw=="


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'"justAString"',
        b"[]",
        b"null",
        json.dumps({"statusCode": 200, "wrongValue": "value"}).encode(),
        json.dumps({"statusCode": 200, "body": {"not": "a string"}}).encode(),
        json.dumps({"statusCode": "test"}).encode(),
        json.dumps({"statusCode": 700}).encode(),
        json.dumps({"statusCode": True}).encode(),
        json.dumps({"headers": {"X-Number": 1}}).encode(),
        json.dumps({"headers": {"X-Split": "a\r\nSet-Cookie: b"}}).encode(),
        json.dumps({"headers": "X-A: 1"}).encode(),
        json.dumps({"multiValueHeaders": {"X-Multi": "not-a-list"}}).encode(),
        json.dumps({"isBase64Encoded": "yes"}).encode(),
    ],
)
def test_malformed_proxy_answers_are_502(payload):
    services = FakeServices(invoked=Invoked(payload))
    with pytest.raises(GatewayError) as failed:
        aws_proxy.invoke(invocation(proxy()), backends(services))
    assert (failed.value.response_type, failed.value.status) == ("DEFAULT_5XX", 502)
    assert failed.value.message == "Internal server error"
    assert "Malformed Lambda proxy response" in str(failed.value)


@pytest.mark.parametrize("error_type", ["Unhandled", "Handled"])
def test_a_function_error_is_a_502(error_type):
    error = b'{"errorMessage": "boom", "errorType": "ValueError"}'
    services = FakeServices(invoked=Invoked(error, error_type))
    with pytest.raises(GatewayError) as failed:
        aws_proxy.invoke(invocation(proxy()), backends(services))
    assert (failed.value.response_type, failed.value.status) == ("DEFAULT_5XX", 502)
    assert failed.value.message == "Internal server error"


def test_the_proxy_timeout_is_a_504():
    services = FakeServices(timeout=True)
    with pytest.raises(GatewayError) as failed:
        aws_proxy.invoke(invocation(proxy(timeout_ms=1000)), backends(services))
    assert failed.value.response_type == "INTEGRATION_TIMEOUT"
    assert services.calls[0]["timeout_s"] == 1.0


@pytest.mark.parametrize(
    "integration",
    [
        proxy(uri="arn:aws:apigateway:us-east-1:firehose:action/PutRecord"),
        proxy(http_method="GET"),
    ],
)
def test_proxy_integrations_need_a_function_and_post(integration):
    with pytest.raises(GatewayError) as refused:
        aws_proxy.invoke(invocation(integration), backends(FakeServices()))
    assert refused.value.response_type == "API_CONFIGURATION_ERROR"


def test_the_function_may_come_from_a_stage_variable():
    services = FakeServices(invoked=Invoked(b"{}"))
    uri = LAMBDA_URI.replace("PostQuestion", "${stageVariables.fn}")
    aws_proxy.invoke(
        invocation(proxy(uri=uri), stage_variables={"fn": "Other"}), backends(services)
    )
    assert services.calls[0]["function"] == FUNCTION.replace("PostQuestion", "Other")
