"""Module 4, part 1: the site's users — a Cognito user pool and its app client.

Same calls on both targets. The pool is the original's ``MysfitsUserPool`` (email verified by
a code Cognito sends) with the learner's prefix and tags, and a password policy written out so
the site can show it; the client is ``MysfitsUserPoolClient`` without a secret (a web page cannot
keep one) allowing the password flow the site signs in with. The demo user of the notebook is
signed up, confirmed with the emailed code (read from the local cloud's outbox, or typed in on
AWS) and signed in through the same public API the site calls.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..lab import Lab, LabError
from ..paths import learner_dir
from .aws_errors import error_code, tolerate

MODULE = "04-users-api"
POOL = "MysfitsUserPool"
CLIENT = "MysfitsUserPoolClient"
# Cognito's own default policy, written out so config.js can tell the site what it is.
PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
# USER_PASSWORD_AUTH: the site sends the password over TLS to Cognito's JSON API (no SDK
# needed); USER_SRP_AUTH: what the original's Cognito SDK used, kept for learners who try it;
# REFRESH_TOKEN_AUTH: the site renews an expired ID token without asking again.
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
VERIFICATION_SUBJECT = "Your Mythical Mysfits verification code"
VERIFICATION_MESSAGE = "Welcome to Mythical Mysfits! Your verification code is {####}."
_SYMBOLS = "!#%*+-.:=?@^_"


def pool_name(lab: Lab) -> str:
    return lab.name(POOL)


def client_name(lab: Lab) -> str:
    return lab.name(CLIENT)


def cognito_endpoint(lab: Lab) -> str:
    """Where the site sends its Cognito calls: the local cloud, or Cognito's regional API."""
    return lab.endpoint_url or f"https://cognito-idp.{lab.region}.amazonaws.com/"


def find_pool(lab: Lab) -> dict[str, Any] | None:
    name = pool_name(lab)
    pages = lab.client("cognito-idp").get_paginator("list_user_pools")
    for page in pages.paginate(PaginationConfig={"PageSize": 60}):
        for pool in page["UserPools"]:
            if pool["Name"] == name:
                return pool
    return None


def create_user_pool(lab: Lab) -> dict[str, Any]:
    """The learner's user pool (reused when it exists); returns DescribeUserPool's pool."""
    cognito = lab.client("cognito-idp")
    found = find_pool(lab)
    if found is None:
        created = cognito.create_user_pool(
            PoolName=pool_name(lab),
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": PASSWORD_POLICY},
            VerificationMessageTemplate={
                "DefaultEmailOption": "CONFIRM_WITH_CODE",
                "EmailSubject": VERIFICATION_SUBJECT,
                "EmailMessage": VERIFICATION_MESSAGE,
            },
            AccountRecoverySetting={
                "RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]
            },
            UserPoolTags=lab.tags,
        )
        pool_id = created["UserPool"]["Id"]
    else:
        pool_id = found["Id"]
    return cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]


def create_client(lab: Lab, pool_id: str) -> dict[str, Any]:
    """The site's app client (reused when it exists, its auth flows brought up to date)."""
    cognito = lab.client("cognito-idp")
    name = client_name(lab)
    pages = cognito.get_paginator("list_user_pool_clients")
    for page in pages.paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 60}):
        for client in page["UserPoolClients"]:
            if client["ClientName"] == name:
                described = cognito.describe_user_pool_client(
                    UserPoolId=pool_id, ClientId=client["ClientId"]
                )["UserPoolClient"]
                if sorted(described.get("ExplicitAuthFlows", [])) != sorted(AUTH_FLOWS):
                    described = cognito.update_user_pool_client(
                        UserPoolId=pool_id,
                        ClientId=client["ClientId"],
                        ExplicitAuthFlows=AUTH_FLOWS,
                    )["UserPoolClient"]
                return described
    return cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName=name, GenerateSecret=False, ExplicitAuthFlows=AUTH_FLOWS
    )["UserPoolClient"]


