"""Cognito's rules the provider applies itself: password policies and their messages, the
verification email, where a code is said to go, codes that expire, and per-pool keys."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.cognito.models import (
    CODE_LIFETIME,
    DEFAULT_PASSWORD_POLICY,
    CodeStore,
    KeyRing,
    Verdict,
    complete_policy,
    email_delivery,
    has_outer_space,
    mask_email,
    password_problem,
    pool_settings,
    verification_email,
)

PREFIX = "Password did not conform with policy: "


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Sh0rt!", "Password not long enough"),
        ("", "Password not long enough"),
        ("NOLOWER1!", "Password must have lowercase characters"),
        ("noupper1!", "Password must have uppercase characters"),
        ("NoDigits!", "Password must have numeric characters"),
        ("NoSymbol12", "Password must have symbol characters"),
    ],
)
def test_the_default_policy_names_the_first_rule_a_password_breaks(password, rule):
    assert password_problem(DEFAULT_PASSWORD_POLICY, password) == PREFIX + rule


def test_rules_are_checked_in_cognitos_order():
    # breaks every rule: Cognito names the length first
    assert password_problem(DEFAULT_PASSWORD_POLICY, "1") == PREFIX + "Password not long enough"
    # long enough, breaks the rest: lower case comes before upper case
    assert password_problem(DEFAULT_PASSWORD_POLICY, "12345678") == (
        PREFIX + "Password must have lowercase characters"
    )


@pytest.mark.parametrize("symbol", list("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-") + [" "])
def test_every_cognito_special_character_counts_as_a_symbol(symbol):
    assert password_problem(DEFAULT_PASSWORD_POLICY, f"Abcdef1{symbol}x") is None


@pytest.mark.parametrize("not_a_symbol", ["€", "é", "§", "\t"])
def test_other_characters_are_not_symbols(not_a_symbol):
    assert password_problem(DEFAULT_PASSWORD_POLICY, f"Abcdef12{not_a_symbol}") == (
        PREFIX + "Password must have symbol characters"
    )


def test_letters_outside_basic_latin_are_not_upper_or_lower_case():
    assert password_problem(DEFAULT_PASSWORD_POLICY, "ÄÖÜabc12!") == (
        PREFIX + "Password must have uppercase characters"
    )


def test_a_policy_requires_only_what_it_names():
    relaxed = complete_policy({"MinimumLength": 6})
    assert relaxed == {
        "MinimumLength": 6,
        "RequireUppercase": False,
        "RequireLowercase": False,
        "RequireNumbers": False,
        "RequireSymbols": False,
        "TemporaryPasswordValidityDays": 7,
    }
    assert password_problem(relaxed, "abcdef") is None
    assert password_problem(relaxed, "abcde") == PREFIX + "Password not long enough"
    assert complete_policy(None) == DEFAULT_PASSWORD_POLICY


def test_leading_and_trailing_spaces_are_told_apart_from_inner_ones():
    assert has_outer_space(" Abcdef1!") and has_outer_space("Abcdef1! ")
    assert not has_outer_space("Abc def1!")


def test_pool_settings_complete_a_given_policy_and_leave_an_absent_one_to_the_default():
    assert "Policies" not in pool_settings({"PoolName": "p"})
    given = pool_settings({"PoolName": "p", "Policies": {"PasswordPolicy": {"MinimumLength": 10}}})
    assert given["Policies"]["PasswordPolicy"]["RequireSymbols"] is False
    assert given["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    no_password = pool_settings({"PoolName": "p", "Policies": {}})
    assert no_password["Policies"]["PasswordPolicy"] == DEFAULT_PASSWORD_POLICY


def test_pool_settings_carry_legacy_verification_messages_into_the_template():
    settings = pool_settings(
        {"EmailVerificationMessage": "Code: {####}", "EmailVerificationSubject": "Hi"}
    )
    assert settings["VerificationMessageTemplate"] == {
        "EmailMessage": "Code: {####}",
        "EmailSubject": "Hi",
    }
    kept = pool_settings(
        {
            "EmailVerificationMessage": "legacy {####}",
            "VerificationMessageTemplate": {"EmailMessage": "template {####}"},
        }
    )
    assert kept["VerificationMessageTemplate"]["EmailMessage"] == "template {####}"


def test_the_verification_email_uses_the_template_else_cognitos_default():
    pool = {
        "VerificationMessageTemplate": {
            "EmailSubject": "Your Mythical Mysfits code",
            "EmailMessage": "Welcome! Your code is {####}.",
        }
    }
    assert verification_email(pool, "042917") == (
        "Your Mythical Mysfits code",
        "Welcome! Your code is 042917.",
    )
    legacy = {"EmailVerificationSubject": "S {####}", "EmailVerificationMessage": "M {####}"}
    assert verification_email(legacy, "1") == ("S 1", "M 1")
    assert verification_email({}, "123456") == (
        "Your verification code",
        "Your verification code is 123456. ",
    )


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("mysfit@example.com", "m***@e***"),
        ("A.B@Mail.example.org", "A***@M***"),
        ("x@y", "x***@y***"),
        ("not-an-address", "n***@***"),
    ],
)
def test_a_destination_shows_the_first_letters_only(address, masked):
    assert mask_email(address) == masked


def test_email_delivery_details_are_cognitos():
    assert email_delivery("mysfit@example.com") == {
        "Destination": "m***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }


def test_a_code_has_six_digits_and_only_the_last_one_counts():
    codes = CodeStore(FakeClock())
    first = codes.issue("pool", "ada")
    assert len(first) == 6 and first.isdigit()
    second = codes.issue("pool", "ada")
    while second == first:  # one in a million: a new code that happens to be the old one
        second = codes.issue("pool", "ada")
    assert codes.check("pool", "ada", first) is Verdict.MISMATCH
    assert codes.check("pool", "ada", second) is Verdict.ACCEPTED
    assert codes.check("pool", "bob", second) is Verdict.MISMATCH
    assert codes.check("other-pool", "ada", second) is Verdict.MISMATCH


def test_a_code_expires_after_24_hours():
    clock = FakeClock()
    codes = CodeStore(clock)
    code = codes.issue("pool", "ada")
    clock.now += CODE_LIFETIME - 1
    assert codes.check("pool", "ada", code) is Verdict.ACCEPTED
    clock.now += 1
    assert codes.check("pool", "ada", code) is Verdict.EXPIRED
    assert codes.check("pool", "ada", "000000" if code != "000000" else "111111") is (
        Verdict.MISMATCH
    )


def test_forgotten_codes_and_expired_ones_are_dropped():
    clock = FakeClock()
    codes = CodeStore(clock)
    code = codes.issue("pool", "ada")
    codes.issue("pool", "bob")
    codes.issue("other", "cyd")
    codes.forget("pool", "ada")
    assert codes.check("pool", "ada", code) is Verdict.MISMATCH
    codes.forget_pool("other")
    assert len(codes) == 1
    clock.now += CODE_LIFETIME
    codes.issue("pool", "dan")  # issuing sweeps what expired
    assert len(codes) == 1


def test_each_pool_has_its_own_key_and_key_id():
    ring = KeyRing()
    first, second = ring.key_for("us-east-1_a"), ring.key_for("us-east-1_b")
    assert ring.key_for("us-east-1_a") is first
    assert first.kid and second.kid and first.kid != second.kid != "dummy"
    (public,) = ring.jwks("us-east-1_a")["keys"]
    assert public["kid"] == first.kid
    assert {public["alg"], public["use"], public["kty"]} == {"RS256", "sig", "RSA"}
    assert public["e"] == "AQAB" and len(public["n"]) > 300
    assert "d" not in public and "p" not in public  # the private half stays private
    ring.forget("us-east-1_a")
    assert ring.key_for("us-east-1_a").kid != first.kid
