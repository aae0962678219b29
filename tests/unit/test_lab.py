import subprocess
import sys

import boto3
import pytest

from mysfits_lab.lab import Lab, LabError, s3_website_url, validate_learner, validate_target
from mysfits_lab.runner import _match
from mysfits_lab.steps import website


@pytest.mark.parametrize("bad", ["", "Mysfit", "9lives", "a_b", "x" * 21, None])
def test_learner_names_are_checked_with_a_helpful_message(bad):
    with pytest.raises(LabError, match="lower-case letters, digits and hyphens"):
        validate_learner(bad)


def test_target_must_be_local_or_aws():
    assert validate_target("aws") == "aws"
    with pytest.raises(LabError, match="one of local, aws"):
        validate_target("azure")


@pytest.mark.parametrize(
    "region, url",
    [
        ("us-east-1", "http://b.s3-website-us-east-1.amazonaws.com"),
        ("eu-west-1", "http://b.s3-website-eu-west-1.amazonaws.com"),
        ("us-east-2", "http://b.s3-website.us-east-2.amazonaws.com"),
        ("eu-central-1", "http://b.s3-website.eu-central-1.amazonaws.com"),
    ],
)
def test_s3_website_url_forms(region, url):
    assert s3_website_url("b", region) == url


def _offline_lab(tmp_path, monkeypatch, learner="mysfit"):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return Lab("aws", "ap-southeast-2", learner, session, "123456789012")


def test_names_carry_the_learner_and_buckets_fit_s3_rules(tmp_path, monkeypatch):
    lab = _offline_lab(tmp_path, monkeypatch, learner="a-very-long-learner1")
    assert lab.name("MythicalMysfits-Cluster") == "a-very-long-learner1-MythicalMysfits-Cluster"
    bucket = lab.bucket_name("website")
    assert len(bucket) <= 63 and not bucket.endswith("-")
    assert bucket.startswith("mysfits-a-very-long-learner1-website-123456789012")
    assert lab.tags == {"workshop": "mysfits-lab", "learner": "a-very-long-learner1"}


def test_site_config_switches_features_on_as_outputs_appear(tmp_path, monkeypatch):
    lab = _offline_lab(tmp_path, monkeypatch)
    config = website.site_config(lab)
    assert config["stage"] == 1 and config["mysfitsApiEndpoint"] is None
    lab.outputs.record("02a-service", {"service.url": "http://nlb:80/"})
    config = website.site_config(lab)
    assert config["stage"] == 2 and config["mysfitsApiEndpoint"] == "http://nlb:80"
    lab.outputs.record("03-data", {"data.table": "mysfit-MysfitsTable"})
    config = website.site_config(lab)
    assert config["stage"] == 3 and config["mysfitsApiEndpoint"] == "http://nlb:80"
    lab.outputs.record("04-users-api", {"api.url": "https://api/prod", "users.user_pool_id": "p"})
    config = website.site_config(lab)
    assert config["stage"] == 4 and config["mysfitsApiEndpoint"] == "https://api/prod"
    assert config["cognitoUserPoolId"] == "p"
    assert website.parse_config(website.render_config(config)) == config


def test_picture_stems_come_from_the_catalogue_uris():
    assert (
        website.picture_stem({"thumbImageUri": "https://x/images/chimera_thumb.png"}) == "chimera"
    )
    assert (
        website.picture_stem({"profileImageUri": "https://x/images/nessie_hover.png"}) == "nessie"
    )


def test_notebook_names_match_by_number_or_full_name():
    names = ["00-setup", "01-static-site", "02a-service"]
    assert _match("01", names) == "01-static-site"
    assert _match("02a-service", names) == "02a-service"
    with pytest.raises(LabError, match="choose from"):
        _match("03", names)


def test_cli_rejects_a_bad_learner_name_before_running_anything():
    result = subprocess.run(
        [sys.executable, "-m", "mysfits_lab.cli", "run", "--learner", "Bad_Name"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "learner must be" in result.stderr


def _lab_in(region: str) -> Lab:
    session = boto3.Session(region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    return Lab("aws", region, "mysfit", session, "123456789012")


def test_a_learner_with_resources_in_another_region_is_told_where_they_are(tmp_path, monkeypatch):
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    europe = _lab_in("eu-west-1")
    europe._check_cloud_instance()
    europe.outputs.record("01-static-site", {"website.bucket": "b", "website.url": "http://eu"})

    home = _lab_in("us-east-1")
    with pytest.raises(LabError) as caught:
        home._check_cloud_instance()
    message = str(caught.value)
    assert "Learner 'mysfit' already has resources in eu-west-1 (outputs: website)" in message
    assert "`mysfits-lab settings --region eu-west-1`" in message
    assert 'region = "eu-west-1" and clean_up = True' in message
    # nothing was overwritten
    assert home.outputs.get("lab.region") == "eu-west-1"
    assert home.outputs.get("website.url") == "http://eu"

    europe._check_cloud_instance()  # the same region goes on
    europe.outputs.forget("website.bucket", "website.url")  # torn down: free to move
    home._check_cloud_instance()
    assert home.outputs.get("lab.region") == "us-east-1"