def site_password_policy(pool: dict[str, Any]) -> dict[str, Any]:
    """The pool's password policy in the keys the site's config.js uses."""
    policy = pool.get("Policies", {}).get("PasswordPolicy", PASSWORD_POLICY)
    return {
        "minimumLength": policy.get("MinimumLength", 8),
        "requireUppercase": policy.get("RequireUppercase", True),
        "requireLowercase": policy.get("RequireLowercase", True),
        "requireNumbers": policy.get("RequireNumbers", True),
        "requireSymbols": policy.get("RequireSymbols", True),
    }


def pool_rows(pool: dict[str, Any], client: dict[str, Any]) -> list[dict[str, Any]]:
    """The pool and client as a short table (what a learner would look up in the console)."""
    policy = site_password_policy(pool)
    rules = [f"at least {policy['minimumLength']} characters"] + [
        word
        for key, word in (
            ("requireUppercase", "upper case"),
            ("requireLowercase", "lower case"),
            ("requireNumbers", "a digit"),
            ("requireSymbols", "a symbol"),
        )
        if policy[key]
    ]
    return [
        {"what": "user pool", "id": pool["Id"], "details": pool["Name"]},
        {
            "what": "sign-up",
            "id": "",
            "details": "email verified by a code; password: " + ", ".join(rules),
        },
        {
            "what": "app client",
            "id": client["ClientId"],
            "details": "no secret; flows " + ", ".join(client.get("ExplicitAuthFlows", [])),
        },
    ]


