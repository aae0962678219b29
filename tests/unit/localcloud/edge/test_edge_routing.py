"""The edge hands calls to providers — signed or not — and answers errors in each service's own
protocol, so boto3 raises a ClientError with the code the provider chose."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.core.provider import Provider
from mysfits_lab.localcloud.edge import Call, ControlRule, Route, ServiceError
from tests.helpers import edge_client

COGNITO = "AWSCognitoIdentityProviderService"


class CognitoHook(Provider):
    """Answers InitiateAuth itself, as the Cognito provider of module 04 will."""

    name = "test-cognito"
    calls: list[tuple[str | None, str]] = []

    def routes(self) -> list[Route]:
        return [Route("cognito-idp", "InitiateAuth", self._initiate_auth)]

    def _initiate_auth(self, call: Call) -> dict:
        type(self).calls.append((call.request.signing_name, call.region))
        if call.params.get("AuthFlow") != "USER_PASSWORD_AUTH":
            raise ServiceError("InvalidParameterException", "AuthFlow USER_PASSWORD_AUTH only")
        return {"ChallengeParameters": {}, "AuthenticationResult": {"AccessToken": "token"}}


class LoadBalancerHook(Provider):
    name = "test-elb"

    def routes(self) -> list[Route]:
        return [
            Route("elbv2", "DescribeTargetHealth", self._health),
            Route("elbv2", "DescribeLoadBalancers", self._balancers),
        ]

    def _health(self, call: Call) -> dict:
        raise ServiceError(
            "TargetGroupNotFound", f"no group {call.params['TargetGroupArn']} here", 400
        )

    def _balancers(self, call: Call) -> dict:
        answer = call.moto()  # moto's parsed answer, amended
        answer["LoadBalancers"] = [{"LoadBalancerName": f"in-{call.region}"}]
        return answer

    def control(self) -> list[ControlRule]:
        return [ControlRule("/<name>", lambda request, name: {"name": name})]


class Duplicate(Provider):
    name = "test-duplicate"

    def routes(self) -> list[Route]:
        return [Route("cognito-idp", "InitiateAuth", lambda call: {})]


def test_an_unsigned_browser_call_reaches_its_provider_once_well_formed(make_cloud):
    cloud = make_cloud(CognitoHook)
    CognitoHook.calls.clear()
    response = requests.post(
        f"{cloud.edge_url}/",
        data=b"{this is not json",
        headers={
            "X-Amz-Target": f"{COGNITO}.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "SerializationException"
    assert response.json()["__type"] == "SerializationException"
    assert "malformed request" in response.json()["message"]
    assert CognitoHook.calls == []  # the edge answered it: providers only see well-formed calls

    good = requests.post(
        f"{cloud.edge_url}/",
        json={"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c", "AuthParameters": {}},
        headers={
            "X-Amz-Target": f"{COGNITO}.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
        },
        timeout=10,
    )
    assert good.json()["AuthenticationResult"]["AccessToken"] == "token"
    # it reached the hook (not moto); unsigned calls use the cloud's region
    assert CognitoHook.calls == [(None, "us-east-1")]


def test_a_json_provider_error_is_a_client_error_with_its_code(make_cloud):
    cloud = make_cloud(CognitoHook)
    cognito = edge_client(cloud.edge_url, "cognito-idp", "eu-west-1")
    with pytest.raises(ClientError) as caught:
        cognito.initiate_auth(AuthFlow="REFRESH_TOKEN_AUTH", ClientId="c", AuthParameters={})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    # botocore sends InitiateAuth unsigned, as browsers do: resolved by its X-Amz-Target
    assert CognitoHook.calls[-1][0] is None


def test_a_query_protocol_provider_error_is_a_client_error_with_its_code(make_cloud):
    cloud = make_cloud(LoadBalancerHook)
    elbv2 = edge_client(cloud.edge_url, "elbv2")
    with pytest.raises(ClientError) as caught:
        elbv2.describe_target_health(TargetGroupArn="arn:aws:elasticloadbalancing:tg/x")
    error = caught.value.response["Error"]
    assert error["Code"] == "TargetGroupNotFound"
    assert error["Message"] == "no group arn:aws:elasticloadbalancing:tg/x here"


def test_a_provider_amends_moto_answer_as_a_dict_in_the_request_region(make_cloud):
    cloud = make_cloud(LoadBalancerHook)
    elbv2 = edge_client(cloud.edge_url, "elbv2", "ap-south-1")
    answer = elbv2.describe_load_balancers()
    assert [lb["LoadBalancerName"] for lb in answer["LoadBalancers"]] == ["in-ap-south-1"]
    # the classic ELB API shares the signing name and endpoint: it still reaches moto
    assert (
        edge_client(cloud.edge_url, "elb").describe_load_balancers()["LoadBalancerDescriptions"]
        == []
    )


def test_moto_errors_pass_through_unchanged(make_cloud):
    cloud = make_cloud(LoadBalancerHook)
    with pytest.raises(ClientError) as caught:
        edge_client(cloud.edge_url, "s3").get_object(Bucket="no-such-bucket", Key="k")
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_control_routes_and_their_404(make_cloud):
    cloud = make_cloud(LoadBalancerHook)
    assert requests.get(f"{cloud.edge_url}/_localcloud/test-elb/abc", timeout=5).json() == {
        "name": "abc"
    }
    missing = requests.get(f"{cloud.edge_url}/_localcloud/nothing", timeout=5)
    assert missing.status_code == 404 and "nothing" in missing.json()["message"]
    assert requests.get(f"{cloud.edge_url}/_localcloud/status", timeout=5).json()["running"]


def test_two_handlers_for_one_operation_stop_the_start(make_cloud):
    with pytest.raises(ValueError, match="cognito-idp:InitiateAuth is handled twice"):
        make_cloud(CognitoHook, Duplicate)


def test_an_unsigned_request_for_no_known_service_is_a_clear_400(make_cloud):
    cloud = make_cloud(LoadBalancerHook)
    response = requests.get(f"{cloud.edge_url}/", timeout=5)  # moto would list S3 buckets
    assert response.status_code == 400
    assert "cannot tell which AWS service" in response.json()["message"]
    bad = requests.post(
        f"{cloud.edge_url}/", data=b"x", headers={"Content-Length": "abc"}, timeout=5
    )
    assert bad.status_code == 400


def test_providers_can_ask_moto_directly_past_their_own_routes(make_cloud):
    cloud = make_cloud(LoadBalancerHook)
    elbv2 = edge_client(cloud.edge_url, "elbv2", "ap-south-1")
    assert elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerName"] == (
        "in-ap-south-1"  # the hook answers clients
    )
    direct = cloud.ctx.moto("elbv2", "DescribeLoadBalancers", "ap-south-1")
    assert direct["LoadBalancers"] == []  # moto's own answer
    edge_client(cloud.edge_url, "s3").create_bucket(Bucket="asked-directly")
    names = [b["Name"] for b in cloud.ctx.moto("s3", "ListBuckets", "us-east-1")["Buckets"]]
    assert "asked-directly" in names
    with pytest.raises(ServiceError) as caught:
        cloud.ctx.moto("ecs", "DescribeTaskDefinition", "us-east-1", taskDefinition="none")
    assert caught.value.status == 400
