"""The Cognito authorizer with keys made here: only an RS256 ID token, signed by a key of the
pool's JWKS, issued by one of the authorizer's pools to one of its app clients, and not expired,
passes; every forgery is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mysfits_lab.localcloud.services.apigateway.authorizer import (
    CognitoAuthorizer,
    KeysUnavailable,
    TokenExpired,
    Unauthorized,
)
from mysfits_lab.localcloud.services.apigateway.jwks import REFETCH_AFTER, PoolClients, SigningKeys
from mysfits_lab.localcloud.services.apigateway.models import Authorizer

REGION = "us-east-1"
POOL = "us-east-1_Pool1"
OTHER_POOL = "us-east-1_Pool2"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
CLIENT = "client-of-pool-1"
AUTHORIZER = Authorizer(
    id="auth1",
    name="Pool",
    type="COGNITO_USER_POOLS",
    provider_arns=(f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{POOL}",),
)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return data | {"kid": kid, "alg": "RS256", "use": "sig"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cognito:
    """What the authorizer reads: pools' JWKS documents and app clients, counting fetches."""

    def __init__(self) -> None:
        self.jwks = {POOL: {"keys": [_jwk(KEY, "k1")]}, OTHER_POOL: {"keys": [_jwk(KEY, "k1")]}}
        self.clients = {POOL: {CLIENT}, OTHER_POOL: {"client-of-pool-2"}}
        self.key_fetches = 0
        self.fail = False

    def fetch_keys(self, pool: str) -> dict[str, Any]:
        self.key_fetches += 1
        if self.fail:
            raise ConnectionError("the edge is down")
        return self.jwks.get(pool, {"keys": []})

    def fetch_clients(self, region: str, pool: str) -> set[str]:
        return self.clients.get(pool, set())


@pytest.fixture
def cognito() -> Cognito:
    return Cognito()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def authorizer(cognito: Cognito, clock: Clock) -> CognitoAuthorizer:
    return CognitoAuthorizer(
        SigningKeys(cognito.fetch_keys, clock), PoolClients(cognito.fetch_clients, clock)
    )


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "7d8ca528-4931-4254-9273-ea5ee853f271",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "cognito:username": "ana@example.com",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any] | None = None, key=KEY, kid: str = "k1", **header: Any) -> str:
    return jwt.encode(claims or _claims(), key, algorithm="RS256", headers={"kid": kid, **header})


def _verify(authorizer, token: str | None, scopes: tuple[str, ...] = (), spec=AUTHORIZER):
    headers = {} if token is None else {"authorization": token}
    return authorizer.verify(spec, headers, scopes)


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_id_token_passes_with_its_claims(authorizer):
    claims = _verify(authorizer, _token())
    assert claims["sub"] == "7d8ca528-4931-4254-9273-ea5ee853f271"
    assert claims["cognito:username"] == "ana@example.com"


def test_a_bearer_prefix_is_accepted(authorizer):
    assert _verify(authorizer, f"Bearer {_token()}")["aud"] == CLIENT


def test_any_app_client_of_the_pool_is_accepted(authorizer, cognito):
    cognito.clients[POOL].add("another-client-of-pool-1")
    assert _verify(authorizer, _token(_claims(aud="another-client-of-pool-1")))


def _hs256(secret: bytes) -> str:
    """The classic confusion: the RSA public key used as an HMAC secret."""
    signing_input = f"{_segment({'alg': 'HS256', 'kid': 'k1'})}.{_segment(_claims())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _forged() -> dict[str, str | None]:
    valid = _token()
    header, payload, signature = valid.split(".")
    tampered = _segment(json.loads(base64.urlsafe_b64decode(payload + "==")) | {"sub": "admin"})
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "no token": None,
        "an empty header": "",
        "only Bearer": "Bearer ",
        "garbage": "not-a-jwt",
        "alg none": f"{_segment({'alg': 'none', 'kid': 'k1'})}.{payload}.",
        "HS256 keyed with the public key": _hs256(public_pem),
        "a tampered payload": f"{header}.{tampered}.{signature}",
        "no signature": f"{header}.{payload}.",
        "an access token": _token(_claims(token_use="access", aud=None, client_id=CLIENT)),
        "another pool's issuer": _token(
            _claims(iss=f"https://cognito-idp.{REGION}.amazonaws.com/{OTHER_POOL}")
        ),
        "a foreign issuer": _token(_claims(iss="https://evil.example.com/us-east-1_Pool1")),
        "another key under the pool's kid": _token(key=OTHER_KEY),
        "an unknown kid": _token(key=OTHER_KEY, kid="k9"),
        "no kid": jwt.encode(_claims(), KEY, algorithm="RS256"),
        "a client of another pool": _token(_claims(aud="client-of-pool-2")),
        "no client": _token(_claims(aud=None)),
        "no token_use": _token(_claims(token_use=None)),
        "no expiry": _token(_claims(exp=None)),
        "issued in the future": _token(_claims(iat=int(time.time()) + 3600)),
    }


