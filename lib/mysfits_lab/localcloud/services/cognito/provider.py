"""Cognito user pools in front of moto's cognito-idp (which records pools, clients and users).

What this provider adds, as AWS does it:
- every pool signs its tokens with its own RSA key (``tokens.py``), published at
  ``GET /<pool id>/.well-known/jwks.json`` (404 for a pool that does not exist);
- CreateUserPool/UpdateUserPool complete a given password policy as Cognito does;
- SignUp checks the password against the pool's policy with Cognito's messages and, when the
  pool auto-verifies email, emails a 6-digit code to the local outbox;
- ConfirmSignUp accepts only the last code sent (24 hours), then marks the email verified;
  ResendConfirmationCode sends a new code (moto has no such operation);
- InitiateAuth refuses flows the app client does not allow and missing auth parameters, and
  checks the client secret's hash (moto checks neither for the password flow).
App clients with ``PreventUserExistenceErrors`` ENABLED do not tell whether a user exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from werkzeug.wrappers import Response

from ...core.provider import Context, Provider
from ...edge import AwsRequest, Call, Route, ServiceError
from ...edge.cors import JWKS_PATH
from ..outbox.provider import OutboxProvider
from . import moto_state, tokens
from .models import (
    LEADING_OR_TRAILING_SPACE,
    CodeStore,
    Verdict,
    attribute_map,
    email_delivery,
    has_outer_space,
    password_problem,
    pool_settings,
    verification_email,
)
from .moto_state import PoolRef

log = logging.getLogger("mysfits_lab.localcloud.cognito")

IDP = "cognito-idp"
WRONG_CODE = "Invalid verification code provided, please try again."
EXPIRED_CODE = "Invalid code provided, please request a code again."
NO_SUCH_USER = "Username/client id combination not found."
BAD_LOGIN = "Incorrect username or password."
# Auth parameters each flow needs (InitiateAuth's AuthParameters).
REQUIRED_AUTH_PARAMETERS = {
    "USER_PASSWORD_AUTH": ("USERNAME", "PASSWORD"),
    "USER_SRP_AUTH": ("USERNAME", "SRP_A"),
    "REFRESH_TOKEN_AUTH": ("REFRESH_TOKEN",),
    "REFRESH_TOKEN": ("REFRESH_TOKEN",),
    "CUSTOM_AUTH": ("USERNAME",),
}
PASSWORD_FLOW = frozenset({"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"})


def _is_jwks(req: AwsRequest) -> bool:
    return req.method in ("GET", "HEAD") and bool(JWKS_PATH.match(req.path))


def _error(code: str, message: str) -> ServiceError:
    return ServiceError(code, message)


def secret_hash(secret: str, username: str, client_id: str) -> str:
    """The SECRET_HASH a caller of a client with a secret sends (Cognito's definition)."""
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class CognitoProvider(Provider):
    name = "cognito"
    requires = ("outbox",)

    def __init__(self, ctx: Context, codes: CodeStore | None = None):
        super().__init__(ctx)
        self.codes = codes or CodeStore(ctx.clock.now)
        self.keys = tokens.KEYS

    def routes(self) -> list[Route]:
        return [
            Route(IDP, "CreateUserPool", self._create_pool),
            Route(IDP, "UpdateUserPool", self._update_pool),
            Route(IDP, "DeleteUserPool", self._delete_pool),
            Route(IDP, "SignUp", self._sign_up),
            Route(IDP, "ConfirmSignUp", self._confirm_sign_up),
            Route(IDP, "ResendConfirmationCode", self._resend_code),
            Route(IDP, "InitiateAuth", self._initiate_auth),
            Route(IDP, None, self._jwks, matcher=_is_jwks),
        ]

    def start(self) -> None:
        tokens.install()

    def stop(self) -> None:
        tokens.uninstall()

    def status(self) -> dict[str, Any]:
        return {"cognito": {"pending_codes": len(self.codes)}}

    # -- pools --------------------------------------------------------------------------------
    def _create_pool(self, call: Call) -> dict[str, Any]:
        answer = self._moto("CreateUserPool", call.region, **pool_settings(call.params))
        self.keys.key_for(answer["UserPool"]["Id"])
        return answer

    def _update_pool(self, call: Call) -> dict[str, Any]:
        return self._moto("UpdateUserPool", call.region, **pool_settings(call.params))

    def _delete_pool(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        self.keys.forget(call.params["UserPoolId"])
        self.codes.forget_pool(call.params["UserPoolId"])
        return answer

    def _jwks(self, call: Call) -> Response:
        pool_id = call.request.path.split("/")[1]
        if moto_state.find_pool(pool_id) is None:
            body, status = {"message": f"User pool {pool_id} does not exist."}, 404
        else:
            body, status = self.keys.jwks(pool_id), 200
        return Response(json.dumps(body), status, mimetype="application/json")

    # -- sign-up ------------------------------------------------------------------------------
    def _sign_up(self, call: Call) -> dict[str, Any]:
        params = call.params
        ref = self._pool_of(params["ClientId"])
        client = self._client(ref, params["ClientId"])
        self._check_secret(client, params["Username"], params.get("SecretHash"))
        pool = self._describe(ref)
        if (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
            raise _error("NotAuthorizedException", "SignUp is not permitted for this user pool")
        password = params.get("Password") or ""
        if has_outer_space(password):
            raise _error("InvalidParameterException", LEADING_OR_TRAILING_SPACE)
        policy = (pool.get("Policies") or {}).get("PasswordPolicy") or {}
        problem = password_problem(policy, password)
        if problem:
            raise _error("InvalidPasswordException", problem)
        answer = call.moto()  # records the user; UsernameExistsException and the like pass
        user = self._user(ref, params["Username"])
        answer.pop("CodeDeliveryDetails", None)  # moto's names the recovery channel, not this
        delivery = self._send_code(ref, pool, user)
        if delivery:
            answer["CodeDeliveryDetails"] = delivery
        answer["UserConfirmed"] = user["UserStatus"] == "CONFIRMED"
        return answer

    def _confirm_sign_up(self, call: Call) -> dict[str, Any]:
        params = call.params
        ref = self._pool_of(params["ClientId"])
        client = self._client(ref, params["ClientId"])
        self._check_secret(client, params["Username"], params.get("SecretHash"))
        user = self._user(ref, params["Username"], hidden=_hides_users(client), as_code=True)
        status = user["UserStatus"]
        if status != "UNCONFIRMED":
            raise _error(
                "NotAuthorizedException", f"User cannot be confirmed. Current status is {status}"
            )
        verdict = self.codes.check(ref.pool_id, user["Username"], params["ConfirmationCode"])
        if verdict is Verdict.MISMATCH:
            raise _error("CodeMismatchException", WRONG_CODE)
        if verdict is Verdict.EXPIRED:
            raise _error("ExpiredCodeException", EXPIRED_CODE)
        answer = call.moto()
        if "email" in attribute_map(user.get("UserAttributes")):
            self._moto(
                "AdminUpdateUserAttributes",
                ref.region,
                UserPoolId=ref.pool_id,
                Username=user["Username"],
                UserAttributes=[{"Name": "email_verified", "Value": "true"}],
            )
        self.codes.forget(ref.pool_id, user["Username"])
        return answer

    def _resend_code(self, call: Call) -> dict[str, Any]:
        params = call.params
        ref = self._pool_of(params["ClientId"])
        client = self._client(ref, params["ClientId"])
        self._check_secret(client, params["Username"], params.get("SecretHash"))
        try:
            user = self._user(ref, params["Username"])
        except ServiceError as exc:
            if exc.code == "UserNotFoundException" and _hides_users(client):
                return {"CodeDeliveryDetails": email_delivery(params["Username"])}
            raise
        if user["UserStatus"] == "CONFIRMED":
            raise _error("InvalidParameterException", "User is already confirmed.")
        delivery = self._send_code(ref, self._describe(ref), user)
        if delivery is None:
            raise _error(
                "InvalidParameterException", "Cannot resend codes. Auto verification not turned on."
            )
        return {"CodeDeliveryDetails": delivery}

    def _send_code(
        self, ref: PoolRef, pool: dict[str, Any], user: dict[str, Any]
    ) -> dict[str, str] | None:
        """Email a new code when the pool verifies email and the user has one (None: not)."""
        email = attribute_map(user.get("UserAttributes")).get("email")
        if not email or "email" not in (pool.get("AutoVerifiedAttributes") or []):
            return None
        code = self.codes.issue(ref.pool_id, user["Username"])
        subject, body = verification_email(pool, code)
        self._outbox().deliver(email, subject, body, source=IDP, region=ref.region)
        return email_delivery(email)

    # -- sign-in ------------------------------------------------------------------------------
    def _initiate_auth(self, call: Call) -> dict[str, Any]:
        params = call.params
        flow = params["AuthFlow"]
        auth = params.get("AuthParameters") or {}
        ref = self._pool_of(params["ClientId"])
        for name in REQUIRED_AUTH_PARAMETERS.get(flow, ()):
            if not auth.get(name):
                raise _error("InvalidParameterException", f"Missing required parameter {name}")
        if flow == "CUSTOM_AUTH":  # moto has no custom flow; AWS needs a Lambda trigger
            raise _error(
                "InvalidParameterException",
                "Custom auth lambda trigger is not configured for the user pool.",
            )
        if flow == "USER_PASSWORD_AUTH":
            client = self._client(ref, params["ClientId"])
            if not PASSWORD_FLOW & set(client.get("ExplicitAuthFlows") or []):
                raise _error(
                    "InvalidParameterException",
                    "USER_PASSWORD_AUTH flow not enabled for this client",
                )
            self._check_secret(client, auth["USERNAME"], auth.get("SECRET_HASH"))
            try:
                self._user(ref, auth["USERNAME"])
            except ServiceError as exc:
                if exc.code != "UserNotFoundException":
                    raise
                if _hides_users(client):
                    raise _error("NotAuthorizedException", BAD_LOGIN) from None
                raise _error("UserNotFoundException", "User does not exist.") from None
        return call.moto()

    # -- helpers ------------------------------------------------------------------------------
    def _moto(self, operation: str, region: str, **params: Any) -> dict[str, Any]:
        return self.ctx.moto(IDP, operation, region, **params)

    def _outbox(self) -> OutboxProvider:
        return self.ctx.provider(OutboxProvider)

    @staticmethod
    def _pool_of(client_id: str) -> PoolRef:
        ref = moto_state.pool_of_client(client_id)
        if ref is None:
            raise _error(
                "ResourceNotFoundException", f"User pool client {client_id} does not exist."
            )
        return ref

    def _describe(self, ref: PoolRef) -> dict[str, Any]:
        return self._moto("DescribeUserPool", ref.region, UserPoolId=ref.pool_id)["UserPool"]

    def _client(self, ref: PoolRef, client_id: str) -> dict[str, Any]:
        return self._moto(
            "DescribeUserPoolClient", ref.region, UserPoolId=ref.pool_id, ClientId=client_id
        )["UserPoolClient"]

    def _user(
        self, ref: PoolRef, username: str, hidden: bool = False, as_code: bool = False
    ) -> dict[str, Any]:
        """AdminGetUser's answer. An unknown user is UserNotFoundException in the words of the
        unauthenticated operations — or, when the client hides users and ``as_code``, a wrong
        code."""
        try:
            return self._moto("AdminGetUser", ref.region, UserPoolId=ref.pool_id, Username=username)
        except ServiceError as exc:
            if exc.code != "UserNotFoundException":
                raise
            if hidden and as_code:
                raise _error("CodeMismatchException", WRONG_CODE) from None
            raise _error("UserNotFoundException", NO_SUCH_USER) from None

    @staticmethod
    def _check_secret(client: dict[str, Any], username: str, given: str | None) -> None:
        secret = client.get("ClientSecret")
        if not secret:
            return
        client_id = client["ClientId"]
        if not given:
            raise _error(
                "NotAuthorizedException",
                f"Client {client_id} is configured for secret but secret was not received",
            )
        if not hmac.compare_digest(given, secret_hash(secret, username, client_id)):
            raise _error(
                "NotAuthorizedException", f"Unable to verify secret hash for client {client_id}"
            )


def _hides_users(client: dict[str, Any]) -> bool:
    return client.get("PreventUserExistenceErrors") == "ENABLED"
