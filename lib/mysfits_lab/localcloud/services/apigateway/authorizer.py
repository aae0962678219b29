"""The Cognito user pool authorizer (``COGNITO_USER_POOLS``), enforced as API Gateway does it.

The token is the identity source header (``Authorization`` unless the authorizer names another),
sent raw as the workshop's site sends it, or after ``Bearer `` (API Gateway takes both). It is
accepted only if:

- its header says ``alg`` RS256 and names a ``kid`` of the issuing pool's JWKS (fetched over
  HTTP from the cloud, ``/<pool id>/.well-known/jwks.json``): ``alg: none``, HS256 and unknown
  keys are refused;
- its RS256 signature verifies with that key;
- ``iss`` is ``https://cognito-idp.<region>.amazonaws.com/<pool id>`` of one of the authorizer's
  ``providerARNs``;
- ``exp`` is in the future (else 401 "The incoming token has expired", as API Gateway says);
- without OAuth scopes on the method it is an ID token (``token_use: id``) whose ``aud`` is an
  app client of that pool — any client of the pool, as on AWS; with scopes it is an access token
  (``token_use: access``) of a client of the pool with one of the scopes in ``scope``;
- ``aud`` (``client_id``) matches the authorizer's ``identityValidationExpression``, if any.

Anything else is 401 ``{"message":"Unauthorized"}`` and the integration is never called. The
verified claims are given to the integration.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from .jwks import KeysUnavailable, PoolClients, SigningKeys
from .models import Authorizer

_POOL_ARN = re.compile(r"^arn:aws[\w-]*:cognito-idp:([a-z0-9-]+):\d{12}:userpool/([\w-]+_\w+)$")
_BEARER = re.compile(r"^bearer\s+", re.IGNORECASE)


class Unauthorized(Exception):  # noqa: N818 - API Gateway's response type
    def __init__(self, message: str = "Unauthorized", why: str = ""):
        super().__init__(why or message)
        self.message = message


class TokenExpired(Unauthorized):  # noqa: N818
    def __init__(self) -> None:
        super().__init__("The incoming token has expired", "expired")


__all__ = ["CognitoAuthorizer", "KeysUnavailable", "TokenExpired", "Unauthorized", "issuer_of"]


def issuer_of(provider_arn: str) -> tuple[str, str, str] | None:
    """(issuer, region, pool id) of a user pool ARN."""
    found = _POOL_ARN.match(provider_arn)
    if found is None:
        return None
    region, pool_id = found.groups()
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}", region, pool_id


class CognitoAuthorizer:
    def __init__(
        self, keys: SigningKeys, clients: PoolClients, clock: Callable[[], float] = time.time
    ):
        self._keys = keys
        self._clients = clients
        self._clock = clock

    def verify(
        self, authorizer: Authorizer, headers: Mapping[str, str], scopes: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The token's claims; Unauthorized (or TokenExpired) when it may not pass,
        KeysUnavailable when the pool's keys cannot be read."""
        value = headers.get(authorizer.header.lower(), "").strip()
        token = _BEARER.sub("", value, count=1).strip()
        if not token:
            raise Unauthorized(why="no token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(why=f"not a JWT: {exc}") from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise Unauthorized(why=f"alg {header.get('alg')!r} or kid refused")
        issuer, region, pool_id = self._pool(authorizer, unverified.get("iss"))
        key = self._keys.key(pool_id, header["kid"])
        if key is None:
            raise Unauthorized(why=f"no key {header['kid']!r} in {pool_id}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=issuer,
                options={"require": ["exp", "iss", "token_use"], "verify_aud": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(why=str(exc)) from None
        if claims["exp"] <= self._clock():
            raise TokenExpired()
        client = self._client(claims, scopes)
        if not self._clients.known(region, pool_id, client):
            raise Unauthorized(why=f"{client!r} is not an app client of {pool_id}")
        expression = authorizer.identity_validation_expression
        if expression and not _full_match(expression, client):
            raise Unauthorized(why="identityValidationExpression")
        return claims

    @staticmethod
    def _pool(authorizer: Authorizer, iss: Any) -> tuple[str, str, str]:
        for arn in authorizer.provider_arns:
            found = issuer_of(arn)
            if found is not None and found[0] == iss:
                return found
        raise Unauthorized(why=f"issuer {iss!r} is none of the authorizer's pools")

    @staticmethod
    def _client(claims: dict[str, Any], scopes: tuple[str, ...]) -> str:
        """The app client the token was issued to, if its kind suits the method."""
        if scopes:
            granted = str(claims.get("scope", "")).split()
            if claims.get("token_use") != "access" or not set(granted) & set(scopes):
                raise Unauthorized(why="an access token with one of the method's scopes needed")
            client = claims.get("client_id")
        else:
            if claims.get("token_use") != "id":
                raise Unauthorized(why="an ID token is needed")
            client = claims.get("aud")
        if isinstance(client, list):  # PyJWT allows a list; Cognito writes one client
            client = client[0] if len(client) == 1 else None
        if not isinstance(client, str) or not client:
            raise Unauthorized(why="no client in the token")
        return client


def _full_match(expression: str, value: str) -> bool:
    try:
        return re.fullmatch(expression, value) is not None
    except re.error:
        return False
