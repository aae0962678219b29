"""Errors, results and parameters on the wire, checked with botocore's own parsers."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from botocore import parsers, serialize

from mysfits_lab.localcloud.edge.catalog import operation_model
from mysfits_lab.localcloud.edge.params import request_params
from mysfits_lab.localcloud.edge.protocols import error_response, result_response
from tests.unit.localcloud.edge.test_catalog import request


def parse(service: str, operation: str, protocol: str, response) -> dict:
    return parsers.create_parser(protocol).parse(
        {
            "status_code": response.status_code,
            "headers": dict(response.headers),
            "body": response.get_data(),
        },
        operation_model(service, operation).output_shape,
    )


@pytest.mark.parametrize(
    ("service", "operation", "protocol"),
    [
        ("cognito-idp", "SignUp", "json"),
        ("sagemaker-runtime", "InvokeEndpoint", "rest-json"),
        ("elbv2", "DescribeTargetHealth", "query"),
        ("ec2", "DescribeVpcs", "ec2"),
        ("s3", "PutBucketWebsite", "rest-xml"),
    ],
)
def test_errors_parse_with_the_code_and_message_given(service, operation, protocol):
    response = error_response(protocol, "SomethingWrong", "what & why <here>", 409)
    parsed = parse(service, operation, protocol, response)
    assert parsed["Error"]["Code"] == "SomethingWrong"
    assert parsed["Error"]["Message"] == "what & why <here>"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_query_results_round_trip_nested_lists_and_timestamps():
    created = dt.datetime(2026, 12, 1, 12, 30, tzinfo=dt.UTC)
    data = {
        "LoadBalancers": [
            {
                "LoadBalancerName": "nlb",
                "CreatedTime": created,
                "State": {"Code": "active"},
                "AvailabilityZones": [{"ZoneName": "us-east-1a"}],
            }
        ]
    }
    response = result_response("elbv2", "DescribeLoadBalancers", "query", data)
    parsed = parse("elbv2", "DescribeLoadBalancers", "query", response)
    lb = parsed["LoadBalancers"][0]
    assert lb["LoadBalancerName"] == "nlb" and lb["State"] == {"Code": "active"}
    assert lb["CreatedTime"] == created
    assert lb["AvailabilityZones"] == [{"ZoneName": "us-east-1a"}]


def test_rest_json_results_put_headers_and_blob_payloads_on_the_wire():
    data = {"Body": b"\x00\x01bytes", "ContentType": "application/x-recordio-protobuf"}
    response = result_response("sagemaker-runtime", "InvokeEndpoint", "rest-json", data)
    assert response.get_data() == b"\x00\x01bytes"
    parsed = parse("sagemaker-runtime", "InvokeEndpoint", "rest-json", response)
    assert parsed["ContentType"] == "application/x-recordio-protobuf"


def test_query_parameters_become_the_dict_a_caller_passed():
    body = (
        b"Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=arn%3Atg"
        b"&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port=8080"
        b"&Targets.member.2.Id=127.0.0.2"
    )
    params = request_params("elbv2", "RegisterTargets", "query", request(body=body))
    assert params == {
        "TargetGroupArn": "arn:tg",
        "Targets": [{"Id": "127.0.0.1", "Port": 8080}, {"Id": "127.0.0.2"}],
    }


def test_rest_parameters_come_from_labels_query_and_payload():
    req = request("POST", "/endpoints/knn/invocations", headers={"Content-Type": "text/csv"})
    req.body = b"1,2,3"
    params = request_params("sagemaker-runtime", "InvokeEndpoint", "rest-json", req)
    assert params["EndpointName"] == "knn" and params["Body"] == b"1,2,3"
    assert params["ContentType"] == "text/csv"


def test_a_json_body_that_is_not_an_object_is_malformed():
    req = request(headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.SignUp"})
    req.body = b"[1, 2]"
    with pytest.raises(ValueError):
        request_params("cognito-idp", "SignUp", "json", req)


ROUND_TRIPS = [
    (
        "elbv2",
        "CreateLoadBalancer",
        {"Name": "nlb", "Subnets": ["s-1", "s-2"], "Tags": [{"Key": "k", "Value": "v"}]},
    ),
    (
        "cloudformation",
        "CreateStack",
        {
            "StackName": "s",
            "TemplateBody": "{}",
            "Parameters": [{"ParameterKey": "P", "ParameterValue": "1"}],
            "Capabilities": ["CAPABILITY_IAM"],
            "TimeoutInMinutes": 5,
            "DisableRollback": False,
        },
    ),
    ("sns", "CreateTopic", {"Name": "t", "Attributes": {"DisplayName": "d", "Policy": "{}"}}),
    (
        "ec2",
        "RunInstances",
        {
            "ImageId": "ami-1",
            "MinCount": 1,
            "MaxCount": 2,
            "SecurityGroupIds": ["sg-1", "sg-2"],
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}
            ],
            "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
        },
    ),
    (
        "apigateway",
        "PutIntegration",
        {
            "restApiId": "r",
            "resourceId": "res",
            "httpMethod": "GET",
            "type": "HTTP_PROXY",
            "integrationHttpMethod": "POST",  # "httpMethod" in the JSON body
            "uri": "http://127.0.0.1/",
            "requestParameters": {"integration.request.header.x": "'1'"},
        },
    ),
    ("lambda", "ListFunctions", {"MaxItems": 5, "FunctionVersion": "ALL"}),
]


@pytest.mark.parametrize(("service", "operation", "params"), ROUND_TRIPS)
def test_requests_read_back_as_botocore_wrote_them(service, operation, params):
    """The inverse of botocore's serializers: what a caller passed, read from the wire."""
    model = operation_model(service, operation)
    protocol = model.service_model.resolved_protocol
    wire = serialize.create_serializer(protocol).serialize_to_request(params, model)
    body = wire["body"]
    if isinstance(body, dict):
        body = urlencode(body).encode()
    query = urlencode(wire["query_string"], doseq=True)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **wire["headers"]}
    req = request(wire["method"], wire["url_path"], query=query, headers=headers, body=body or b"")
    assert request_params(service, operation, protocol, req) == params
