"""Module 1 on a fresh local cloud: what a visitor of the site sees."""

import pytest
import requests

from mysfits_lab.steps import website


def _get(url, path=""):
    return requests.get(f"{url}/{path}", timeout=10)


def test_site_is_forbidden_until_the_policy_grants_public_read(lab):
    bucket = website.create_bucket(lab)
    website.enable_website(lab, bucket)
    website.record(lab, bucket)
    website.upload_site(lab, bucket)
    url = lab.outputs.get("website.url")
    assert _get(url).status_code == 403

    website.allow_public_read(lab, bucket)
    page = _get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()

    website.remove_public_read(lab, bucket)
    assert _get(url).status_code == 403
    website.allow_public_read(lab, bucket)
    assert _get(url).status_code == 200


def test_content_types_error_document_and_missing_keys(lab):
    website.build(lab)
    url = lab.outputs.get("website.url")
    assert _get(url, "images/chimera.svg").headers["content-type"] == "image/svg+xml"
    assert _get(url, "js/app.js").headers["content-type"].startswith("text/javascript")
    assert _get(url, "mysfits.json").json()["mysfits"][0]["name"] == "Evangeline"
    missing = _get(url, "no/such/page.html")
    assert missing.status_code == 404
    assert missing.text == _get(url, "error.html").text
    config = website.parse_config(_get(url, "config.js").text)
    assert config["stage"] == 1 and config["mysfitsApiEndpoint"] is None


def test_every_step_is_idempotent(lab):
    first = website.build(lab)
    second = website.build(lab)
    assert first == second
    buckets = [b["Name"] for b in lab.client("s3").list_buckets()["Buckets"]]
    assert buckets.count(first["website.bucket"]) == 1
    assert website.is_built(lab)
    check = website.check_site(first["website.url"])
    assert check.ok and len(check.mysfits) == 6, check


def test_teardown_removes_the_bucket_and_its_outputs(lab):
    website.build(lab)
    url = lab.outputs.get("website.url")
    assert website.teardown(lab) == [f"s3://{lab.bucket_name('website')}"]
    assert not website.is_built(lab)
    assert "website.url" not in lab.outputs
    with pytest.raises(requests.ConnectionError):
        _get(url)
    assert website.teardown(lab) == []
