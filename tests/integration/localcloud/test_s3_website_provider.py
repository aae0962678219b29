"""S3 website endpoints on an in-process local cloud: what a boto3 caller, a visitor of the site
and a page served by it see."""

from __future__ import annotations

import http.client
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

    s3.delete_public_access_block(Bucket="site")  # a new bucket blocks public policies
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


def _raw_get(url: str, path: str, method: str = "GET", **headers: str) -> tuple[int, dict, bytes]:
    """The request line exactly as written (no client-side normalisation of the path)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, headers=headers)
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def public_site(edge_url, s3) -> str:
    s3.create_bucket(Bucket="fidelity")
    objects = {
        "index.html": b"home",
        "error.html": b"oops",
        "digits.txt": b"0123456789",
        "a%41.txt": b"a literal percent sign",
        "space name.txt": b"a space",
        "\u00fcn\u00ef.txt": b"utf-8",
        "/leading.txt": b"a key that begins with a slash",
        "/folder/index.html": b"folder under a slash",
    }
    for key, body in objects.items():
        s3.put_object(Bucket="fidelity", Key=key, Body=body, ContentType="text/plain")
    s3.put_bucket_website(Bucket="fidelity", WebsiteConfiguration=INDEX)
    s3.delete_public_access_block(Bucket="fidelity")  # a new bucket blocks public policies
    s3.put_bucket_policy(Bucket="fidelity", Policy=_public_read("fidelity"))
    return _website(edge_url, "fidelity").json()["url"]


@pytest.mark.parametrize(
    ("byte_range", "status", "body", "content_range"),
    [
        ("bytes=2-5", 206, b"2345", "bytes 2-5/10"),
        ("bytes=7-", 206, b"789", "bytes 7-9/10"),
        ("bytes=-3", 206, b"789", "bytes 7-9/10"),
        ("bytes=8-100", 206, b"89", "bytes 8-9/10"),
        ("bytes=10-", 416, None, "bytes */10"),
        ("bytes=0-1,4-5", 200, b"0123456789", None),  # S3 serves one range only: the whole
        ("bytes=x-y", 200, b"0123456789", None),  # an unparsable range is ignored
        (None, 200, b"0123456789", None),
    ],
)
def test_range_requests_as_s3_answers_them(public_site, byte_range, status, body, content_range):
    headers = {"Range": byte_range} if byte_range else {}
    got_status, got_headers, got_body = _raw_get(public_site, "/digits.txt", **headers)
    assert got_status == status
    assert got_headers.get("Content-Range") == content_range
    if body is not None:
        assert got_body == body
        assert got_headers["Content-Length"] == str(len(body))
        assert got_headers["Accept-Ranges"] == "bytes"
    else:
        assert b"InvalidRange" in got_body


def test_head_of_a_range_has_no_body(public_site):
    status, headers, body = _raw_get(public_site, "/digits.txt", "HEAD", Range="bytes=0-3")
    assert (status, headers["Content-Range"], headers["Content-Length"], body) == (
        206,
        "bytes 0-3/10",
        "4",
        b"",
    )


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/a%2541.txt", 200, b"a literal percent sign"),  # decoded once: the key a%41.txt
        ("/a%41.txt", 404, b"oops"),  # the key aA.txt does not exist
        ("/space%20name.txt", 200, b"a space"),
        ("/%C3%BCn%C3%AF.txt", 200, b"utf-8"),
        ("//leading.txt", 200, b"a key that begins with a slash"),
        ("/%2Fleading.txt", 200, b"a key that begins with a slash"),
        ("/leading.txt", 404, b"oops"),  # the key leading.txt does not exist
        ("//folder/", 200, b"folder under a slash"),
        ("/digits.txt?versionId=ignored", 200, b"0123456789"),
    ],
)
def test_keys_are_the_path_decoded_once(public_site, path, status, body):
    got_status, _headers, got_body = _raw_get(public_site, path)
    assert (got_status, got_body) == (status, body)


def test_folder_redirect_keeps_a_leading_slash_on_this_host(public_site):
    status, headers, _body = _raw_get(public_site, "//folder")
    assert status == 302
    # Not //folder/: a browser would read that as the host "folder".
    assert headers["Location"] == "/%2Ffolder/"
    assert _raw_get(public_site, headers["Location"])[2] == b"folder under a slash"


def test_a_path_that_is_not_utf8_is_a_bad_request(public_site):
    status, _headers, body = _raw_get(public_site, "/%FF.txt")
    assert status == 400 and b"InvalidURI" in body
