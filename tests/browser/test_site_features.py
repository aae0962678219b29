"""Modules 5-7 in a real (headless) browser: click tracking, "Contact us", "Find your mysfit".

The site is served from a temp copy with a config.js pointing at stub APIs, each on a port of
its own (so each is another origin). CORS is real: the page does not intercept requests, and
the stubs answer preflights themselves, allowing Content-Type and Authorization, and only the
site's origin. The stubs speak just enough of the workshop's APIs: the mysfits API of module 4
(/prod/mysfits[/{id}]), PUT /prod/clicks, POST /prod/questions and POST /prod/recommendations.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import defaultdict
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
TABLE = json.loads((REPO / "data" / "populate-dynamodb.json").read_text(encoding="utf-8"))
POOL_ID = "us-east-1_StubPool1"
CLIENT_ID = "stubclient0123456789"
SESSION_KEY = "mysfits-session"
EMAIL = "ada@example.com"
SUB = "7d4f0c2e-5b1a-4c8e-9f3d-2a6b8c1e0f42"
ALLOWED_HEADERS = {"content-type", "authorization"}
ALLOWED_METHODS = {"GET", "POST", "PUT"}
QUESTION = "Does Gretta get along with cats? I have two, and both are rather shy."
BROWSER_NOISE = ("Failed to load resource",)  # Chromium's own log line for a 4xx/5xx or refusal


def record_of(item: dict) -> dict:
    """A populate-dynamodb.json item as the mysfits API returns it (camelCase, plain values)."""
    names = {"GoodEvil": "goodevil", "LawChaos": "lawchaos"}
    record = {}
    for key, typed in item["PutRequest"]["Item"].items():
        ((kind, value),) = typed.items()
        record[names.get(key, key[0].lower() + key[1:])] = int(value) if kind == "N" else value
    return record


EVERY_MYSFIT = {r["mysfitId"]: r for r in map(record_of, TABLE["MysfitsTable"])}
LISTED = {m["mysfitId"] for m in MYSFITS}
# A mysfit of the table that the six-mysfit list does not hold: its card needs GET /mysfits/{id}.
ATLANTIS = next(r for r in EVERY_MYSFIT.values() if r["name"] == "Atlantis")
assert ATLANTIS["mysfitId"] not in LISTED


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_id_token(claims: dict) -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": "stub"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(b'not-a-signature')}"


class FeatureStub:
    """The stub APIs' shared state: canned answers and every request the site made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.origin: str | None = None  # the site's origin, once it is served
        self.calls: list[dict] = []
        self.preflights: list[dict] = []
        self.problems: list[str] = []  # requests the real services would have refused
        self.forced: dict[str, list[tuple[int, dict]]] = defaultdict(list)  # path -> answers
        self.always: dict[str, tuple[int, dict]] = {}  # path -> answer, after `forced`
        self.delay: dict[str, float] = {}  # path -> seconds before answering
        self.cors_refused: set[str] = set()  # paths whose preflight does not allow the site
        self.recommended = MYSFITS[0]

    def sent(self, path: str, method: str | None = None) -> list[dict]:
        """Bodies of the requests to `path` (like "/prod/clicks")."""
        return [
            c["body"]
            for c in self.calls
            if c["path"] == path and (method is None or c["method"] == method)
        ]

    def answer(self, method: str, path: str, body: object) -> tuple[int, object]:
        if self.forced[path]:
            return self.forced[path].pop(0)
        if path in self.always:
            return self.always[path]
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["prod", "mysfits"]:
            return 200, {"mysfits": [{**m, "likes": 0, "adopted": False} for m in MYSFITS]}
        if method == "GET" and parts[:2] == ["prod", "mysfits"] and len(parts) == 3:
            found = EVERY_MYSFIT.get(parts[2])
            return (200, found) if found else (404, {"message": "no such mysfit"})
        if method == "PUT" and path == "/prod/clicks":
            # What API Gateway relays from Firehose's PutRecord.
            return 200, {"RecordId": f"rec-{len(self.calls)}", "Encrypted": False}
        if method == "POST" and path == "/prod/questions":
            return 200, {"status": "success"}
        if method == "POST" and path == "/prod/recommendations":
            mysfit = self.recommended
            return 200, {"recommendedMysfit": mysfit["mysfitId"], "name": mysfit["name"]}
        return 404, {"message": "Missing Authentication Token"}


