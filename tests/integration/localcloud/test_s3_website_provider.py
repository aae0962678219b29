"""S3 website endpoints on an in-process local cloud: what a boto3 caller, a visitor of the site
and a page served by it see."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.cloud import LocalCloud
from tests.helpers import edge_client

INDEX = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}


@pytest.fixture(scope="module")
def edge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cloud = LocalCloud(0, tmp_path_factory.mktemp("websites-cloud"), providers=["websites"])
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    yield cloud.edge_url
    cloud.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def s3(edge_url: str) -> Any:
    return edge_client(edge_url, "s3")


def _website(edge_url: str, bucket: str) -> requests.Response:
    return requests.get(f"{edge_url}/_localcloud/websites/{bucket}", timeout=5)


def _preflight(edge_url: str, origin: str) -> requests.Response:
    """What a browser sends before a page calls the edge (e.g. Cognito from the site)."""
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target",
    }
    return requests.options(f"{edge_url}/", headers=headers, timeout=5)


def _public_read(bucket: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty"),
        ({"ErrorDocument": {"Key": "error.html"}}, "must be provided if RedirectAllRequestsTo"),
        ({"IndexDocument": {"Suffix": ""}}, "The IndexDocument Suffix is not well formed"),
        ({"IndexDocument": {"Suffix": "pages/index.html"}}, "Suffix is not well formed"),
        (
            {"RedirectAllRequestsTo": {"HostName": "example.com"}} | INDEX,
            "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        ),
    ],
)
def test_invalid_configurations_are_refused_as_s3_refuses_them(edge_url, s3, config, message):
    s3.create_bucket(Bucket="refused")
    with pytest.raises(ClientError) as error:
        s3.put_bucket_website(Bucket="refused", WebsiteConfiguration=config)
    assert error.value.response["Error"]["Code"] == "InvalidArgument"
    assert message in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # moto never saw the call: no configuration, and no endpoint.
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_website(Bucket="refused")
    assert missing.value.response["Error"]["Code"] == "NoSuchWebsiteConfiguration"
    assert _website(edge_url, "refused").status_code == 404


def test_a_refused_configuration_leaves_the_previous_one(edge_url, s3):
    s3.create_bucket(Bucket="kept")
    s3.put_bucket_website(Bucket="kept", WebsiteConfiguration=INDEX)
    url = _website(edge_url, "kept").json()["url"]
    with pytest.raises(ClientError) as error:
        s3.put_bucket_website(
            Bucket="kept", WebsiteConfiguration={"IndexDocument": {"Suffix": "a/b.html"}}
        )
    assert error.value.response["Error"]["Code"] == "InvalidArgument"
    assert s3.get_bucket_website(Bucket="kept")["IndexDocument"] == {"Suffix": "index.html"}
    assert _website(edge_url, "kept").json()["url"] == url


def test_malformed_xml_is_refused(edge_url, s3):
    s3.create_bucket(Bucket="malformed")

    def break_body(request: Any, **_: Any) -> None:
        request.data = b"<WebsiteConfiguration><IndexDocument>"

    s3.meta.events.register("before-sign.s3.PutBucketWebsite", break_body)
    try:
        with pytest.raises(ClientError) as error:
            s3.put_bucket_website(Bucket="malformed", WebsiteConfiguration=INDEX)
    finally:
        s3.meta.events.unregister("before-sign.s3.PutBucketWebsite", break_body)
    assert error.value.response["Error"]["Code"] == "MalformedXML"
    assert _website(edge_url, "malformed").status_code == 404


def test_a_website_serves_its_bucket_and_is_a_trusted_origin(edge_url, s3):
    s3.create_bucket(Bucket="site")
    s3.put_object(
        Bucket="site", Key="index.html", Body=b"<html>home</html>", ContentType="text/html"
    )
    s3.put_object(
        Bucket="site", Key="error.html", Body=b"<html>oops</html>", ContentType="text/html"
    )
    s3.put_bucket_website(Bucket="site", WebsiteConfiguration=INDEX)
    url = _website(edge_url, "site").json()["url"]
    assert requests.get(url, timeout=5).status_code == 403  # no policy yet

    s3.put_bucket_policy(Bucket="site", Policy=_public_read("site"))
    home = requests.get(url, timeout=5)
    assert (home.status_code, home.text) == (200, "<html>home</html>")
    assert home.headers["content-type"].startswith("text/html")
    missing = requests.get(f"{url}/no/such/page.html", timeout=5)
    assert (missing.status_code, missing.text) == (404, "<html>oops</html>")
    listed = requests.get(f"{edge_url}/_localcloud/websites", timeout=5).json()
    assert listed["site"] == url

    # A page of the site may call the edge; the grant ends with the website.
    assert _preflight(edge_url, url).headers.get("Access-Control-Allow-Origin") == url
    s3.delete_bucket_website(Bucket="site")
    refused = _preflight(edge_url, url)
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert _website(edge_url, "site").status_code == 404
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_deleting_the_bucket_closes_its_website(edge_url, s3):
    s3.create_bucket(Bucket="short-lived")
    s3.put_bucket_website(Bucket="short-lived", WebsiteConfiguration=INDEX)
    url = _website(edge_url, "short-lived").json()["url"]
    assert requests.get(url, timeout=5).status_code == 403
    deleted = s3.delete_bucket(Bucket="short-lived")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204  # S3's answer, moto's too
    assert _website(edge_url, "short-lived").status_code == 404
    assert "short-lived" not in requests.get(f"{edge_url}/_localcloud/websites", timeout=5).json()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
