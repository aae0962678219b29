"""ID and access tokens signed RS256 with each user pool's own key.

moto's ``CognitoIdpUserPool.create_jwt`` signs every pool's tokens with one key whose private
half ships in moto's source (kid ``dummy``): anyone could mint a token our pools would accept.
``install()`` replaces that one method in this process with ``_create_jwt``; what moto does
around it stays (``create_id_token`` and ``create_access_token`` store the token returned, and
GetUser, GlobalSignOut and refreshes look tokens up by it). ``uninstall()`` puts moto's method
back when the last provider that installed it stops.

The key ring is process-wide because moto's pools are: every cloud in a process sees the same
pools, so they must see the same keys.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from joserfc import jwt

from .models import KeyRing

KEYS = KeyRing()
# Attributes Cognito puts in an ID token as JSON booleans (moto stores them as strings).
BOOLEAN_CLAIMS = frozenset({"email_verified", "phone_number_verified"})
_MARK = "_mysfits_lab_signer"

_lock = threading.Lock()
_installed = 0
_moto_create_jwt: Callable[..., tuple[str, int]] | None = None


def issuer(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def _as_claim(name: str, value: str) -> Any:
    return value.lower() == "true" if name in BOOLEAN_CLAIMS else value


def id_token_attributes(
    attributes: list[dict[str, str]], readable: list[str] | None = None
) -> dict[str, Any]:
    """The user's attributes as ID token claims: the ones the app client may read (all, when
    its ``ReadAttributes`` are not set), but ``sub`` (a claim of its own) and developer-only
    attributes."""
    claims = {}
    for attribute in attributes:
        name, value = attribute.get("Name", ""), attribute.get("Value", "")
        if name == "sub" or name.startswith("dev:") or (readable and name not in readable):
            continue
        claims[name] = _as_claim(name, value)
    return claims


def token_claims(
    *,
    token_use: str,
    region: str,
    pool_id: str,
    client_id: str,
    user_id: str,
    username: str,
    attributes: list[dict[str, str]],
    readable: list[str] | None,
    expires_in: int,
    now: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The claims Cognito puts in an ID (``token_use`` "id") or access token."""
    claims: dict[str, Any] = {
        "sub": user_id,
        "iss": issuer(region, pool_id),
        "event_id": str(uuid.uuid4()),
        "token_use": token_use,
        "auth_time": now,
        "iat": now,
        "exp": now + expires_in,
        "jti": str(uuid.uuid4()),
    }
    if token_use == "id":
        claims |= {"aud": client_id, "cognito:username": username}
        claims |= id_token_attributes(attributes, readable)
    else:
        claims |= {
            "client_id": client_id,
            "username": username,
            "scope": "aws.cognito.signin.user.admin",
        }
    for name, value in (extra or {}).items():  # origin_jti, scope, groups, custom attributes
        claims[name] = _as_claim(name, value) if isinstance(value, str) else value
    return claims


def _create_jwt(
    pool: Any,
    client_id: str,
    username: str,
    token_use: str,
    expires_in: int = 60 * 60,
    extra_data: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """Stands in for ``CognitoIdpUserPool.create_jwt`` (same arguments, same answer)."""
    user = pool._get_user(username)
    client = pool.clients.get(client_id)
    claims = token_claims(
        token_use=token_use,
        region=pool.region,
        pool_id=pool.id,
        client_id=client_id,
        user_id=user.id,
        username=user.username,
        attributes=list(user.attributes),
        readable=client.get_readable_fields() if client is not None else None,
        expires_in=expires_in,
        now=int(time.time()),
        extra=extra_data,
    )
    key = KEYS.key_for(pool.id)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key), expires_in


setattr(_create_jwt, _MARK, True)


def install() -> None:
    """Sign with the pools' own keys from now on (once per process, however often called)."""
    global _installed, _moto_create_jwt
    from moto.cognitoidp.models import CognitoIdpUserPool

    with _lock:
        current = CognitoIdpUserPool.create_jwt
        if not getattr(current, _MARK, False):
            _moto_create_jwt = current
            CognitoIdpUserPool.create_jwt = _create_jwt  # type: ignore[method-assign]
        _installed += 1


def uninstall() -> None:
    """One installer fewer; the last one gives moto its method back."""
    global _installed
    from moto.cognitoidp.models import CognitoIdpUserPool

    with _lock:
        _installed = max(0, _installed - 1)
        if _installed == 0 and _moto_create_jwt is not None:
            CognitoIdpUserPool.create_jwt = _moto_create_jwt  # type: ignore[method-assign]


def installed() -> bool:
    from moto.cognitoidp.models import CognitoIdpUserPool

    return bool(getattr(CognitoIdpUserPool.create_jwt, _MARK, False))