def stub_handler(stub: FeatureStub) -> type:
    class StubHandler(BaseHTTPRequestHandler):
        def allow_origin(self) -> None:
            origin = self.headers.get("Origin")
            if origin and origin == stub.origin:  # only the site; no "*"
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")

        def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
            requested = self.headers.get("Access-Control-Request-Headers", "")
            method = self.headers.get("Access-Control-Request-Method", "")
            asked = {h.strip().lower() for h in requested.split(",") if h.strip()}
            with stub.lock:
                stub.preflights.append({"path": self.path, "method": method, "headers": asked})
            ok = (
                self.headers.get("Origin") == stub.origin
                and asked <= ALLOWED_HEADERS
                and method in ALLOWED_METHODS
                and self.path not in stub.cors_refused
            )
            self.send_response(204 if ok else 403)
            if self.path not in stub.cors_refused:
                self.allow_origin()
            self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
            self.send_header("Access-Control-Max-Age", "0")  # every request is preflighted
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self.handle_call("GET")

        def do_PUT(self) -> None:  # noqa: N802
            self.handle_call("PUT")

        def do_POST(self) -> None:  # noqa: N802
            self.handle_call("POST")

        def handle_call(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = None
            with stub.lock:
                if method != "GET":
                    content_type = self.headers.get("Content-Type")
                    if content_type != "application/json":
                        stub.problems.append(f"{method} {self.path}: Content-Type {content_type}")
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        stub.problems.append(f"{method} {self.path}: body is not JSON: {raw!r}")
                if self.headers.get("Origin") != stub.origin:
                    stub.problems.append(f"{method} {self.path} from {self.headers.get('Origin')}")
                stub.calls.append(
                    {
                        "method": method,
                        "path": self.path,
                        "body": body,
                        "authorization": self.headers.get("Authorization"),
                        "cookie": self.headers.get("Cookie"),
                    }
                )
                status, answer = stub.answer(method, self.path, body)
                delay = stub.delay.get(self.path, 0)
            if delay:
                time.sleep(delay)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.allow_origin()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return StubHandler


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def console() -> list[tuple[str, str]]:
    """(type, text) of every console message, and ("uncaught", text) for script exceptions."""
    return []


@pytest.fixture
def page(browser, offsite_requests: list[str], console: list[tuple[str, str]]):
    """A page without request interception, as in test_site_accounts.py: while Playwright
    intercepts it answers CORS preflights itself, and the stubs' CORS would go untested."""
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
    new_page.on("console", lambda msg: console.append((msg.type, msg.text)))
    new_page.on("pageerror", lambda exc: console.append(("uncaught", str(exc))))
    try:
        yield new_page
    finally:
        context.close()


@pytest.fixture
def stub() -> Iterator[FeatureStub]:
    state = FeatureStub()
    yield state
    assert state.problems == []
    assert not any(c["authorization"] or c["cookie"] for c in state.calls), "no credentials"


@pytest.fixture
def apis(serve, stub) -> dict[str, str]:
    """One stub server per API, so each is an origin of its own; base URLs end in /prod."""
    handler = stub_handler(stub)
    names = ("mysfits", "clicks", "questions", "recommendations", "cognito")
    return {name: serve(handler).url + "/prod" for name in names}


def config_for(apis: dict[str, str], stage: int = 7, accounts: bool = False) -> dict:
    config = {
        "stage": stage,
        "mysfitsApiEndpoint": apis["mysfits"],
        "streamingApiEndpoint": apis["clicks"] if stage >= 5 else None,
        "questionsApiEndpoint": apis["questions"] if stage >= 6 else None,
        "recommendationsApiEndpoint": apis["recommendations"] if stage >= 7 else None,
    }
    if accounts:
        # Never called: the session is seeded, and its ID token is far from expiring.
        config.update(
            cognitoUserPoolId=POOL_ID,
            cognitoUserPoolClientId=CLIENT_ID,
            cognitoEndpoint=apis["cognito"].removesuffix("/prod"),
        )
    return config


def open_site(page, site, stub: FeatureStub, config: dict):
    server = site(config)
    stub.origin = server.url
    page.goto(server.url + "/")
    page.wait_for_selector('body[data-state="ready"]', timeout=10_000)
    return server


def sign_in_by_seeding(page, sub: str = SUB, email: str = EMAIL) -> None:
    """Puts a session in this tab's sessionStorage (as account.js would) and reloads."""
    now = int(time.time())
    claims = {"sub": sub, "email": email, "token_use": "id", "aud": CLIENT_ID, "exp": now + 3600}
    session = {
        "clientId": CLIENT_ID,
        "email": email,
        "idToken": fake_id_token(claims),
        "accessToken": "access-1",
        "refreshToken": "refresh-1",
        "expiresAt": (now + 3600) * 1000,
    }
    page.evaluate("([k, v]) => sessionStorage.setItem(k, v)", [SESSION_KEY, json.dumps(session)])
    page.reload()
    page.wait_for_selector('body[data-state="ready"]', timeout=10_000)
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "true")


