"""Integrations without a network: MOCK answers, the integration URI filled from mappings, the
headers an HTTP_PROXY passes on and back, and where a VPC link leads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mysfits_lab.localcloud.services.apigateway.answers import GatewayError
from mysfits_lab.localcloud.services.apigateway.integrations import http_proxy, mock
from mysfits_lab.localcloud.services.apigateway.integrations.base import Invocation
from mysfits_lab.localcloud.services.apigateway.integrations.endpoints import Endpoints
from mysfits_lab.localcloud.services.apigateway.integrations.parameters import fill_uri
from mysfits_lab.localcloud.services.apigateway.integrations.transport import (
    BackendResponse,
    Target,
)
from mysfits_lab.localcloud.services.apigateway.models import (
    Integration,
    MappedResponse,
    Method,
)

NLB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/mysfits/abc"


def _invocation(integration: Integration, **fields: Any) -> Invocation:
    values: dict[str, Any] = {
        "request_id": "req-1",
        "api_id": "api1",
        "stage": "prod",
        "region": "us-east-1",
        "http_method": "GET",
        "resource_path": "/mysfits/{mysfitId}",
        "path": "/mysfits/abc",
        "path_parameters": {"mysfitId": "abc"},
        "query_string": "",
        "headers": [],
        "body": b"",
        "source_ip": "127.0.0.1",
        "method": Method(http_method="GET"),
        "integration": integration,
    }
    return Invocation(**(values | fields))


def _response(status: str, pattern: str | None = None, **extra: Any) -> MappedResponse:
    return MappedResponse(
        status_code=status,
        selection_pattern=pattern,
        parameters=extra.get("parameters", {}),
        templates=extra.get("templates", {}),
    )


# -- MOCK --------------------------------------------------------------------------------------
PREFLIGHT = Integration(
    type="MOCK",
    request_templates={"application/json": '{"statusCode": 200}'},
    responses=(
        _response(
            "200",
            parameters={
                "method.response.header.Access-Control-Allow-Origin": "'*'",
                "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
            },
            templates={"application/json": "{}"},
        ),
    ),
)


def test_a_mock_preflight_answers_with_its_literal_headers_and_template():
    answer = mock.invoke(_invocation(PREFLIGHT, http_method="OPTIONS"), None)
    assert answer.status == 200
    assert answer.header("Access-Control-Allow-Origin") == "*"
    assert answer.header("Access-Control-Allow-Methods") == "GET,OPTIONS"
    assert answer.header("Content-Type") == "application/json"
    assert b"".join(answer.body) == b"{}"


@pytest.mark.parametrize(
    ("template", "status"),
    [
        ('{"statusCode": 200}', 200),
        ('{"statusCode": 404}', 404),
        ('{"statusCode": "503"}', 503),
        ("{ 'statusCode': 500 }", 200),  # not JSON, and not the key API Gateway reads
    ],
)
def test_the_request_template_selects_the_integration_response(template, status):
    integration = Integration(
        type="MOCK",
        request_templates={"application/json": template},
        responses=(
            _response("200", templates={"application/json": '{"ok": true}'}),
            _response("404", "404", templates={"application/json": '{"message": "gone"}'}),
            _response("503", "5\\d\\d", templates={"application/json": '{"message": "down"}'}),
        ),
    )
    assert mock.invoke(_invocation(integration), None).status == status


def test_a_status_no_response_answers_is_a_configuration_error():
    integration = Integration(
        type="MOCK",
        request_templates={"application/json": '{"statusCode": 404}'},
        responses=(_response("200", "2\\d\\d"),),
    )
    with pytest.raises(GatewayError) as failed:
        mock.invoke(_invocation(integration), None)
    assert failed.value.response_type == "API_CONFIGURATION_ERROR"


def test_a_mock_without_template_answers_200_with_an_empty_body():
    integration = Integration(type="MOCK", responses=(_response("200"),))
    answer = mock.invoke(_invocation(integration), None)
    assert (answer.status, list(answer.body)) == (200, [])


def test_mock_templates_are_velocity():
    integration = Integration(
        type="MOCK",
        request_templates={
            "application/json": (
                "#if($input.params('fail') == 'yes')"
                '{"statusCode": 503}#else{"statusCode": 200}#end'
            )
        },
        responses=(
            _response(
                "200",
                templates={
                    "application/json": '{"id": "$context.requestId", "q": "$input.params(\'q\')"}'
                },
            ),
            _response("503", "5\\d\\d"),
        ),
    )
    ok = mock.invoke(_invocation(integration, query_string="q=a%20b"), None)
    assert json.loads(b"".join(ok.body)) == {"id": "req-1", "q": "a b"}
    assert mock.invoke(_invocation(integration, query_string="fail=yes"), None).status == 503


def test_a_template_that_cannot_run_is_a_configuration_error():
    integration = Integration(
        type="MOCK", request_templates={"application/json": "#if($x"}, responses=(_response("200"),)
    )
    with pytest.raises(GatewayError) as failed:
        mock.invoke(_invocation(integration), None)
    assert failed.value.response_type == "API_CONFIGURATION_ERROR"


# -- the integration URI -------------------------------------------------------------------------
def _proxy(uri: str, **mappings: str) -> Integration:
    return Integration(
        type="HTTP_PROXY",
        http_method="ANY",
        uri=uri,
        request_parameters={
            f"integration.request.{k.replace('__', '.')}": v for k, v in mappings.items()
        },
    )


@pytest.mark.parametrize(
    ("uri", "mappings", "parameters", "expected"),
    [
        (
            "http://nlb/mysfits/{mysfitId}",
            {"path__mysfitId": "method.request.path.mysfitId"},
            {"mysfitId": "abc"},
            "http://nlb/mysfits/abc",
        ),
        (
            "http://nlb/mysfits/{id}/like",
            {"path__id": "method.request.path.mysfitId"},
            {"mysfitId": "a b/c"},
            "http://nlb/mysfits/a%20b%2Fc/like",
        ),
        ("http://nlb/v/{version}", {"path__version": "'v2'"}, {}, "http://nlb/v/v2"),
        ("http://nlb/mysfits/{mysfitId}", {}, {"mysfitId": "abc"}, "http://nlb/mysfits/{mysfitId}"),
    ],
)
def test_path_parameters_fill_the_uri(uri, mappings, parameters, expected):
    invocation = _invocation(_proxy(uri, **mappings), path_parameters=parameters)
    assert fill_uri(uri, invocation) == expected


def test_a_greedy_parameter_keeps_its_slashes():
    integration = _proxy("http://nlb/{proxy}", path__proxy="method.request.path.proxy")
    invocation = _invocation(
        integration, path_parameters={"proxy": "a/b c/d"}, greedy="proxy", resource_path="/{proxy+}"
    )
    assert fill_uri(integration.uri, invocation) == "http://nlb/a/b%20c/d"


def test_query_and_header_sources():
    integration = _proxy(
        "http://nlb/{who}/{filter}",
        path__who="method.request.header.X-User",
        path__filter="method.request.querystring.filter",
    )
    invocation = _invocation(
        integration, headers=[("X-User", "ana")], query_string="filter=GoodEvil&value=Good"
    )
    assert fill_uri(integration.uri, invocation) == "http://nlb/ana/GoodEvil"


# -- HTTP_PROXY headers --------------------------------------------------------------------------
def test_hop_by_hop_headers_stay_behind_and_the_client_is_named():
    invocation = _invocation(
        _proxy("http://nlb/"),
        headers=[
            ("Host", "127.0.0.1:9000"),
            ("Connection", "keep-alive, X-Secret"),
            ("X-Secret", "hop"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "3"),
            ("Authorization", "token"),
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "10.0.0.1"),
        ],
        source_ip="127.0.0.1",
    )
    sent = dict(http_proxy.request_headers(invocation))
    assert sent == {
        "Authorization": "token",
        "Content-Type": "application/json",
        "X-Forwarded-For": "10.0.0.1, 127.0.0.1",
        "X-Forwarded-Proto": "http",
    }


def test_backend_headers_are_passed_back_or_renamed():
    answer = http_proxy.proxied(
        BackendResponse(
            201,
            [
                ("Content-Type", "application/json"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
                ("Server", "Werkzeug"),
                ("Date", "today"),
                ("Transfer-Encoding", "chunked"),
                ("Access-Control-Allow-Origin", "*"),
            ],
            [b"{}"],
            lambda: None,
        )
    )
    assert answer.status == 201
    assert answer.headers == [
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("x-amzn-Remapped-Server", "Werkzeug"),
        ("x-amzn-Remapped-Date", "today"),
        ("Access-Control-Allow-Origin", "*"),
    ]


# -- where requests go ----------------------------------------------------------------------------
class Listings:
    def __init__(self) -> None:
        self.balancers = {
            "mysfits": {
                "arn": NLB_ARN,
                "dns_name": "mysfits-0123.elb.us-east-1.amazonaws.com",
                "listeners": {"80": "http://127.0.0.1:41000"},
            }
        }
        self.links = {"abc123": {"id": "abc123", "targetArns": [NLB_ARN]}}
        self.balancer_reads = 0

    def vpc_link(self, region: str, link_id: str) -> dict[str, Any]:
        if link_id not in self.links:
            raise LookupError("Invalid VPC link identifier specified")
        return self.links[link_id]

    def list(self) -> dict[str, Any]:
        self.balancer_reads += 1
        return self.balancers


def _link(connection_id: str = "abc123") -> Integration:
    return Integration(
        type="HTTP_PROXY",
        http_method="GET",
        uri="http://mysfits-0123.elb.us-east-1.amazonaws.com/mysfits",
        connection_type="VPC_LINK",
        connection_id=connection_id,
    )


def test_a_vpc_link_leads_to_its_load_balancers_local_listener():
    listings = Listings()
    endpoints = Endpoints(listings.vpc_link, listings.list)
    integration = _link()
    assert endpoints.resolve("us-east-1", integration, integration.uri) == Target(
        "127.0.0.1", 41000
    )
    endpoints.resolve("us-east-1", integration, integration.uri)
    assert listings.balancer_reads == 1  # cached

    listings.balancers["mysfits"]["listeners"] = {"80": "http://127.0.0.1:42000"}
    endpoints.forget()  # what a refused connection does
    assert endpoints.resolve("us-east-1", integration, integration.uri).port == 42000


def test_a_vpc_link_needs_a_listener_on_the_uris_port():
    listings = Listings()
    endpoints = Endpoints(listings.vpc_link, listings.list)
    integration = _link()
    with pytest.raises(GatewayError, match="no listener on port 8080"):
        endpoints.resolve("us-east-1", integration, "http://nlb.example:8080/mysfits")
    with pytest.raises(GatewayError, match="VPC link nope"):
        endpoints.resolve("us-east-1", _link("nope"), integration.uri)


def test_internet_backends_are_loopback_or_local_load_balancers_only():
    listings = Listings()
    endpoints = Endpoints(listings.vpc_link, listings.list)
    internet = Integration(type="HTTP_PROXY", http_method="GET", uri="")
    assert endpoints.resolve("us-east-1", internet, "http://localhost:8080/x") == Target(
        "localhost", 8080
    )
    nlb = "http://mysfits-0123.elb.us-east-1.amazonaws.com/x"
    assert endpoints.resolve("us-east-1", internet, nlb).port == 41000
    with pytest.raises(GatewayError) as refused:
        endpoints.resolve("us-east-1", internet, "http://example.com/x")
    assert refused.value.response_type == "API_CONFIGURATION_ERROR"