@pytest.mark.parametrize("case", list(_forged()))
def test_forged_and_unsuitable_tokens_are_refused(authorizer, case):
    with pytest.raises(Unauthorized) as refused:
        _verify(authorizer, _forged()[case])
    assert refused.value.message == "Unauthorized"


def test_an_expired_token_says_so(authorizer):
    with pytest.raises(TokenExpired) as refused:
        _verify(authorizer, _token(_claims(exp=int(time.time()) - 5)))
    assert refused.value.message == "The incoming token has expired"


def test_an_expired_forgery_is_only_unauthorized(authorizer):
    token = _token(_claims(exp=int(time.time()) - 5), key=OTHER_KEY)
    with pytest.raises(Unauthorized) as refused:
        _verify(authorizer, token)
    assert refused.value.message == "Unauthorized"


def test_with_scopes_only_an_access_token_with_one_of_them_passes(authorizer):
    access = _claims(token_use="access", aud=None, client_id=CLIENT, scope="items/read items/like")
    assert _verify(authorizer, _token(access), scopes=("items/like",))["client_id"] == CLIENT
    with pytest.raises(Unauthorized):
        _verify(authorizer, _token(), scopes=("items/like",))  # an ID token
    with pytest.raises(Unauthorized):
        _verify(authorizer, _token(access | {"scope": "items/read"}), scopes=("items/like",))


def test_another_identity_source_header(authorizer):
    spec = Authorizer(
        id="a",
        name="a",
        type="COGNITO_USER_POOLS",
        provider_arns=AUTHORIZER.provider_arns,
        identity_source="method.request.header.X-Token",
    )
    assert authorizer.verify(spec, {"x-token": _token()}, ())
    with pytest.raises(Unauthorized):
        authorizer.verify(spec, {"authorization": _token()}, ())


def test_identity_validation_expression_matches_the_audience(authorizer):
    spec = Authorizer(
        id="a",
        name="a",
        type="COGNITO_USER_POOLS",
        provider_arns=AUTHORIZER.provider_arns,
        identity_validation_expression="client-of-pool-1",
    )
    assert _verify(authorizer, _token(), spec=spec)
    spec = Authorizer(**{**spec.__dict__, "identity_validation_expression": "web-.*"})
    with pytest.raises(Unauthorized):
        _verify(authorizer, _token(), spec=spec)


def test_keys_are_cached_and_refetched_for_a_new_kid_at_most_every_few_seconds(
    authorizer, cognito, clock
):
    _verify(authorizer, _token())
    _verify(authorizer, _token())
    assert cognito.key_fetches == 1

    rotated = _token(key=OTHER_KEY, kid="k2")
    with pytest.raises(Unauthorized):
        _verify(authorizer, rotated)  # the keys were just fetched: not again so soon
    assert cognito.key_fetches == 1
    clock.now += REFETCH_AFTER
    with pytest.raises(Unauthorized):
        _verify(authorizer, rotated)  # fetched again: k2 is not there yet
    assert cognito.key_fetches == 2

    cognito.jwks[POOL]["keys"].append(_jwk(OTHER_KEY, "k2"))  # the pool rotates its keys
    for _ in range(5):
        with pytest.raises(Unauthorized):
            _verify(authorizer, rotated)  # within the interval: no more fetches
    assert cognito.key_fetches == 2
    clock.now += REFETCH_AFTER
    assert _verify(authorizer, rotated)
    assert _verify(authorizer, _token())  # the old key still works
    assert cognito.key_fetches == 3


def test_unreadable_keys_are_a_configuration_error(authorizer, cognito):
    cognito.fail = True
    with pytest.raises(KeysUnavailable):
        _verify(authorizer, _token())