def view_profile(page, mysfit_id: str, name: str) -> None:
    page.locator(f'.mysfit-card[data-mysfit-id="{mysfit_id}"] .view-profile').click()
    profile = page.locator("#mysfit-profile")
    expect(profile).to_be_visible()
    expect(profile.locator(".profile-name")).to_have_text(name)


def close_profile(page) -> None:
    page.locator("#mysfit-profile .profile-close").click()
    expect(page.locator("#mysfit-profile")).to_be_hidden()


def body_attr(page, name: str) -> str | None:
    return page.locator("body").get_attribute(name)


def errors(console: list[tuple[str, str]]) -> list[str]:
    """Console errors and uncaught exceptions, without Chromium's own network log lines."""
    return [
        text
        for kind, text in console
        if kind in ("error", "uncaught") and not text.startswith(BROWSER_NOISE)
    ]


def warnings_of(console: list[tuple[str, str]]) -> list[str]:
    return [text for kind, text in console if kind == "warning"]


# ------------------------------------------------------------------ click tracking (5)


def test_each_profile_view_sends_one_click(page, site, apis, stub, console, offsite_requests):
    open_site(page, site, stub, config_for(apis, stage=5, accounts=True))
    assert body_attr(page, "data-clicks-sent") == "0"
    assert body_attr(page, "data-clicks-failed") == "0"

    # Signed out: three profiles, three clicks from "guest", one at a time.
    for n, mysfit in enumerate(MYSFITS[:3], start=1):
        view_profile(page, mysfit["mysfitId"], mysfit["name"])
        expect(page.locator("body")).to_have_attribute("data-clicks-sent", str(n))
        close_profile(page)
    assert stub.sent("/prod/clicks", "PUT") == [
        {"userId": "guest", "mysfitId": m["mysfitId"]} for m in MYSFITS[:3]
    ]

    # Signed in: the "sub" claim of the ID token names the visitor.
    sign_in_by_seeding(page)
    chosen = MYSFITS[3]
    view_profile(page, chosen["mysfitId"], chosen["name"])
    expect(page.locator("body")).to_have_attribute("data-clicks-sent", "1")  # a new page
    assert stub.sent("/prod/clicks")[-1] == {"userId": SUB, "mysfitId": chosen["mysfitId"]}
    assert len(stub.sent("/prod/clicks")) == 4
    assert body_attr(page, "data-clicks-failed") == "0"

    # Real preflights: PUT with Content-Type only (no Authorization: the API has no authorizer).
    clicks = [p for p in stub.preflights if p["path"] == "/prod/clicks"]
    assert len(clicks) == 4
    assert all(p["method"] == "PUT" and p["headers"] == {"content-type"} for p in clicks)
    # No other module's feature is on at stage 5.
    expect(page.locator("#contact-btn")).to_be_hidden()
    expect(page.locator("#recommend-btn")).to_be_hidden()
    assert offsite_requests == []
    assert errors(console) == []
    assert warnings_of(console) == []


