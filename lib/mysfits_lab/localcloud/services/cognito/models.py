"""A user pool's rules and state that moto does not keep: password policy checks with Cognito's
messages, verification codes, where a code is said to go, the verification email, and each
pool's signing key. No I/O here."""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwk

# -- password policy -------------------------------------------------------------------------
# Cognito's default policy, what DescribeUserPool reports when CreateUserPool has none.
DEFAULT_PASSWORD_POLICY: dict[str, Any] = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
# A policy that is given has no requirement it does not name, and the default minimum length.
GIVEN_POLICY_DEFAULTS: dict[str, Any] = {
    "MinimumLength": 8,
    "RequireUppercase": False,
    "RequireLowercase": False,
    "RequireNumbers": False,
    "RequireSymbols": False,
    "TemporaryPasswordValidityDays": 7,
}
# Cognito's special characters (Developer Guide, "Adding user pool password requirements");
# a space counts too, unless it leads or trails (those are refused outright).
SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
_POLICY_PREFIX = "Password did not conform with policy: "
LEADING_OR_TRAILING_SPACE = (
    "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must "
    "satisfy regular expression pattern: ^[\\S]+.*[\\S]+$"
)


def complete_policy(policy: dict[str, Any] | None) -> dict[str, Any]:
    """The password policy a pool gets for ``policy`` as given (None: Cognito's default)."""
    if policy is None:
        return dict(DEFAULT_PASSWORD_POLICY)
    return GIVEN_POLICY_DEFAULTS | policy


def password_problem(policy: dict[str, Any], password: str) -> str | None:
    """Why Cognito refuses ``password`` under ``policy`` (None: it does not), in Cognito's words
    and order: length, lower case, upper case, digits, symbols."""
    rules: list[tuple[bool, str]] = [
        (
            len(password) >= int(policy.get("MinimumLength", 8)),
            "Password not long enough",
        ),
        (
            not policy.get("RequireLowercase") or any("a" <= c <= "z" for c in password),
            "Password must have lowercase characters",
        ),
        (
            not policy.get("RequireUppercase") or any("A" <= c <= "Z" for c in password),
            "Password must have uppercase characters",
        ),
        (
            not policy.get("RequireNumbers") or any("0" <= c <= "9" for c in password),
            "Password must have numeric characters",
        ),
        (
            not policy.get("RequireSymbols") or any(c in SYMBOLS for c in password),
            "Password must have symbol characters",
        ),
    ]
    for holds, message in rules:
        if not holds:
            return _POLICY_PREFIX + message
    return None


def has_outer_space(password: str) -> bool:
    return password != password.strip()


# -- verification messages ---------------------------------------------------------------------
DEFAULT_EMAIL_SUBJECT = "Your verification code"
DEFAULT_EMAIL_MESSAGE = "Your verification code is {####}. "
CODE_PLACEHOLDER = "{####}"


def verification_email(pool: dict[str, Any], code: str) -> tuple[str, str]:
    """(subject, body) of the email that carries ``code``, from the pool's
    ``VerificationMessageTemplate`` (else its legacy ``EmailVerification*``, else Cognito's)."""
    template = pool.get("VerificationMessageTemplate") or {}
    subject = (
        template.get("EmailSubject")
        or pool.get("EmailVerificationSubject")
        or DEFAULT_EMAIL_SUBJECT
    )
    body = (
        template.get("EmailMessage")
        or pool.get("EmailVerificationMessage")
        or DEFAULT_EMAIL_MESSAGE
    )
    return subject.replace(CODE_PLACEHOLDER, code), body.replace(CODE_PLACEHOLDER, code)


def mask_email(address: str) -> str:
    """Where Cognito says a code went: the first letter of the name and of the domain
    (``mysfit@example.com`` → ``m***@e***``)."""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain[:1]}***"


def email_delivery(address: str) -> dict[str, str]:
    """SignUp's and ResendConfirmationCode's ``CodeDeliveryDetails`` for an emailed code."""
    return {
        "Destination": mask_email(address),
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }


