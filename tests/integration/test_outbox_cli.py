"""`mysfits-lab outbox` and the lib's outbox reader against a running local cloud (a process of
its own, as the CLI finds it), and what they say when there is none."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mysfits_lab import cli, outbox
from mysfits_lab.localcloud import control
from mysfits_lab.localcloud.control import CloudError
from tests.conftest import CloudHome
from tests.helpers import edge_client, free_port


@pytest.fixture(scope="module")
def edge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A cloud with only the Cognito provider (and the outbox it requires)."""
    home = CloudHome(tmp_path_factory.mktemp("outbox-home"))
    home.activate()
    saved = os.environ.get("MYSFITS_LAB_PROVIDERS")
    os.environ["MYSFITS_LAB_PROVIDERS"] = "cognito"
    try:
        yield control.up().edge_url or ""
    finally:
        control.down()
        if saved is None:
            os.environ.pop("MYSFITS_LAB_PROVIDERS", None)
        else:
            os.environ["MYSFITS_LAB_PROVIDERS"] = saved
        home.deactivate()


@pytest.fixture(scope="module")
def client_id(edge_url: str) -> str:
    idp = edge_client(edge_url, "cognito-idp")
    pool = idp.create_user_pool(
        PoolName="outbox-cli",
        AutoVerifiedAttributes=["email"],
        VerificationMessageTemplate={
            "EmailSubject": "Your Mythical Mysfits code",
            "EmailMessage": "Your code is {####}.\nWelcome to Mythical Mysfits!",
        },
    )["UserPool"]["Id"]
    return idp.create_user_pool_client(UserPoolId=pool, ClientName="site")["UserPoolClient"][
        "ClientId"
    ]


def sign_up(edge_url: str, client_id: str) -> str:
    email = f"mysfit-{uuid.uuid4().hex[:8]}@example.com"
    edge_client(edge_url, "cognito-idp").sign_up(
        ClientId=client_id,
        Username=email.split("@")[0],
        Password="Passw0rd!",
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    return email


def test_the_table_shows_time_address_subject_and_first_line(edge_url, client_id, capsys):
    first, second = sign_up(edge_url, client_id), sign_up(edge_url, client_id)
    assert cli.main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "Emails the local cloud sent" in out
    for header in ("time", "to", "subject", "body"):
        assert header in out
    assert first in out and second in out and out.index(first) < out.index(second)
    assert "Your Mythical Mysfits code" in out
    assert re.search(r"Your code is \d{6}\.", out)
    assert "Welcome to Mythical Mysfits!" not in out  # only the body's first line


def test_to_keeps_one_address_and_json_lists_the_messages(edge_url, client_id, capsys):
    email = sign_up(edge_url, client_id)
    sign_up(edge_url, client_id)
    assert cli.main(["outbox", "--json", "--to", email.upper()]) == 0
    (message,) = json.loads(capsys.readouterr().out)
    assert message["to"] == email
    assert message["from"] == "no-reply@verificationemail.com"
    assert message["subject"] == "Your Mythical Mysfits code"
    assert message["source"] == "cognito-idp"
    assert {"id", "time", "body", "region"} <= set(message)
    assert cli.main(["outbox", "--to", "nobody@example.com"]) == 0
    assert "no emails to nobody@example.com yet" in capsys.readouterr().out


def test_the_reader_gives_the_newest_code_and_filters_by_time(edge_url, client_id):
    email = sign_up(edge_url, client_id)
    first = outbox.latest_code(edge_url, email)
    assert re.fullmatch(r"\d{6}", first)
    after = datetime.now(UTC).isoformat()
    edge_client(edge_url, "cognito-idp").resend_confirmation_code(
        ClientId=client_id, Username=email.split("@")[0]
    )
    newer = outbox.messages(edge_url, to=email, since=after)
    assert len(newer) == 1 and len(outbox.messages(edge_url, to=email)) == 2
    assert outbox.latest_code(edge_url, email) in newer[0]["body"]


def test_no_code_for_an_address_is_a_lookup_error_naming_it(edge_url):
    with pytest.raises(LookupError, match="nobody@example.com"):
        outbox.latest_code(edge_url, "nobody@example.com")


def test_a_since_that_is_not_a_time_is_refused(edge_url):
    with pytest.raises(CloudError, match="ISO-8601"):
        outbox.messages(edge_url, since="yesterday")


def test_without_a_cloud_the_reader_and_the_cli_say_so(tmp_path, monkeypatch, capsys):
    with pytest.raises(CloudError, match="does not answer"):
        outbox.messages(f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MYSFITS_LAB_HOME", str(tmp_path))
    assert cli.main(["outbox"]) == 2
    assert "the local cloud is not running" in capsys.readouterr().err
