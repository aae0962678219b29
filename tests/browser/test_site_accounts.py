"""Module 4 in a real (headless) browser: register, confirm, sign in, like, adopt, sign out.

The site is served from a temp copy with a config.js pointing at a stub on another port (so
another origin, with CORS): the stub speaks enough of Cognito's user-pool JSON API (SignUp,
ConfirmSignUp, ResendConfirmationCode, InitiateAuth, GlobalSignOut) and of the module 4 mysfits
API behind API Gateway (/prod/mysfits..., like/adopt only with a valid ID token) for the site.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import free_port, wait_for

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, in CI) with the reason
    expect = None

REPO = Path(__file__).resolve().parents[2]
MYSFITS = json.loads((REPO / "data" / "mysfits-response.json").read_text(encoding="utf-8"))[
    "mysfits"
]
POOL_ID = "us-east-1_StubPool1"
CLIENT_ID = "stubclient0123456789"
SESSION_KEY = "mysfits-session"
EMAIL = "ada@example.com"
PASSWORD = "Dragons-4-ever"
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
ALLOWED_HEADERS = {"content-type", "x-amz-target", "authorization"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class StubCloud:
    """What the stub knows: users, codes, issued tokens and every request the site made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, dict] = {}
        self.codes = itertools.count(314159)
        self.serial = itertools.count(1)
        self.token_lifetime = 3600
        self.id_tokens: dict[str, str] = {}  # valid ID token -> email
        self.access_tokens: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.issued_id_tokens: list[str] = []
        self.cognito_calls: list[tuple[str, dict]] = []
        self.api_calls: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        self.preflights: list[str] = []
        self.problems: list[str] = []  # requests the real services would have refused
        self.mysfits = {
            m["mysfitId"]: {**m, "likes": 3 + i, "adopted": False} for i, m in enumerate(MYSFITS)
        }

    # ------------------------------------------------------------------ helpers for tests

    def add_user(self, email: str, password: str, confirmed: bool = True) -> None:
        self.users[email] = {"password": password, "confirmed": confirmed, "code": "000000"}

    def operations(self) -> list[str]:
        return [op for op, _ in self.cognito_calls]

    def auth_flows(self) -> list[str]:
        return [p["AuthFlow"] for op, p in self.cognito_calls if op == "InitiateAuth"]

    def posts(self, action: str) -> list[tuple[str, str | None]]:
        return [(p, a) for m, p, a in self.api_calls if m == "POST" and p.endswith("/" + action)]

    def revoke_id_tokens(self) -> None:
        with self.lock:
            self.id_tokens.clear()

    def revoke_everything(self) -> None:
        with self.lock:
            self.id_tokens.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    # --------------------------------------------------------------------- Cognito

    def issue(self, email: str, with_refresh: bool) -> dict:
        n = next(self.serial)
        claims = {
            "sub": f"sub-{email}",
            "email": email,
            "token_use": "id",
            "aud": CLIENT_ID,
            "iss": f"http://stub/{POOL_ID}",
            "exp": int(time.time()) + self.token_lifetime,
            "n": n,
        }
        header = b64url(json.dumps({"alg": "RS256", "kid": "stub"}).encode())
        id_token = f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(b'sig%d' % n)}"
        result = {
            "IdToken": id_token,
            "AccessToken": f"access-{n}",
            "ExpiresIn": self.token_lifetime,
            "TokenType": "Bearer",
        }
        self.id_tokens[id_token] = email
        self.access_tokens[result["AccessToken"]] = email
        self.issued_id_tokens.append(id_token)
        if with_refresh:
            result["RefreshToken"] = f"refresh-{n}"
            self.refresh_tokens[result["RefreshToken"]] = email
        return {"AuthenticationResult": result}

    def cognito(self, operation: str, body: dict) -> tuple[int, dict]:
        assert body.get("ClientId", CLIENT_ID) == CLIENT_ID
        user = self.users.get(body.get("Username", ""))
        delivery = {"Destination": "a***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
        if operation == "SignUp":
            if user:
                return fail("UsernameExistsException", "User already exists")
            if len(body["Password"]) < 8:
                return fail("InvalidPasswordException", "Password not long enough")
            assert body["UserAttributes"] == [{"Name": "email", "Value": body["Username"]}]
            code = f"{next(self.codes):06d}"
            self.users[body["Username"]] = {
                "password": body["Password"],
                "confirmed": False,
                "code": code,
            }
            return 200, {"UserConfirmed": False, "UserSub": "x", "CodeDeliveryDetails": delivery}
        if operation == "ConfirmSignUp":
            if not user:
                return fail("UserNotFoundException", "Username/client id combination not found.")
            if body["ConfirmationCode"] != user["code"]:
                # Cognito's long form of the type; the site must strip the prefix.
                return fail(
                    "com.amazonaws.cognito.identity.idp.model#CodeMismatchException",
                    "Invalid verification code provided, please try again.",
                )
            user["confirmed"] = True
            return 200, {}
        if operation == "ResendConfirmationCode":
            if not user:
                return fail("UserNotFoundException", "Username/client id combination not found.")
            user["code"] = f"{next(self.codes):06d}"
            return 200, {"CodeDeliveryDetails": delivery}
        if operation == "InitiateAuth":
            params = body["AuthParameters"]
            if body["AuthFlow"] == "USER_PASSWORD_AUTH":
                user = self.users.get(params["USERNAME"])
                if not user or user["password"] != params["PASSWORD"]:
                    return fail("NotAuthorizedException", "Incorrect username or password.")
                if not user["confirmed"]:
                    return fail("UserNotConfirmedException", "User is not confirmed.")
                return 200, self.issue(params["USERNAME"], with_refresh=True)
            if body["AuthFlow"] == "REFRESH_TOKEN_AUTH":
                email = self.refresh_tokens.get(params["REFRESH_TOKEN"])
                if not email:
                    return fail("NotAuthorizedException", "Refresh Token has been revoked")
                return 200, self.issue(email, with_refresh=False)
            return fail("InvalidParameterException", "Unsupported flow")
        if operation == "GlobalSignOut":
            email = self.access_tokens.get(body["AccessToken"])
            if not email:
                return fail("NotAuthorizedException", "Access Token has been revoked")
            for tokens in (self.id_tokens, self.access_tokens, self.refresh_tokens):
                for token in [t for t, e in tokens.items() if e == email]:
                    del tokens[token]
            return 200, {}
        return fail("InvalidAction", f"unknown operation {operation}")

    # ---------------------------------------------------------------- mysfits API

    def api(self, method: str, path: str, authorization: str | None) -> tuple[int, dict]:
        parts = path.strip("/").split("/")  # prod, mysfits[, id[, action]]
        if parts[:2] != ["prod", "mysfits"]:
            return 404, {"message": "Missing Authentication Token"}
        if method == "GET" and len(parts) == 2:
            return 200, {"mysfits": list(self.mysfits.values())}
        mysfit = self.mysfits.get(parts[2]) if len(parts) > 2 else None
        if method == "GET" and len(parts) == 3:
            return (200, mysfit) if mysfit else (404, {"message": "no such mysfit"})
        if method == "POST" and len(parts) == 4 and parts[3] in ("like", "adopt"):
            # API Gateway's Cognito authorizer: the raw ID token, nothing else.
            if authorization not in self.id_tokens:
                return 401, {"message": "Unauthorized"}
            if not mysfit:
                return 404, {"message": f"No mysfit with id {parts[2]}", "mysfitId": parts[2]}
            if parts[3] == "like":
                mysfit["likes"] += 1
                return 200, {"Update": "Success", "likes": mysfit["likes"]}
            if mysfit["adopted"]:
                return 409, {"message": "already adopted", "mysfitId": parts[2]}
            mysfit["adopted"] = True
            return 200, {"Update": "Success"}
        return 404, {"message": "Missing Authentication Token"}


def fail(error_type: str, message: str) -> tuple[int, dict]:
    return 400, {"__type": error_type, "message": message}


def stub_handler(stub: StubCloud) -> type:
    class StubHandler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
            requested = self.headers.get("Access-Control-Request-Headers", "")
            stub.preflights.append(requested)
            asked = {h.strip().lower() for h in requested.split(",") if h.strip()}
            # Answer like a strict gateway: only the headers the site is meant to send.
            self.send_response(204 if asked <= ALLOWED_HEADERS else 403)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", ", ".join(sorted(ALLOWED_HEADERS)))
            self.send_header("Access-Control-Max-Age", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            with stub.lock:
                stub.api_calls.append(("GET", self.path, self.headers.get("Authorization")))
                self.reply(*stub.api("GET", self.path, self.headers.get("Authorization")))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with stub.lock:
                try:
                    self.reply(*self.answer_post(raw))
                except AssertionError as exc:  # told to the test by the `stub` fixture
                    stub.problems.append(f"POST {self.path}: {exc}")
                    self.reply(400, {"__type": "StubProblem", "message": str(exc)})

        def answer_post(self, raw: bytes) -> tuple[int, dict]:
            if self.path == "/":
                target = self.headers.get("X-Amz-Target", "")
                content_type = self.headers.get("Content-Type")
                assert content_type == "application/x-amz-json-1.1", content_type
                assert target.startswith(TARGET_PREFIX), target
                assert "Authorization" not in self.headers, "Cognito calls are not signed"
                operation = target[len(TARGET_PREFIX) :]
                body = json.loads(raw)
                stub.cognito_calls.append((operation, body))
                return stub.cognito(operation, body)
            auth = self.headers.get("Authorization")
            stub.api_calls.append(("POST", self.path, auth))
            assert raw == b"", "like/adopt send an empty body"
            return stub.api("POST", self.path, auth)

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return StubHandler


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def page(browser, offsite_requests: list[str], console_errors: list[str]):
    """conftest's page without request interception: while Playwright intercepts, it answers
    CORS preflights itself, and the stub's CORS (and the site's headers) would go untested.
    Off-site requests are still recorded (and fail anyway: there is no internet)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def note(request) -> None:
        url = request.url
        if not url.startswith(("data:", "blob:", "about:")) and urlsplit(url).hostname not in (
            "127.0.0.1",
            "localhost",
        ):
            offsite_requests.append(url)

    new_page = context.new_page()
    new_page.on("request", note)
    new_page.on(
        "console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None
    )
    new_page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    try:
        yield new_page
    finally:
        context.close()


@pytest.fixture
def stub() -> Iterator[StubCloud]:
    state = StubCloud()
    yield state
    assert state.problems == []


@pytest.fixture
def cloud(serve, stub):
    """The stub Cognito + mysfits API on its own port."""
    return serve(stub_handler(stub))


def accounts_config(cloud, **overrides) -> dict:
    config = {
        "stage": 4,
        "mysfitsApiEndpoint": cloud.url + "/prod",
        "cognitoUserPoolId": POOL_ID,
        "cognitoUserPoolClientId": CLIENT_ID,
        "cognitoEndpoint": cloud.url,
    }
    config.update(overrides)
    return config


def open_site(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('body[data-state="ready"]', timeout=10_000)


def card(page, mysfit_id: str):
    return page.locator(f'.mysfit-card[data-mysfit-id="{mysfit_id}"]')


def session_in_tab(page) -> dict | None:
    raw = page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    return json.loads(raw) if raw else None


def sign_in(page, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.locator("#sign-in-btn").click()
    dialog = page.locator("#sign-in-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#sign-in-email").fill(email)
    dialog.locator("#sign-in-password").fill(password)
    dialog.locator("#sign-in-submit").click()
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "true")
    expect(dialog).to_be_hidden()


def no_uncaught(console_errors: list[str]) -> list[str]:
    # 401/404/409 answers are logged by Chromium as console errors; script exceptions are not ok.
    return [e for e in console_errors if e.startswith("uncaught")]


# ---------------------------------------------------------------------------- tests


def test_weak_password_shows_the_failing_rules_and_skips_sign_up(
    page, site, cloud, stub, console_errors
):
    policy = {
        "minimumLength": 10,
        "requireUppercase": True,
        "requireLowercase": True,
        "requireNumbers": True,
        "requireSymbols": False,
    }
    server = site(accounts_config(cloud, cognitoPasswordPolicy=policy))
    page.set_viewport_size({"width": 375, "height": 800})  # a phone
    open_site(page, server.url + "/")
    account = page.locator("#account")
    expect(account).to_be_visible()
    assert account.get_attribute("data-signed-in") == "false"
    assert page.locator(".like-btn, .adopt-btn").count() == 0

    # Keyboard only: the header button opens the dialog with the cursor in the email field.
    page.locator("#register-btn").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#register-dialog")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "register-email"
    rules = dialog.locator(".password-rules li")
    assert [rules.nth(i).get_attribute("data-rule") for i in range(rules.count())] == [
        "length", "uppercase", "lowercase", "number", "match",
    ]  # fmt: skip
    assert "At least 10 characters" in rules.first.text_content()

    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type("short")
    state = {li.get_attribute("data-rule"): li.get_attribute("data-ok") for li in rules.all()}
    assert state == {
        "length": "false",
        "uppercase": "false",
        "lowercase": "true",
        "number": "false",
        "match": "false",
    }
    page.keyboard.press("Tab")
    page.keyboard.type("short")
    expect(dialog.locator('li[data-rule="match"]')).to_have_attribute("data-ok", "true")
    page.keyboard.press("Enter")  # submits the form
    error = dialog.locator(".form-error")
    expect(error).to_be_visible()
    text = error.text_content()
    assert "10 characters" in text and "upper-case" in text and "number" in text
    assert "lower-case" not in text  # that rule is met
    assert page.evaluate("document.activeElement.id") == "register-password"

    # Strong enough, but the two entries differ.
    dialog.locator("#register-password").fill("LongEnough42")
    dialog.locator("#register-password2").fill("LongEnough43")
    expect(dialog.locator('li[data-rule="length"]')).to_have_attribute("data-ok", "true")
    expect(dialog.locator('li[data-rule="match"]')).to_have_attribute("data-ok", "false")
    dialog.locator("#register-submit").click()
    expect(error).to_contain_text("not the same")

    assert stub.cognito_calls == []  # nothing was sent to Cognito
    # The dialog fits the phone and nothing sticks out sideways.
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "register-btn"
    assert no_uncaught(console_errors) == []


def test_register_confirm_sign_in_like_adopt_and_sign_out(
    page, browser, site, cloud, stub, console_errors, offsite_requests
):
    server = site(accounts_config(cloud))
    open_site(page, server.url + "/")
    assert page.locator(".like-btn").count() == 0

    # Register.
    page.locator("#register-btn").click()
    register = page.locator("#register-dialog")
    register.locator("#register-email").fill(EMAIL)
    register.locator("#register-password").fill(PASSWORD)
    register.locator("#register-password2").fill(PASSWORD)
    expect(register.locator('.password-rules li[data-ok="false"]')).to_have_count(0)
    register.locator("#register-submit").click()
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_be_visible()
    expect(register).to_be_hidden()
    expect(confirm.locator(".form-notice")).to_contain_text("a***@e***")
    assert confirm.locator("#confirm-email").input_value() == EMAIL
    assert stub.operations() == ["SignUp"]
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()

    # Signing in before confirming offers the confirm step.
    page.locator("#sign-in-btn").click()
    sign_in_dialog = page.locator("#sign-in-dialog")
    sign_in_dialog.locator("#sign-in-email").fill(EMAIL)
    sign_in_dialog.locator("#sign-in-password").fill(PASSWORD)
    sign_in_dialog.locator("#sign-in-submit").click()
    error = sign_in_dialog.locator(".form-error")
    expect(error).to_contain_text("not confirmed")
    error.locator(".form-error-action").click()
    expect(confirm).to_be_visible()
    assert confirm.locator("#confirm-email").input_value() == EMAIL

    # A wrong code is refused, with the reason; a new code can be requested.
    confirm.locator("#confirm-code").fill("999999")
    confirm.locator("#confirm-submit").click()
    expect(confirm.locator(".form-error")).to_contain_text("does not match")
    first_code = stub.users[EMAIL]["code"]
    confirm.locator("#confirm-resend").click()
    expect(confirm.locator(".form-notice")).to_contain_text("new code")
    assert stub.users[EMAIL]["code"] != first_code
    confirm.locator("#confirm-code").fill(stub.users[EMAIL]["code"])
    confirm.locator("#confirm-submit").click()
    expect(sign_in_dialog).to_be_visible()
    expect(sign_in_dialog.locator(".form-notice")).to_contain_text("confirmed")
    assert stub.users[EMAIL]["confirmed"]

    # Sign in: the email is filled in and the cursor waits in the password field.
    assert sign_in_dialog.locator("#sign-in-email").input_value() == EMAIL
    assert page.evaluate("document.activeElement.id") == "sign-in-password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    account = page.locator("#account")
    expect(account).to_have_attribute("data-signed-in", "true")
    expect(page.locator("#account-email")).to_have_text(EMAIL)
    expect(page.locator("#sign-out-btn")).to_be_visible()
    expect(page.locator("#sign-in-btn")).to_be_hidden()
    token = stub.issued_id_tokens[-1]
    access_token = session_in_tab(page)["accessToken"]
    assert session_in_tab(page)["idToken"] == token

    # Like: the new count from the service is shown; one POST with the raw ID token.
    blue = MYSFITS[0]["mysfitId"]
    like = card(page, blue).locator("button.like-btn")
    expect(like).to_have_attribute("data-mysfit-id", blue)
    expect(like.locator(".like-count")).to_have_text("3")
    like.click()
    expect(like.locator(".like-count")).to_have_text("4")
    assert stub.posts("like") == [(f"/prod/mysfits/{blue}/like", token)]
    assert not token.startswith("Bearer")

    # The profile reads the full record and offers the same buttons; adopt from there.
    card(page, blue).locator(".view-profile").click()
    profile = page.locator("#mysfit-profile")
    expect(profile).to_be_visible()
    assert ("GET", f"/prod/mysfits/{blue}", None) in stub.api_calls
    expect(profile.locator(".profile-likes")).to_have_text("4")
    expect(profile.locator(".like-btn .like-count")).to_have_text("4")
    adopt = profile.locator("button.adopt-btn")
    expect(adopt).to_have_attribute("data-adopted", "false")
    adopt.click()
    expect(adopt).to_have_attribute("data-adopted", "true")
    expect(adopt).to_be_disabled()
    expect(adopt).to_have_text("Adopted")
    expect(profile.locator(".profile-adopted")).to_contain_text("Adopted")
    expect(profile.locator(".action-message")).to_have_attribute("data-kind", "adopted")
    card_adopt = card(page, blue).locator("button.adopt-btn")
    expect(card_adopt).to_have_attribute("data-adopted", "true")
    expect(card_adopt).to_be_disabled()
    assert stub.posts("adopt") == [(f"/prod/mysfits/{blue}/adopt", token)]
    profile.locator(".profile-close").click()
    expect(profile).to_be_hidden()

    # Someone else adopted this one meanwhile: a 409 is a message, not an error.
    other = MYSFITS[1]["mysfitId"]
    stub.mysfits[other]["adopted"] = True
    card(page, other).locator(".adopt-btn").click()
    message = card(page, other).locator(".action-message")
    expect(message).to_have_attribute("data-kind", "already-adopted")
    expect(message).to_contain_text("already adopted")
    expect(card(page, other).locator(".adopt-btn")).to_be_disabled()
    assert page.locator("dialog[open]").count() == 0

    # A mysfit that vanished from the table: "not found".
    gone = MYSFITS[2]["mysfitId"]
    del stub.mysfits[gone]
    card(page, gone).locator(".like-btn").click()
    expect(card(page, gone).locator(".action-message")).to_have_attribute("data-kind", "not-found")

    # A reload in the same tab keeps the session (no new password sign-in).
    page.reload()
    page.wait_for_selector('body[data-state="ready"]')
    expect(account).to_have_attribute("data-signed-in", "true")
    expect(card(page, blue).locator(".adopt-btn")).to_have_attribute("data-adopted", "true")
    expect(card(page, blue).locator(".like-count")).to_have_text("4")
    assert stub.auth_flows() == ["USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"]

    # Another tab (a new browsing context) starts signed out.
    other_context = browser.new_context()
    try:
        tab = other_context.new_page()
        open_site(tab, server.url + "/")
        expect(tab.locator("#account")).to_have_attribute("data-signed-in", "false")
        assert tab.locator(".like-btn").count() == 0
        assert session_in_tab(tab) is None
    finally:
        other_context.close()

    # Sign out: buttons and session are gone, and Cognito revoked the tokens.
    page.locator("#sign-out-btn").click()
    expect(account).to_have_attribute("data-signed-in", "false")
    expect(page.locator(".like-btn, .adopt-btn")).to_have_count(0)
    assert session_in_tab(page) is None
    assert page.evaluate("document.activeElement.id") == "sign-in-btn"
    # The site does not wait for GlobalSignOut; the stub sees it shortly after.
    wait_for(lambda: "GlobalSignOut" in stub.operations(), "GlobalSignOut", timeout=5)
    assert ("GlobalSignOut", {"AccessToken": access_token}) in stub.cognito_calls
    assert token not in stub.id_tokens  # revoked by the stub
    page.reload()
    page.wait_for_selector('body[data-state="ready"]')
    expect(account).to_have_attribute("data-signed-in", "false")

    # Signed out, the profile invites to sign in instead of showing buttons.
    card(page, blue).locator(".view-profile").click()
    expect(profile.locator(".sign-in-prompt")).to_be_visible()
    assert profile.locator(".like-btn").count() == 0

    # Real preflights: Cognito calls ask for X-Amz-Target, like/adopt for Authorization, and
    # nothing beyond what the stub allows (else the calls above had failed).
    asked = {frozenset(h.strip() for h in p.lower().split(",")) for p in stub.preflights}
    assert asked == {frozenset({"content-type", "x-amz-target"}), frozenset({"authorization"})}
    assert offsite_requests == []
    assert no_uncaught(console_errors) == []


def test_a_401_refreshes_once_then_asks_to_sign_in_again(page, site, cloud, stub, console_errors):
    stub.add_user(EMAIL, PASSWORD)
    server = site(accounts_config(cloud))
    open_site(page, server.url + "/")
    sign_in(page)
    blue = MYSFITS[0]["mysfitId"]
    like = card(page, blue).locator(".like-btn")

    # The ID token stopped being accepted, the refresh token still works: one retry succeeds.
    old = stub.issued_id_tokens[-1]
    stub.revoke_id_tokens()
    like.click()
    expect(like.locator(".like-count")).to_have_text("4")
    new = stub.issued_id_tokens[-1]
    assert new != old
    assert stub.posts("like") == [
        (f"/prod/mysfits/{blue}/like", old),
        (f"/prod/mysfits/{blue}/like", new),
    ]
    assert stub.auth_flows() == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]
    assert session_in_tab(page)["idToken"] == new
    assert session_in_tab(page)["refreshToken"] == "refresh-1"  # kept across the refresh

    # Now nothing is accepted: the site signs out and asks for a new sign-in.
    stub.revoke_everything()
    like.click()
    dialog = page.locator("#sign-in-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".form-notice")).to_contain_text("expired")
    assert dialog.locator("#sign-in-email").input_value() == EMAIL
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "false")
    expect(page.locator(".like-btn")).to_have_count(0)
    assert session_in_tab(page) is None
    assert len(stub.posts("like")) == 3  # one try with the revoked token, no retry
    assert stub.auth_flows()[-1] == "REFRESH_TOKEN_AUTH"

    # Signing in again brings the buttons back.
    dialog.locator("#sign-in-password").fill(PASSWORD)
    dialog.locator("#sign-in-submit").click()
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "true")
    expect(card(page, blue).locator(".like-btn")).to_be_visible()
    assert no_uncaught(console_errors) == []


def test_an_expiring_id_token_is_refreshed_before_use(page, site, cloud, stub):
    stub.add_user(EMAIL, PASSWORD)
    stub.token_lifetime = 30  # under the site's one-minute margin: always "about to expire"
    server = site(accounts_config(cloud))
    open_site(page, server.url + "/")
    sign_in(page)
    first = stub.issued_id_tokens[-1]

    page.reload()  # the restored session is refreshed right away
    page.wait_for_selector('body[data-state="ready"]')
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "true")
    page.wait_for_function(
        f"() => JSON.parse(sessionStorage.getItem('{SESSION_KEY}')).idToken !== '{first}'"
    )
    assert stub.auth_flows() == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]

    blue = MYSFITS[0]["mysfitId"]
    card(page, blue).locator(".like-btn").click()
    expect(card(page, blue).locator(".like-count")).to_have_text("4")
    # Refreshed again before the call: sign-in, reload, like — the API saw only the newest.
    assert len(stub.issued_id_tokens) == 3
    assert stub.posts("like") == [(f"/prod/mysfits/{blue}/like", stub.issued_id_tokens[-1])]


@pytest.mark.parametrize("case", ["no-user-pool", "stage-3"])
def test_accounts_and_buttons_need_their_config(page, site, cloud, case):
    if case == "no-user-pool":
        config = accounts_config(cloud, cognitoUserPoolId=None)
    else:
        config = accounts_config(cloud, stage=3)
    server = site(config)
    open_site(page, server.url + "/")
    if case == "no-user-pool":
        expect(page.locator("#account")).to_be_hidden()
        return
    # Stage 3 with a pool: the account area shows, but there is no like/adopt API yet.
    expect(page.locator("#account")).to_be_visible()
    page.locator(".mysfit-card .view-profile").first.click()
    expect(page.locator("#mysfit-profile")).to_be_visible()
    assert page.locator(".like-btn, .adopt-btn, .sign-in-prompt").count() == 0


def test_an_unreachable_sign_in_service_is_named(page, site, cloud):
    nowhere = f"http://127.0.0.1:{free_port()}"
    server = site(accounts_config(cloud, cognitoEndpoint=nowhere))
    open_site(page, server.url + "/")
    page.locator("#sign-in-btn").click()
    dialog = page.locator("#sign-in-dialog")
    dialog.locator("#sign-in-email").fill(EMAIL)
    dialog.locator("#sign-in-password").fill(PASSWORD)
    dialog.locator("#sign-in-submit").click()
    error = dialog.locator(".form-error")
    expect(error).to_contain_text(nowhere + "/")
    expect(error).to_contain_text("Could not reach")
    expect(dialog.locator("#sign-in-submit")).to_be_enabled()
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "false")


def test_each_cognito_error_gets_its_own_words(page, site, cloud):
    server = site(accounts_config(cloud))
    open_site(page, server.url + "/")
    described = page.evaluate(
        """types => Object.fromEntries(types.map(t => [t, MysfitsCognito.describeError(
            new MysfitsCognito.CognitoError(t, "server words"), "sign-in", "http://127.0.0.1:9/")
        ]))""",
        [
            "UsernameExistsException",
            "InvalidPasswordException",
            "CodeMismatchException",
            "ExpiredCodeException",
            "UserNotConfirmedException",
            "NotAuthorizedException",
            "LimitExceededException",
            "NetworkError",
        ],
    )
    texts = [d["text"] for d in described.values()]
    assert len(set(texts)) == len(texts)
    assert not any(t.startswith("Something went wrong") for t in texts)
    assert described["UserNotConfirmedException"]["action"] == "confirm"
    assert described["UsernameExistsException"]["action"] == "sign-in"
    assert "server words" in described["InvalidPasswordException"]["text"]
    assert "http://127.0.0.1:9/" in described["NetworkError"]["text"]
    assert "Wait a few minutes" in described["LimitExceededException"]["text"]