@pytest.mark.parametrize("failure", ["http-500", "unreachable", "cors-refused"])
def test_a_failing_click_endpoint_leaves_the_profile_alone(
    page, site, apis, stub, console, failure
):
    config = config_for(apis, stage=5)
    if failure == "http-500":
        stub.always["/prod/clicks"] = (500, {"message": "Internal server error"})
    elif failure == "unreachable":
        config["streamingApiEndpoint"] = f"http://127.0.0.1:{free_port()}/prod"
    elif failure == "cors-refused":
        stub.cors_refused.add("/prod/clicks")  # the API does not allow this site
    open_site(page, site, stub, config)

    for n, mysfit in enumerate(MYSFITS[:2], start=1):
        view_profile(page, mysfit["mysfitId"], mysfit["name"])
        profile = page.locator("#mysfit-profile")
        expect(profile.locator(".profile-description")).to_have_text(mysfit["description"])
        expect(page.locator("body")).to_have_attribute("data-clicks-failed", str(n))
        expect(profile).to_be_visible()
        close_profile(page)

    assert body_attr(page, "data-clicks-sent") == "0"
    # A warning per lost click, naming the mysfit; nothing is retried.
    warned = [w for w in warnings_of(console) if w.startswith("Click tracking")]
    assert len(warned) == 2
    assert MYSFITS[0]["mysfitId"] in warned[0] and MYSFITS[1]["mysfitId"] in warned[1]
    if failure == "http-500":
        assert "HTTP 500" in warned[0]
        assert len(stub.sent("/prod/clicks")) == 2
    if failure == "cors-refused":
        assert len([p for p in stub.preflights if p["path"] == "/prod/clicks"]) == 2
        assert stub.sent("/prod/clicks") == []  # refused at the preflight
    assert [e for e in errors(console) if "CORS" not in e] == []
    assert not any(kind == "uncaught" for kind, _ in console)


# ----------------------------------------------------------------------- contact us (6)