def record(lab: Lab, pool: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
    return lab.outputs.record(
        MODULE,
        {
            "users.user_pool_id": pool["Id"],
            "users.user_pool_arn": pool["Arn"],
            "users.client_id": client["ClientId"],
            "users.endpoint": cognito_endpoint(lab),
            "users.password_policy": site_password_policy(pool),
        },
    )


def build(lab: Lab) -> dict[str, Any]:
    pool = create_user_pool(lab)
    client = create_client(lab, pool["Id"])
    return record(lab, pool, client)


def is_built(lab: Lab) -> bool:
    pool_id = lab.outputs.get_or("users.user_pool_id")
    if not pool_id:
        return False
    try:
        lab.client("cognito-idp").describe_user_pool(UserPoolId=pool_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


# -- the demo user ------------------------------------------------------------------------
@dataclass
class DemoUser:
    email: str
    password: str
    status: str  # what happened on this run: "signed up", "confirmed", "existing"
    id_token: str = ""
    access_token: str = ""


def demo_email(lab: Lab, given: str | None = None) -> str:
    """The demo user's address: on AWS one the learner reads (the code is emailed there)."""
    if given:
        return given
    if not lab.is_local:
        raise LabError(
            "On AWS the verification code is emailed: set demo_email to an address you can "
            "read (in the parameters cell), then run this cell again."
        )
    return f"{lab.learner}.demo@example.com"


def _credentials_file(lab: Lab) -> Any:
    return learner_dir(lab.learner) / "demo-user.json"


def _new_password() -> str:
    """A password that meets the pool's policy: upper, lower, digits and a symbol."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"Aa1{secrets.choice(_SYMBOLS)}{body}"


def _remembered_password(lab: Lab, email: str) -> str | None:
    path = _credentials_file(lab)
    if not path.exists():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    return saved.get("password") if saved.get("email") == email else None


def _remember(lab: Lab, email: str, password: str) -> None:
    path = _credentials_file(lab)
    path.write_text(json.dumps({"email": email, "password": password}), encoding="utf-8")
    os.chmod(path, 0o600)  # a password, even a demo one, is for the learner's eyes only


def user_status(lab: Lab, email: str) -> str | None:
    pool_id = lab.outputs.get("users.user_pool_id")
    try:
        user = lab.client("cognito-idp").admin_get_user(UserPoolId=pool_id, Username=email)
    except ClientError as exc:
        if error_code(exc) == "UserNotFoundException":
            return None
        raise
    return user["UserStatus"]


def sign_up(lab: Lab, email: str, password: str) -> dict[str, Any]:
    """SignUp, as the site calls it: Cognito emails a code to ``email``."""
    return lab.client("cognito-idp").sign_up(
        ClientId=lab.outputs.get("users.client_id"),
        Username=email,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )


def resend_code(lab: Lab, email: str) -> dict[str, Any]:
    return lab.client("cognito-idp").resend_confirmation_code(
        ClientId=lab.outputs.get("users.client_id"), Username=email
    )


def verification_code(lab: Lab, email: str, ask: Callable[[str], str] = input) -> str:
    """The code Cognito emailed: from the local cloud's outbox, or typed in by the learner."""
    if lab.is_local:
        from .. import outbox

        return outbox.latest_code(lab.endpoint_url, email)
    return ask(f"The verification code emailed to {email}: ").strip()


def outbox_rows(lab: Lab, email: str) -> list[dict[str, Any]]:
    """The emails the local cloud delivered to ``email``, newest last (empty on AWS)."""
    if not lab.is_local:
        return []
    from .. import outbox

    return [
        {"time": m["time"], "to": m["to"], "subject": m["subject"], "body": m["body"]}
        for m in outbox.messages(lab.endpoint_url, to=email)
    ]


def confirm(lab: Lab, email: str, code: str) -> None:
    lab.client("cognito-idp").confirm_sign_up(
        ClientId=lab.outputs.get("users.client_id"), Username=email, ConfirmationCode=code
    )


def sign_in(lab: Lab, email: str, password: str) -> dict[str, Any]:
    """InitiateAuth with the password flow; returns the AuthenticationResult (the tokens)."""
    answer = lab.client("cognito-idp").initiate_auth(
        ClientId=lab.outputs.get("users.client_id"),
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return answer["AuthenticationResult"]


def demo_user(lab: Lab, email: str | None = None, ask: Callable[[str], str] = input) -> DemoUser:
    """Sign the demo user up, confirm it with the emailed code and sign it in (idempotent)."""
    address = demo_email(lab, email)
    password = _remembered_password(lab, address)
    status = user_status(lab, address)
    if status is None:
        password = _new_password()
        sign_up(lab, address, password)
        _remember(lab, address, password)
        confirm(lab, address, verification_code(lab, address, ask))
        done = "signed up and confirmed"
    elif status == "UNCONFIRMED":
        if password is None:  # signed up elsewhere: give it a password we know
            password = _reset_password(lab, address)
        resend_code(lab, address)
        confirm(lab, address, verification_code(lab, address, ask))
        done = "confirmed"
    else:
        if password is None:
            password = _reset_password(lab, address)
        done = "existing"
    tokens = sign_in(lab, address, password)
    return DemoUser(address, password, done, tokens["IdToken"], tokens["AccessToken"])


def _reset_password(lab: Lab, email: str) -> str:
    password = _new_password()
    lab.client("cognito-idp").admin_set_user_password(
        UserPoolId=lab.outputs.get("users.user_pool_id"),
        Username=email,
        Password=password,
        Permanent=True,
    )
    _remember(lab, email, password)
    return password


def token_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, decoded without checking it (to show; API Gateway does the checking)."""
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def claim_rows(token: str) -> list[dict[str, Any]]:
    claims = token_claims(token)
    shown = ("iss", "aud", "token_use", "email", "email_verified", "cognito:username", "exp")
    return [{"claim": key, "value": claims.get(key)} for key in shown if key in claims]


# -- clean-up ---------------------------------------------------------------------------
def teardown(lab: Lab) -> list[str]:
    removed = []
    found = find_pool(lab)
    if found is not None:
        with tolerate("ResourceNotFoundException"):
            lab.client("cognito-idp").delete_user_pool(UserPoolId=found["Id"])
        removed.append(f"user pool {found['Name']} ({found['Id']})")
    lab.outputs.forget(
        "users.user_pool_id",
        "users.user_pool_arn",
        "users.client_id",
        "users.endpoint",
        "users.password_policy",
    )
    path = _credentials_file(lab)
    if path.exists():
        path.unlink()
    return removed
