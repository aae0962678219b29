"""Service and operation resolution from botocore's models, for signed and unsigned requests."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest

from mysfits_lab.localcloud.edge.catalog import ServiceCatalog
from mysfits_lab.localcloud.edge.request import AwsRequest


def request(
    method: str = "POST",
    path: str = "/",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    signed: str | None = None,
    region: str = "eu-west-1",
) -> AwsRequest:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    for name, value in (headers or {}).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    if signed:
        environ["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=testing/20261201/{region}/{signed}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["wsgi.input"] = io.BytesIO(body)
    return AwsRequest.from_environ(environ, body)


@pytest.fixture(scope="module")
def catalog() -> ServiceCatalog:
    catalog = ServiceCatalog()
    catalog.add_path_rule(r"^/[\w-]+_\w+/\.well-known/jwks\.json$", "cognito-idp")
    return catalog


def test_unsigned_json_calls_are_found_by_their_target(catalog):
    found = catalog.resolve(
        request(headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.SignUp"})
    )
    assert (found.service, found.operation, found.protocol) == ("cognito-idp", "SignUp", "json")


def test_path_rules_place_unsigned_rest_calls(catalog):
    found = catalog.resolve(request("GET", "/eu-west-1_AbC123/.well-known/jwks.json"))
    assert found.service == "cognito-idp"


def test_a_shared_signing_name_is_narrowed_by_version_target_or_path(catalog):
    body = urlencode({"Action": "DescribeLoadBalancers", "Version": "2015-12-01"}).encode()
    v2 = catalog.resolve(request(body=body, signed="elasticloadbalancing"))
    assert (v2.service, v2.operation, v2.protocol) == ("elbv2", "DescribeLoadBalancers", "query")
    body = urlencode({"Action": "DescribeLoadBalancers", "Version": "2012-06-01"}).encode()
    assert catalog.resolve(request(body=body, signed="elasticloadbalancing")).service == "elb"

    runtime = catalog.resolve(request("POST", "/endpoints/knn/invocations", signed="sagemaker"))
    assert (runtime.service, runtime.operation, runtime.protocol) == (
        "sagemaker-runtime",
        "InvokeEndpoint",
        "rest-json",
    )
    control = catalog.resolve(
        request(headers={"X-Amz-Target": "SageMaker.CreateEndpoint"}, signed="sagemaker")
    )
    assert (control.service, control.operation) == ("sagemaker", "CreateEndpoint")


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("PUT", "/site-bucket", "website", "PutBucketWebsite"),
        ("DELETE", "/site-bucket", "website", "DeleteBucketWebsite"),
        ("DELETE", "/site-bucket", "", "DeleteBucket"),
        ("PUT", "/site-bucket/css/site.css", "", "PutObject"),
        ("GET", "/site-bucket", "list-type=2&prefix=a", "ListObjectsV2"),
        ("GET", "/site-bucket", "", "ListObjects"),
        ("PUT", "/site-bucket", "policy", "PutBucketPolicy"),
    ],
)
def test_rest_xml_operations_come_from_request_uri_templates(
    catalog, method, path, query, operation
):
    found = catalog.resolve(request(method, path, query=query, signed="s3"))
    assert (found.service, found.operation, found.protocol) == ("s3", operation, "rest-xml")


def test_an_unknown_request_still_gets_a_protocol_for_its_error(catalog):
    unknown = catalog.resolve(request("GET", "/whatever"))
    assert unknown.service is None and unknown.protocol == "rest-json"
    form = urlencode({"Action": "Nothing"}).encode()
    assert catalog.resolve(request(body=form)).protocol == "query"


def test_a_protocol_the_service_does_not_speak_names_no_operation(catalog):
    form = urlencode({"Action": "ListClusters", "Version": "2014-11-13"}).encode()
    found = catalog.resolve(request(body=form, signed="ecs"))
    assert (found.service, found.operation, found.protocol) == ("ecs", None, "json")


def test_errors_for_no_known_service_are_in_the_protocol_its_client_reads(catalog):
    s3_client = request("GET", "/bucket", headers={"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})
    assert catalog.resolve(s3_client).protocol == "rest-xml"
    ec2 = urlencode({"Action": "DescribeVpcs", "Version": "2016-11-15"}).encode()
    assert catalog.resolve(request(body=ec2)).protocol == "ec2"
    target = request(headers={"X-Amz-Target": "Nobody.Nothing"})
    assert catalog.resolve(target).protocol == "json"
