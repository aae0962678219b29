"""The shims start fast (the standard library only) and sign as the AWS CLI signs."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mysfits_lab.localcloud.shims import aws

TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"


def test_the_shims_load_neither_the_sdk_nor_the_clouds_own_modules():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import mysfits_lab.localcloud.shims.docker, "
            "mysfits_lab.localcloud.shims.aws; print(' '.join(sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    heavy = ("boto3", "botocore", "requests", "mysfits_lab.lab", "mysfits_lab.localcloud.images")
    assert [m for m in loaded if m.startswith(heavy)] == []


def test_get_login_password_is_signed_as_botocore_signs_it(monkeypatch: pytest.MonkeyPatch):
    url, body = "http://127.0.0.1:4566/", b"{}"
    expected = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET},
    )
    SigV4Auth(Credentials("AKID", "SECRET", "TOKEN"), "ecr", "eu-west-1").add_auth(expected)
    signed_at = datetime.strptime(expected.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return signed_at.replace(tzinfo=UTC)

    monkeypatch.setattr(aws, "datetime", Frozen)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "TOKEN")
    headers = aws._signed_headers(url, "eu-west-1", "ecr", TARGET, body)
    assert headers["authorization"] == expected.headers["Authorization"]
    assert headers["x-amz-security-token"] == "TOKEN"


def test_without_credentials_the_cli_says_so(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with pytest.raises(SystemExit) as exit_:
        aws._signed_headers("http://127.0.0.1:4566/", "us-east-1", "ecr", TARGET, b"{}")
    assert exit_.value.code == 253
    assert "Unable to locate credentials" in capsys.readouterr().err
