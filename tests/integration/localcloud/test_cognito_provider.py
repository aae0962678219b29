"""Cognito user pools on an in-process local cloud, through boto3 as the site and a notebook
call them: sign-up with a code emailed to the outbox, confirmation, sign-in, and tokens that
verify only against their own pool's JWKS."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.utilities.utils import load_resource

from mysfits_lab import outbox
from mysfits_lab.localcloud.cloud import LocalCloud
from mysfits_lab.localcloud.constants import DEFAULT_REGION
from mysfits_lab.localcloud.core.clock import Clock
from mysfits_lab.localcloud.services.cognito.provider import secret_hash
from tests.helpers import edge_client

PASSWORD = "Passw0rd!"
DAY = 24 * 60 * 60


class ShiftedClock(Clock):
    """Wall time that a test can move forward (a code's 24 hours pass in no time)."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = 0.0

    def now(self) -> float:
        return super().now() + self.shift


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, clock: ShiftedClock) -> Iterator[LocalCloud]:
    cloud = LocalCloud(0, tmp_path_factory.mktemp("cognito"), providers=["cognito"], clock=clock)
    server = threading.Thread(target=cloud.serve_forever, daemon=True)
    server.start()
    yield cloud
    cloud.shutdown()
    server.join(timeout=10)


@pytest.fixture(scope="module")
def edge_url(cloud: LocalCloud) -> str:
    return cloud.edge_url


@pytest.fixture(scope="module")
def idp(edge_url: str) -> Any:
    return edge_client(edge_url, "cognito-idp")