def open_contact(page):
    page.locator("#contact-btn").click()
    dialog = page.locator("#contact-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_contact_form_refuses_bad_input_without_a_request(page, site, apis, stub, console):
    open_site(page, site, stub, config_for(apis, stage=6))
    expect(page.locator("#recommend-btn")).to_be_hidden()  # module 7 is not there yet
    dialog = open_contact(page)
    assert page.evaluate("document.activeElement.id") == "contact-email"  # nobody signed in
    email = dialog.locator("#contact-email")
    question = dialog.locator("#contact-question")
    count = dialog.locator(".char-count")
    submit = dialog.locator("#contact-submit")
    error = dialog.locator(".form-error")
    expect(count).to_have_text("0 / 2,000")

    email.fill("ada.example.com")
    question.fill(QUESTION)
    submit.click()
    expect(error).to_be_visible()
    expect(error).to_contain_text("email address")
    assert page.evaluate("document.activeElement.id") == "contact-email"

    email.fill(EMAIL)
    question.fill("   ")
    submit.click()
    expect(error).to_contain_text("empty")
    assert page.evaluate("document.activeElement.id") == "contact-question"

    question.fill("x" * 2000)
    expect(count).to_have_text("2,000 / 2,000")
    expect(count).to_have_attribute("data-over", "false")
    question.fill("é" * 1990 + "🐉" * 11)  # 2,001 characters (the dragons are two code units)
    expect(count).to_have_text("2,001 / 2,000")
    expect(count).to_have_attribute("data-over", "true")
    submit.click()
    expect(error).to_contain_text("2,001 characters")
    expect(error).to_contain_text("1 too many")

    assert stub.sent("/prod/questions") == []  # nothing left the browser
    assert [p for p in stub.preflights if p["path"] == "/prod/questions"] == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "contact-btn"
    assert errors(console) == []


def test_a_question_is_posted_once_and_thanked(page, site, apis, stub, console):
    open_site(page, site, stub, config_for(apis, stage=6, accounts=True))
    sign_in_by_seeding(page)
    stub.delay["/prod/questions"] = 0.8  # long enough to try a second submit meanwhile

    dialog = open_contact(page)
    email = dialog.locator("#contact-email")
    question = dialog.locator("#contact-question")
    submit = dialog.locator("#contact-submit")
    # The signed-in visitor's address is filled in, and the cursor waits in the question.
    expect(email).to_have_value(EMAIL)
    assert page.evaluate("document.activeElement.id") == "contact-question"
    question.fill(QUESTION)
    expect(dialog.locator(".char-count")).to_have_text(f"{len(QUESTION)} / 2,000")

    submit.dblclick()
    expect(submit).to_be_disabled()
    expect(submit).to_have_text("Sending…")
    # A scripted resubmit while the first is out is ignored as well.
    page.evaluate("document.querySelector('#contact-dialog form').requestSubmit()")
    notice = dialog.locator(".form-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Thanks — ")
    expect(notice).to_contain_text(EMAIL)
    assert stub.sent("/prod/questions", "POST") == [{"email": EMAIL, "questionText": QUESTION}]

    # The form is ready for the next question; the address is the visitor's again.
    expect(question).to_have_value("")
    expect(email).to_have_value(EMAIL)
    expect(dialog.locator(".char-count")).to_have_text("0 / 2,000")
    expect(submit).to_be_enabled()
    expect(dialog.locator(".form-error")).to_be_hidden()
    preflights = [p for p in stub.preflights if p["path"] == "/prod/questions"]
    assert preflights == [
        {"path": "/prod/questions", "method": "POST", "headers": {"content-type"}}
    ]
    time.sleep(0.3)  # nothing else trickles in
    assert len(stub.sent("/prod/questions")) == 1
    assert errors(console) == []


def test_question_failures_show_the_reason_and_keep_the_text(page, site, apis, stub, console):
    open_site(page, site, stub, config_for(apis, stage=6))
    dialog = open_contact(page)
    question = dialog.locator("#contact-question")
    error = dialog.locator(".form-error")
    dialog.locator("#contact-email").fill(EMAIL)
    question.fill(QUESTION)

    # 400: the API's own words.
    said = "Questions must not contain links, sorry."
    stub.forced["/prod/questions"].append((400, {"message": said}))
    dialog.locator("#contact-submit").click()
    expect(error).to_be_visible()
    expect(error.locator(".form-error-text")).to_have_text(said)
    expect(question).to_have_value(QUESTION)

    # 500: not sent, the text is still there, and "Try again" sends it again.
    stub.forced["/prod/questions"].append((502, {"message": "Internal server error"}))
    dialog.locator("#contact-submit").click()
    expect(error).to_contain_text("not sent")
    expect(error).to_contain_text("HTTP 502")
    expect(question).to_have_value(QUESTION)
    expect(dialog.locator(".form-notice")).to_be_hidden()
    # Closing and reopening loses nothing either.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    open_contact(page)
    expect(question).to_have_value(QUESTION)
    expect(error).to_contain_text("not sent")
    retry = error.locator(".form-error-action")
    expect(retry).to_have_text("Try again")
    retry.click()
    expect(dialog.locator(".form-notice")).to_contain_text("Thanks")
    expect(error).to_be_hidden()
    assert stub.sent("/prod/questions") == [{"email": EMAIL, "questionText": QUESTION}] * 3
    assert not any(kind == "uncaught" for kind, _ in console)


def test_an_unreachable_questions_service_keeps_the_text(page, site, apis, stub):
    config = config_for(apis, stage=6)
    config["questionsApiEndpoint"] = nowhere = f"http://127.0.0.1:{free_port()}/prod"
    open_site(page, site, stub, config)
    dialog = open_contact(page)
    dialog.locator("#contact-email").fill(EMAIL)
    dialog.locator("#contact-question").fill(QUESTION)
    dialog.locator("#contact-submit").click()
    error = dialog.locator(".form-error")
    expect(error).to_contain_text("not sent")
    expect(error).to_contain_text(nowhere + "/questions")
    expect(dialog.locator("#contact-question")).to_have_value(QUESTION)
    expect(dialog.locator("#contact-submit")).to_be_enabled()


# ----------------------------------------------------------------- questionnaire (7)


def answer(dialog, index: int, value: int) -> None:
    dialog.locator(f'fieldset.question[data-index="{index}"] input[value="{value}"]').check()


def test_questionnaire_needs_five_answers_and_shows_the_match(
    page, site, apis, stub, console, offsite_requests
):
    open_site(page, site, stub, config_for(apis, stage=7))
    page.locator("#recommend-btn").click()
    dialog = page.locator("#recommend-dialog")
    expect(dialog).to_be_visible()

    questions = dialog.locator("fieldset.question")
    expect(questions).to_have_count(5)
    for index in range(5):
        fieldset = questions.nth(index)
        assert fieldset.get_attribute("data-index") == str(index)
        values = fieldset.locator("input[type=radio]").evaluate_all("r => r.map(i => i.value)")
        assert values == [str(v) for v in range(1, 9)]
        assert fieldset.locator("legend").text_content().strip()
        labels = fieldset.locator("label").all_text_contents()
        assert len(set(labels)) == 8 and all(label.strip() for label in labels)
    legends = questions.locator("legend").all_text_contents()
    assert len(set(legends)) == 5

    submit = dialog.locator("#recommend-submit")
    chosen = [3, 1, 8, 2, 5]
    for index in (4, 0, 2, 1):  # any order
        expect(submit).to_be_disabled()
        answer(dialog, index, chosen[index])
    expect(submit).to_be_disabled()
    expect(dialog.locator(".recommend-progress")).to_contain_text("1 question to go")
    answer(dialog, 3, 7)
    answer(dialog, 3, chosen[3])  # changing an answer is fine
    expect(submit).to_be_enabled()

    # The match is not among the six listed: its card comes from GET /mysfits/{id}.
    stub.recommended = ATLANTIS
    submit.click()
    match = dialog.locator(f'.recommendation[data-mysfit-id="{ATLANTIS["mysfitId"]}"]')
    expect(match).to_be_visible()
    expect(match.locator(".mysfit-name")).to_have_text("Atlantis")
    expect(match.locator(".mysfit-species")).to_have_text(ATLANTIS["species"])
    assert match.locator("img.mysfit-image").get_attribute("src") == "images/mandrake.svg"
    sent = stub.sent("/prod/recommendations", "POST")
    assert sent == [{"entry": chosen}]
    assert all(type(a) is int for a in sent[0]["entry"])
    assert ("GET", f"/prod/mysfits/{ATLANTIS['mysfitId']}") in [
        (c["method"], c["path"]) for c in stub.calls
    ]
    preflights = [p for p in stub.preflights if p["path"] == "/prod/recommendations"]
    assert preflights == [
        {"path": "/prod/recommendations", "method": "POST", "headers": {"content-type"}}
    ]

    # Its button opens the profile (a profile view like any other).
    match.locator(".view-recommended").click()
    expect(dialog).to_be_hidden()
    profile = page.locator("#mysfit-profile")
    expect(profile).to_be_visible()
    expect(profile.locator(".profile-name")).to_have_text("Atlantis")
    expect(profile.locator(".profile-description")).to_have_text(ATLANTIS["description"])
    expect(page.locator("body")).to_have_attribute("data-clicks-sent", "1")
    assert stub.sent("/prod/clicks") == [{"userId": "guest", "mysfitId": ATLANTIS["mysfitId"]}]
    close_profile(page)

    # Back to the questions, answers kept; a listed mysfit comes from the loaded catalogue.
    page.locator("#recommend-btn").click()
    dialog.locator(".recommend-again").click()
    expect(dialog.locator("input:checked")).to_have_count(5)
    stub.recommended = MYSFITS[3]
    gets_before = len([c for c in stub.calls if c["method"] == "GET"])
    submit.click()
    match = dialog.locator(f'.recommendation[data-mysfit-id="{MYSFITS[3]["mysfitId"]}"]')
    expect(match.locator(".mysfit-name")).to_have_text(MYSFITS[3]["name"])
    assert len([c for c in stub.calls if c["method"] == "GET"]) == gets_before
    assert offsite_requests == []
    assert errors(console) == []


def test_questionnaire_failures_are_explained(page, site, apis, stub, console):
    open_site(page, site, stub, config_for(apis, stage=7))
    page.locator("#recommend-btn").click()
    dialog = page.locator("#recommend-dialog")
    for index in range(5):
        answer(dialog, index, index + 2)
    submit = dialog.locator("#recommend-submit")
    error = dialog.locator(".form-error")

    said = "entry must hold five whole numbers from 1 to 8"
    stub.forced["/prod/recommendations"].append((400, {"message": said}))
    submit.click()
    expect(error).to_be_visible()
    expect(error.locator(".form-error-text")).to_have_text(said)
    expect(dialog.locator(".recommendation")).to_have_count(0)

    stub.forced["/prod/recommendations"].append((500, {"message": "Internal server error"}))
    submit.click()
    expect(error).to_contain_text("not working right now")
    expect(error).to_contain_text("HTTP 500")
    expect(dialog.locator("input:checked")).to_have_count(5)
    expect(submit).to_be_enabled()

    # A 200 without a suggestion (the original service's "" for an unknown label).
    stub.forced["/prod/recommendations"].append((200, {"recommendedMysfit": ""}))
    submit.click()
    expect(error).to_contain_text("no suggestion")

    stub.forced["/prod/recommendations"].append((200, {"recommendedMysfit": ATLANTIS["mysfitId"]}))
    submit.click()
    expect(dialog.locator(".recommendation .mysfit-name")).to_have_text("Atlantis")
    assert stub.sent("/prod/recommendations") == [{"entry": [2, 3, 4, 5, 6]}] * 4
    assert not any(kind == "uncaught" for kind, _ in console)


def test_an_unreachable_recommender_is_named(page, site, apis, stub):
    config = config_for(apis, stage=7)
    config["recommendationsApiEndpoint"] = nowhere = f"http://127.0.0.1:{free_port()}/prod"
    page.set_viewport_size({"width": 375, "height": 800})  # a phone
    open_site(page, site, stub, config)
    page.locator("#recommend-btn").click()
    dialog = page.locator("#recommend-dialog")
    for index in range(5):
        answer(dialog, index, 8)
    dialog.locator("#recommend-submit").click()
    error = dialog.locator(".form-error")
    expect(error).to_contain_text("could not reach")
    expect(error).to_contain_text(nowhere + "/recommendations")
    expect(dialog.locator("#recommend-submit")).to_be_enabled()
    # Five questions of eight answers still fit the phone's width.
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# ------------------------------------------------------------------ switched off (<= 4)


@pytest.mark.parametrize("stage", [4, 5, 6])
def test_each_feature_waits_for_its_endpoint(page, site, apis, stub, console, stage):
    open_site(page, site, stub, config_for(apis, stage=stage))
    features = page.evaluate("window.mysfitsSite.features")
    assert features["clickTracking"] is (stage >= 5)
    assert features["questions"] is (stage >= 6)
    assert features["recommendations"] is False

    expect(page.locator("#recommend-btn")).to_be_hidden()
    expect(page.locator("#recommend-cta")).to_be_hidden()
    if stage >= 6:
        expect(page.locator("#contact-btn")).to_be_visible()
    else:
        expect(page.locator("#contact-btn")).to_be_hidden()
        expect(page.locator(".footer-contact")).to_be_hidden()
    assert page.locator("dialog[open]").count() == 0

    mysfit = MYSFITS[0]
    view_profile(page, mysfit["mysfitId"], mysfit["name"])
    if stage >= 5:
        expect(page.locator("body")).to_have_attribute("data-clicks-sent", "1")
    else:
        # Give a stray request time to show up, then check there was none.
        wait_for(
            lambda: (
                ("GET", f"/prod/mysfits/{mysfit['mysfitId']}")
                in [(c["method"], c["path"]) for c in stub.calls]
            ),
            "the profile's full read",
            timeout=5,
        )
        time.sleep(0.3)
        assert body_attr(page, "data-clicks-sent") is None
        assert body_attr(page, "data-clicks-failed") is None
        assert [c for c in stub.calls if c["method"] != "GET"] == []
    assert errors(console) == []