# -- confirmation codes ------------------------------------------------------------------------
CODE_LIFETIME = 24 * 60 * 60  # Cognito's sign-up codes are valid for 24 hours


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    MISMATCH = "mismatch"
    EXPIRED = "expired"


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: float


class CodeStore:
    """The last sign-up code sent to each (pool, username): a newer one replaces it."""

    def __init__(self, clock: Callable[[], float] = time.time, lifetime: float = CODE_LIFETIME):
        self._clock = clock
        self._lifetime = lifetime
        self._codes: dict[tuple[str, str], IssuedCode] = {}
        self._lock = threading.Lock()

    def issue(self, pool_id: str, username: str) -> str:
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self._clock()
        with self._lock:
            # Forget what expired, so codes nobody confirms do not pile up.
            for key in [k for k, v in self._codes.items() if v.expires_at <= now]:
                del self._codes[key]
            self._codes[(pool_id, username)] = IssuedCode(code, now + self._lifetime)
        return code

    def check(self, pool_id: str, username: str, code: str) -> Verdict:
        with self._lock:
            issued = self._codes.get((pool_id, username))
        if issued is None or not secrets.compare_digest(issued.code, code):
            return Verdict.MISMATCH
        if self._clock() >= issued.expires_at:
            return Verdict.EXPIRED
        return Verdict.ACCEPTED

    def forget(self, pool_id: str, username: str) -> None:
        with self._lock:
            self._codes.pop((pool_id, username), None)

    def forget_pool(self, pool_id: str) -> None:
        with self._lock:
            for key in [k for k in self._codes if k[0] == pool_id]:
                del self._codes[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._codes)


# -- signing keys -----------------------------------------------------------------------------
class KeyRing:
    """Each user pool's own RS256 key; its id (kid) is the key's RFC 7638 thumbprint, so no two
    keys share one."""

    def __init__(self, bits: int = 2048):
        self._bits = bits
        self._keys: dict[str, jwk.RSAKey] = {}
        self._lock = threading.Lock()

    def key_for(self, pool_id: str) -> jwk.RSAKey:
        """The pool's key, made on first use (a pool moto made without us gets one too)."""
        with self._lock:
            key = self._keys.get(pool_id)
            if key is None:
                key = jwk.RSAKey.generate_key(self._bits, private=True)
                key.ensure_kid()
                self._keys[pool_id] = key
            return key

    def forget(self, pool_id: str) -> None:
        with self._lock:
            self._keys.pop(pool_id, None)

    def jwks(self, pool_id: str) -> dict[str, Any]:
        """The pool's JSON Web Key Set: its public key, as Cognito publishes it."""
        key = self.key_for(pool_id)
        public = key.as_dict(private=False)
        entry = {"alg": "RS256", "e": public["e"], "kid": key.kid, "kty": "RSA"}
        return {"keys": [entry | {"n": public["n"], "use": "sig"}]}


# -- pool settings ----------------------------------------------------------------------------
def pool_settings(params: dict[str, Any]) -> dict[str, Any]:
    """CreateUserPool's or UpdateUserPool's parameters with what Cognito fills in and moto does
    not: a complete password policy when ``Policies`` is given (moto would check a missing
    requirement as required), and the legacy ``EmailVerification*`` in the message template."""
    settings = dict(params)
    if "Policies" in settings:
        policies = dict(settings["Policies"] or {})
        policies["PasswordPolicy"] = complete_policy(policies.get("PasswordPolicy"))
        settings["Policies"] = policies
    template = dict(settings.get("VerificationMessageTemplate") or {})
    for legacy, member in (
        ("EmailVerificationMessage", "EmailMessage"),
        ("EmailVerificationSubject", "EmailSubject"),
    ):
        if settings.get(legacy):
            template.setdefault(member, settings[legacy])
    if template:
        settings["VerificationMessageTemplate"] = template
    return settings


def attribute_map(attributes: list[dict[str, str]] | None) -> dict[str, str]:
    return {a.get("Name", ""): a.get("Value", "") for a in attributes or []}