@pytest.fixture(scope="module")
def site(edge_url: str) -> Any:
    """What the site calls Cognito with: no credentials, nothing signed."""
    return boto3.client(
        "cognito-idp",
        endpoint_url=edge_url,
        region_name=DEFAULT_REGION,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def make_pool(idp: Any, **settings: Any) -> tuple[str, str]:
    """A pool that verifies email and its site client (password and refresh flows, no secret)."""
    settings.setdefault("AutoVerifiedAttributes", ["email"])
    pool_id = idp.create_user_pool(PoolName=f"pool-{uuid.uuid4().hex[:6]}", **settings)["UserPool"][
        "Id"
    ]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="site",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


@pytest.fixture(scope="module")
def pool(idp: Any) -> tuple[str, str]:
    return make_pool(idp)


def address() -> str:
    return f"mysfit-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(site: Any, client_id: str, email: str, password: str = PASSWORD) -> dict:
    return site.sign_up(
        ClientId=client_id,
        Username=email.split("@")[0],
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )


def inbox(edge_url: str, to: str) -> list[dict]:
    response = requests.get(f"{edge_url}/_localcloud/outbox", params={"to": to}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def code_in(message: dict) -> str:
    found = re.search(r"\b\d{6}\b", message["body"])
    assert found, message
    return found.group()


def error_of(call: Any, **params: Any) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return raised.value.response["Error"]


def status_of(idp: Any, pool_id: str, username: str) -> str:
    return idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"]


def signed_in(site: Any, client_id: str, username: str, password: str = PASSWORD) -> dict:
    return site.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]


def confirmed_user(edge_url: str, site: Any, client_id: str) -> str:
    email = address()
    sign_up(site, client_id, email)
    site.confirm_sign_up(
        ClientId=client_id,
        Username=email.split("@")[0],
        ConfirmationCode=outbox.latest_code(edge_url, email),
    )
    return email.split("@")[0]


def jwks_client(edge_url: str, pool_id: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(f"{edge_url}/{pool_id}/.well-known/jwks.json", cache_keys=False)


# -- pools --------------------------------------------------------------------------------------
def test_a_pool_without_policies_reports_cognitos_default_password_policy(idp, pool):
    described = idp.describe_user_pool(UserPoolId=pool[0])["UserPool"]
    assert described["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 8,
        "RequireUppercase": True,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 7,
    }


def test_a_given_policy_requires_only_what_it_names(idp, site, edge_url):
    _, client_id = make_pool(idp, Policies={"PasswordPolicy": {"MinimumLength": 6}})
    email = address()
    answer = sign_up(site, client_id, email, password="simple")
    assert answer["UserConfirmed"] is False
    assert len(inbox(edge_url, email)) == 1


# -- sign-up ------------------------------------------------------------------------------------
def test_sign_up_emails_a_six_digit_code_to_the_outbox(site, pool, edge_url):
    email = address()
    answer = sign_up(site, pool[1], email)
    assert answer["UserConfirmed"] is False and answer["UserSub"]
    assert answer["CodeDeliveryDetails"] == {
        "Destination": "m***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    (message,) = inbox(edge_url, email.upper())  # addresses match in any case
    assert message["to"] == email
    assert message["from"] == "no-reply@verificationemail.com"
    assert message["subject"] == "Your verification code"
    assert re.fullmatch(r"Your verification code is \d{6}\. ", message["body"])
    assert message["source"] == "cognito-idp"


def test_the_pools_message_template_is_used(idp, site, edge_url):
    _, client_id = make_pool(
        idp,
        VerificationMessageTemplate={
            "DefaultEmailOption": "CONFIRM_WITH_CODE",
            "EmailSubject": "Your Mythical Mysfits code",
            "EmailMessage": "Welcome to Mythical Mysfits! Your code is {####}.",
        },
    )
    email = address()
    sign_up(site, client_id, email)
    (message,) = inbox(edge_url, email)
    assert message["subject"] == "Your Mythical Mysfits code"
    assert re.fullmatch(r"Welcome to Mythical Mysfits! Your code is \d{6}\.", message["body"])


def test_a_pool_that_does_not_verify_email_sends_nothing(idp, site, edge_url):
    _, client_id = make_pool(idp, AutoVerifiedAttributes=[])
    email = address()
    answer = sign_up(site, client_id, email)
    assert "CodeDeliveryDetails" not in answer and answer["UserConfirmed"] is False
    assert inbox(edge_url, email) == []
    error = error_of(site.resend_confirmation_code, ClientId=client_id, Username=email[:15])
    assert error["Code"] == "InvalidParameterException"


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Sh0rt!", "Password not long enough"),
        ("NOLOWERCASE1!", "Password must have lowercase characters"),
        ("nouppercase1!", "Password must have uppercase characters"),
        ("NoNumbers!!", "Password must have numeric characters"),
        ("NoSymbols123", "Password must have symbol characters"),
    ],
)
def test_a_weak_password_is_refused_naming_the_rule(site, idp, pool, edge_url, password, rule):
    email = address()
    error = error_of(
        site.sign_up,
        ClientId=pool[1],
        Username=email.split("@")[0],
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    assert error == {
        "Code": "InvalidPasswordException",
        "Message": f"Password did not conform with policy: {rule}",
    }
    missing = error_of(idp.admin_get_user, UserPoolId=pool[0], Username=email.split("@")[0])
    assert missing["Code"] == "UserNotFoundException"
    assert inbox(edge_url, email) == []


def test_a_password_with_a_leading_space_is_refused(site, pool):
    error = error_of(site.sign_up, ClientId=pool[1], Username="spacey", Password=" Passw0rd!")
    assert error["Code"] == "InvalidParameterException"


def test_signing_up_twice_is_refused_by_the_pool(site, pool):
    email = address()
    sign_up(site, pool[1], email)
    assert error_of(sign_up, site=site, client_id=pool[1], email=email)["Code"] == (
        "UsernameExistsException"
    )


def test_an_unknown_client_is_not_found(site):
    error = error_of(site.sign_up, ClientId="nosuchclient", Username="ada", Password=PASSWORD)
    assert error["Code"] == "ResourceNotFoundException"


# -- confirmation -------------------------------------------------------------------------------
def test_a_wrong_code_is_refused_and_the_user_stays_unconfirmed(site, idp, pool, edge_url):
    email = address()
    username = email.split("@")[0]
    sign_up(site, pool[1], email)
    wrong = "000000" if outbox.latest_code(edge_url, email) != "000000" else "111111"
    error = error_of(
        site.confirm_sign_up, ClientId=pool[1], Username=username, ConfirmationCode=wrong
    )
    assert error == {
        "Code": "CodeMismatchException",
        "Message": "Invalid verification code provided, please try again.",
    }
    assert status_of(idp, pool[0], username) == "UNCONFIRMED"


def test_a_resent_code_replaces_the_old_one(site, idp, pool, edge_url):
    email = address()
    username = email.split("@")[0]
    sign_up(site, pool[1], email)
    old = outbox.latest_code(edge_url, email)
    resent = site.resend_confirmation_code(ClientId=pool[1], Username=username)
    assert resent["CodeDeliveryDetails"]["Destination"] == "m***@e***"
    messages = inbox(edge_url, email)
    assert len(messages) == 2
    new = code_in(messages[-1])
    if new != old:  # one in a million they are the same
        error = error_of(
            site.confirm_sign_up, ClientId=pool[1], Username=username, ConfirmationCode=old
        )
        assert error["Code"] == "CodeMismatchException"
    site.confirm_sign_up(ClientId=pool[1], Username=username, ConfirmationCode=new)
    assert status_of(idp, pool[0], username) == "CONFIRMED"
    again = error_of(site.resend_confirmation_code, ClientId=pool[1], Username=username)
    assert again == {"Code": "InvalidParameterException", "Message": "User is already confirmed."}


def test_confirming_twice_is_refused(site, pool, edge_url):
    email = address()
    username = email.split("@")[0]
    sign_up(site, pool[1], email)
    code = outbox.latest_code(edge_url, email)
    site.confirm_sign_up(ClientId=pool[1], Username=username, ConfirmationCode=code)
    error = error_of(
        site.confirm_sign_up, ClientId=pool[1], Username=username, ConfirmationCode=code
    )
    assert error == {
        "Code": "NotAuthorizedException",
        "Message": "User cannot be confirmed. Current status is CONFIRMED",
    }


def test_a_code_expires_after_24_hours(site, idp, pool, edge_url, clock):
    email = address()
    username = email.split("@")[0]
    sign_up(site, pool[1], email)
    code = outbox.latest_code(edge_url, email)
    clock.shift += DAY
    try:
        error = error_of(
            site.confirm_sign_up, ClientId=pool[1], Username=username, ConfirmationCode=code
        )
    finally:
        clock.shift -= DAY
    assert error == {
        "Code": "ExpiredCodeException",
        "Message": "Invalid code provided, please request a code again.",
    }
    assert status_of(idp, pool[0], username) == "UNCONFIRMED"


def test_unknown_users_are_not_found(site, pool):
    for call, extra in (
        (site.confirm_sign_up, {"ConfirmationCode": "123456"}),
        (site.resend_confirmation_code, {}),
    ):
        error = error_of(call, ClientId=pool[1], Username="nobody", **extra)
        assert error == {
            "Code": "UserNotFoundException",
            "Message": "Username/client id combination not found.",
        }


# -- sign-in and tokens -------------------------------------------------------------------------
def test_sign_in_needs_a_confirmed_user_and_the_right_password(site, pool, edge_url):
    email = address()
    username = email.split("@")[0]
    sign_up(site, pool[1], email)
    early = error_of(signed_in, site=site, client_id=pool[1], username=username)
    assert early["Code"] == "UserNotConfirmedException"
    site.confirm_sign_up(
        ClientId=pool[1], Username=username, ConfirmationCode=outbox.latest_code(edge_url, email)
    )
    wrong = error_of(
        signed_in, site=site, client_id=pool[1], username=username, password="Nope1!xx"
    )
    assert wrong == {"Code": "NotAuthorizedException", "Message": "Incorrect username or password."}
    assert signed_in(site, pool[1], username)["IdToken"]


def test_the_id_token_verifies_against_the_pools_jwks(site, idp, pool, edge_url):
    username = confirmed_user(edge_url, site, pool[1])
    tokens = signed_in(site, pool[1], username)
    header = jwt.get_unverified_header(tokens["IdToken"])
    assert header["alg"] == "RS256" and header["kid"] != "dummy"
    key = jwks_client(edge_url, pool[0]).get_signing_key_from_jwt(tokens["IdToken"])
    claims = jwt.decode(
        tokens["IdToken"],
        key.key,
        algorithms=["RS256"],
        audience=pool[1],
        issuer=f"https://cognito-idp.{DEFAULT_REGION}.amazonaws.com/{pool[0]}",
    )
    assert claims["token_use"] == "id" and claims["cognito:username"] == username
    assert claims["email"] == f"{username}@example.com"
    assert claims["email_verified"] is True
    assert {"sub", "exp", "iat", "auth_time", "jti", "origin_jti"} <= set(claims)
    access = jwt.decode(tokens["AccessToken"], key.key, algorithms=["RS256"])
    assert access["token_use"] == "access" and access["client_id"] == pool[1]
    assert access["username"] == username and access["scope"] == "aws.cognito.signin.user.admin"
    user = idp.admin_get_user(UserPoolId=pool[0], Username=username)
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    # moto still knows the access token it handed out
    assert site.get_user(AccessToken=tokens["AccessToken"])["Username"] == username


def test_refreshed_tokens_are_signed_by_the_pool_too(site, pool, edge_url):
    username = confirmed_user(edge_url, site, pool[1])
    refreshed = site.initiate_auth(
        ClientId=pool[1],
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": signed_in(site, pool[1], username)["RefreshToken"]},
    )["AuthenticationResult"]
    key = jwks_client(edge_url, pool[0]).get_signing_key_from_jwt(refreshed["IdToken"])
    assert jwt.decode(refreshed["IdToken"], key.key, algorithms=["RS256"], audience=pool[1])


def test_a_token_of_one_pool_does_not_verify_with_anothers_keys(site, idp, pool, edge_url):
    other_pool, _ = make_pool(idp)
    token = signed_in(site, pool[1], confirmed_user(edge_url, site, pool[1]))["IdToken"]
    with pytest.raises(jwt.PyJWKClientError):  # no key of the other pool has its kid
        jwks_client(edge_url, other_pool).get_signing_key_from_jwt(token)
    (other_key,) = jwks_client(edge_url, other_pool).get_signing_keys()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other_key.key, algorithms=["RS256"], audience=pool[1])


def test_a_token_signed_with_motos_published_key_does_not_verify(site, pool, edge_url):
    genuine = signed_in(site, pool[1], confirmed_user(edge_url, site, pool[1]))["IdToken"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    moto_key = jwt.PyJWK.from_dict(load_resource("cognitoidp/resources/jwks-private.json"))
    keys = jwks_client(edge_url, pool[0])
    forged = jwt.encode(claims, moto_key.key, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(jwt.PyJWKClientError):
        keys.get_signing_key_from_jwt(forged)
    own_kid = jwt.get_unverified_header(genuine)["kid"]
    disguised = jwt.encode(claims, moto_key.key, algorithm="RS256", headers={"kid": own_kid})
    key = keys.get_signing_key_from_jwt(disguised)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(disguised, key.key, algorithms=["RS256"], audience=pool[1])


def test_the_password_flow_must_be_allowed_and_complete(idp, site, pool):
    pool_id, _ = pool
    srp_only = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="srp", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"]
    )["UserPoolClient"]["ClientId"]
    refused = error_of(signed_in, site=site, client_id=srp_only, username="ada")
    assert refused == {
        "Code": "InvalidParameterException",
        "Message": "USER_PASSWORD_AUTH flow not enabled for this client",
    }
    missing = error_of(
        site.initiate_auth,
        ClientId=pool[1],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada"},
    )
    assert missing == {
        "Code": "InvalidParameterException",
        "Message": "Missing required parameter PASSWORD",
    }


def test_a_client_that_hides_users_says_so_as_aws_does(idp, site, pool):
    hiding = idp.create_user_pool_client(
        UserPoolId=pool[0],
        ClientName="hiding",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]["ClientId"]
    error = error_of(signed_in, site=site, client_id=hiding, username="nobody")
    assert error == {"Code": "NotAuthorizedException", "Message": "Incorrect username or password."}
    code = error_of(site.confirm_sign_up, ClientId=hiding, Username="nobody", ConfirmationCode="1")
    assert code["Code"] == "CodeMismatchException"


def test_a_client_with_a_secret_needs_its_hash(idp, site, pool, edge_url):
    described = idp.create_user_pool_client(
        UserPoolId=pool[0],
        ClientName="server",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]
    client_id, secret = described["ClientId"], described["ClientSecret"]
    email = address()
    username = email.split("@")[0]
    params = {
        "ClientId": client_id,
        "Username": username,
        "Password": PASSWORD,
        "UserAttributes": [{"Name": "email", "Value": email}],
    }
    assert error_of(site.sign_up, **params)["Message"] == (
        f"Client {client_id} is configured for secret but secret was not received"
    )
    assert error_of(site.sign_up, **params, SecretHash="bm9wZQ==")["Message"] == (
        f"Unable to verify secret hash for client {client_id}"
    )
    site.sign_up(**params, SecretHash=secret_hash(secret, username, client_id))
    assert len(inbox(edge_url, email)) == 1


# -- the key set --------------------------------------------------------------------------------
def test_the_jwks_of_an_unknown_or_deleted_pool_is_not_found(idp, edge_url):
    pool_id, _ = make_pool(idp)
    url = f"{edge_url}/{pool_id}/.well-known/jwks.json"
    assert requests.get(url, timeout=5).status_code == 200
    idp.delete_user_pool(UserPoolId=pool_id)
    gone = requests.get(url, timeout=5)
    assert gone.status_code == 404
    assert gone.json() == {"message": f"User pool {pool_id} does not exist."}


def test_each_pool_publishes_its_own_key(idp, edge_url, pool):
    other, _ = make_pool(idp)
    sets = [
        requests.get(f"{edge_url}/{p}/.well-known/jwks.json", timeout=5).json()
        for p in (pool[0], other)
    ]
    (first,), (second,) = (s["keys"] for s in sets)
    assert first["kid"] != second["kid"] and first["n"] != second["n"]
    assert {k: first[k] for k in ("alg", "use", "kty", "e")} == {
        "alg": "RS256",
        "use": "sig",
        "kty": "RSA",
        "e": "AQAB",
    }


def test_the_cloud_s_own_site_may_fetch_the_jwks_but_no_other_page(cloud, edge_url, pool):
    site = "http://127.0.0.1:48111"
    cloud.edge.cors.allow_port(48111)
    try:
        url = f"{edge_url}/{pool[0]}/.well-known/jwks.json"
        own = requests.get(url, headers={"Origin": site}, timeout=5)
        assert own.status_code == 200 and own.headers["Access-Control-Allow-Origin"] == site
        assert json.loads(own.text)["keys"]
        foreign = requests.get(url, headers={"Origin": "http://127.0.0.1:48112"}, timeout=5)
        assert foreign.status_code == 403
        assert "Access-Control-Allow-Origin" not in foreign.headers
    finally:
        cloud.edge.cors.revoke_port(48111)
