"""Token claims as Cognito writes them, and the replacement of moto's signing method: installed
once however often, removed with the last provider."""

from __future__ import annotations

import jwt
import pytest
from moto.cognitoidp.models import CognitoIdpUserPool

from mysfits_lab.localcloud.services.cognito import tokens

ATTRIBUTES = [
    {"Name": "sub", "Value": "u-1"},
    {"Name": "email", "Value": "ada@example.com"},
    {"Name": "email_verified", "Value": "true"},
    {"Name": "phone_number_verified", "Value": "False"},
    {"Name": "custom:team", "Value": "blue"},
    {"Name": "dev:custom:secret", "Value": "hidden"},
]


def _claims(token_use: str, readable: list[str] | None = None, extra: dict | None = None):
    return tokens.token_claims(
        token_use=token_use,
        region="eu-west-1",
        pool_id="eu-west-1_abc",
        client_id="client-1",
        user_id="u-1",
        username="ada",
        attributes=ATTRIBUTES,
        readable=readable,
        expires_in=3600,
        now=1_700_000_000,
        extra=extra,
    )


def test_an_id_token_carries_the_users_attributes_with_booleans():
    claims = _claims("id", extra={"origin_jti": "o-1", "email_verified": "true"})
    assert claims["iss"] == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert claims["aud"] == "client-1" and claims["token_use"] == "id"
    assert claims["cognito:username"] == "ada" and claims["sub"] == "u-1"
    assert claims["email"] == "ada@example.com"
    assert claims["email_verified"] is True and claims["phone_number_verified"] is False
    assert claims["custom:team"] == "blue" and "dev:custom:secret" not in claims
    assert claims["exp"] - claims["iat"] == 3600 and claims["auth_time"] == claims["iat"]
    assert claims["origin_jti"] == "o-1" and claims["jti"] and claims["event_id"]
    assert "client_id" not in claims and "scope" not in claims


def test_an_id_token_has_only_what_the_client_may_read():
    claims = _claims("id", readable=["email"])
    assert claims["email"] == "ada@example.com" and "email_verified" not in claims


def test_an_access_token_names_the_client_and_scope_not_the_attributes():
    claims = _claims("access", extra={"origin_jti": "o-1"})
    assert claims["client_id"] == "client-1" and claims["token_use"] == "access"
    assert claims["username"] == "ada" and claims["scope"] == "aws.cognito.signin.user.admin"
    assert "aud" not in claims and "email" not in claims


class _User:
    id = "u-1"
    username = "ada"
    attributes = ATTRIBUTES


class _Pool:
    id = "eu-west-1_tokens"
    region = "eu-west-1"
    clients: dict = {}

    def _get_user(self, _username: str) -> _User:
        return _User()


def test_install_is_idempotent_and_the_last_uninstall_restores_moto():
    if tokens.installed():
        pytest.skip("a cloud with the Cognito provider is running in this process")
    moto_method = CognitoIdpUserPool.create_jwt
    tokens.install()
    tokens.install()
    try:
        assert tokens.installed()
        token, expires_in = CognitoIdpUserPool.create_jwt(_Pool(), "client-1", "ada", "id")
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256"
        assert header["kid"] == tokens.KEYS.key_for(_Pool.id).kid != "dummy"
        assert expires_in == 3600
        tokens.uninstall()
        assert tokens.installed()  # one installer is still running
    finally:
        tokens.uninstall()
    assert CognitoIdpUserPool.create_jwt is moto_method
    tokens.uninstall()  # more uninstalls than installs change nothing
    assert CognitoIdpUserPool.create_jwt is moto_method
