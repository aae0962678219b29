"""The site in assets/web/ in a real (headless) browser, without the local cloud.

The site is served from a temp copy, the way the project uploads it (config.js + mysfits.json
written next to index.html); the mysfits API is a stub on another port, i.e. another origin.
Set MYSFITS_SITE_SCREENSHOT=/some/file.png to keep a screenshot of the loaded page.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import free_port

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, in CI) with the reason
    expect = None

REPO = Path(__file__).resolve().parents[2]
MYSFITS = json.loads((REPO / "data" / "mysfits-response.json").read_text(encoding="utf-8"))[
    "mysfits"
]
FILTER_FIELDS = {"GoodEvil": "goodevil", "LawChaos": "lawchaos"}


def stem(mysfit: dict) -> str:
    return mysfit["thumbImageUri"].rsplit("/", 1)[1].split("_")[0]


def names(mysfits: list[dict]) -> list[str]:
    return [m["name"] for m in mysfits]


def wait_for_state(page, state: str) -> None:
    page.wait_for_selector(f'body[data-state="{state}"]', timeout=10_000)


def card_names(page) -> list[str]:
    return page.locator(".mysfit-card .mysfit-name").all_text_contents()


# From module 3 on the API adds likes (a string, as DynamoDB's N comes back) and adopted.
API_MYSFITS = [
    {**m, "likes": str(i * 2), "adopted": m["name"] == "CoCo"} for i, m in enumerate(MYSFITS)
]


class StubMysfitsApi(BaseHTTPRequestHandler):
    """GET /mysfits[?filter=GoodEvil|LawChaos&value=...] like the workshop's service, CORS *."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        if parts.path != "/mysfits":
            return self.reply(404, {"error": "not found"})
        query = parse_qs(parts.query)
        mysfits = API_MYSFITS
        if "filter" in query:
            field = FILTER_FIELDS.get(query["filter"][0])
            if field is None or "value" not in query:
                return self.reply(400, {"error": "bad filter"})
            mysfits = [m for m in API_MYSFITS if m[field] == query["value"][0]]
        self.reply(200, {"mysfits": mysfits})

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ---------------------------------------------------------------------- in Chromium


def test_static_site_lists_filters_and_opens_profiles(page, site, offsite_requests, console_errors):
    server = site({"stage": 1}, mysfits=MYSFITS)
    page.goto(server.url + "/")
    wait_for_state(page, "ready")

    cards = page.locator(".mysfit-card")
    expect(cards).to_have_count(6)
    assert card_names(page) == names(MYSFITS)
    assert [cards.nth(i).get_attribute("data-mysfit-id") for i in range(6)] == [
        m["mysfitId"] for m in MYSFITS
    ]
    assert page.locator("body").get_attribute("data-source") == "static"
    assert page.locator("#site-stage").text_content() == "Module 1 — static site"

    # Every picture is our own SVG for the species, and it actually decoded.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.mysfit-card img')].every(i => i.complete)"
    )
    images = page.eval_on_selector_all(
        ".mysfit-card img",
        "imgs => imgs.map(i => ({src: i.getAttribute('src'), alt: i.alt, w: i.naturalWidth}))",
    )
    for mysfit, img in zip(MYSFITS, images, strict=True):
        assert img["src"] == f"images/{stem(mysfit)}.svg"
        assert img["alt"] == mysfit["name"]
        assert img["w"] > 0, f"{img['src']} did not load"

    # Per-card details.
    first = cards.first
    assert first.locator(".mysfit-species").text_content() == MYSFITS[0]["species"]
    assert first.locator(".mysfit-age").text_content() == f"Age {MYSFITS[0]['age']}"
    assert first.locator(".badge-goodevil").get_attribute("data-value") == MYSFITS[0]["goodevil"]
    assert first.locator(".badge-lawchaos").get_attribute("data-value") == MYSFITS[0]["lawchaos"]

    if os.environ.get("MYSFITS_SITE_SCREENSHOT"):
        page.screenshot(path=os.environ["MYSFITS_SITE_SCREENSHOT"], full_page=True)

    # Filter Evil: client-side with the static catalogue.
    evil = [m for m in MYSFITS if m["goodevil"] == "Evil"]
    assert 0 < len(evil) < len(MYSFITS)
    evil_button = page.locator('.filter-btn[data-filter="GoodEvil"][data-value="Evil"]')
    evil_button.click()
    expect(cards).to_have_count(len(evil))
    wait_for_state(page, "ready")
    assert card_names(page) == names(evil)
    assert set(page.locator(".mysfit-card .badge-goodevil").all_text_contents()) == {
        "Good/Evil: Evil"
    }
    assert evil_button.get_attribute("aria-pressed") == "true"
    assert page.locator(".filter-all").get_attribute("aria-pressed") == "false"

    page.locator(".filter-all").click()
    expect(cards).to_have_count(6)

    # The profile dialog shows the full story.
    chosen = MYSFITS[2]
    page.locator(f'.mysfit-card[data-mysfit-id="{chosen["mysfitId"]}"] .view-profile').click()
    dialog = page.locator("#mysfit-profile")
    expect(dialog).to_be_visible()
    assert dialog.locator(".profile-name").text_content() == chosen["name"]
    assert dialog.locator(".profile-description").text_content() == chosen["description"]
    assert dialog.locator(".profile-age").text_content() == str(chosen["age"])
    assert dialog.locator(".profile-image").get_attribute("src") == f"images/{stem(chosen)}.svg"
    # Module 1 data has no likes/adopted: those rows stay hidden rather than showing blanks.
    expect(dialog.locator(".profile-likes-row")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    assert server.requests.count("/mysfits.json") == 3  # first load, "Evil", "Show all"
    assert offsite_requests == []
    assert console_errors == []


def test_site_reads_and_filters_through_the_api(page, site, serve, offsite_requests):
    api = serve(StubMysfitsApi)
    # No mysfits.json is uploaded: the cards can only come from the API.
    server = site({"stage": 2, "mysfitsApiEndpoint": api.url})
    page.goto(server.url + "/")
    wait_for_state(page, "ready")

    cards = page.locator(".mysfit-card")
    expect(cards).to_have_count(6)
    assert card_names(page) == names(MYSFITS)
    assert page.locator("body").get_attribute("data-source") == "api"
    assert page.locator("#site-stage").text_content().startswith("Module 2")
    assert api.requests == ["/mysfits"]

    chaotic = [m for m in MYSFITS if m["lawchaos"] == "Chaotic"]
    page.locator('.filter-btn[data-filter="LawChaos"][data-value="Chaotic"]').click()
    expect(cards).to_have_count(len(chaotic))
    assert card_names(page) == names(chaotic)
    assert api.requests[-1] == "/mysfits?filter=LawChaos&value=Chaotic"

    page.locator('.filter-btn[data-filter="GoodEvil"][data-value="Good"]').click()
    expect(cards).to_have_count(len([m for m in MYSFITS if m["goodevil"] == "Good"]))
    assert api.requests[-1] == "/mysfits?filter=GoodEvil&value=Good"

    # The profile shows the module 3+ fields when the API sends them.
    coco = next(m for m in API_MYSFITS if m["name"] == "CoCo")
    page.locator(f'.mysfit-card[data-mysfit-id="{coco["mysfitId"]}"] .view-profile').click()
    dialog = page.locator("#mysfit-profile")
    expect(dialog).to_be_visible()
    assert dialog.locator(".profile-description").text_content() == coco["description"]
    assert dialog.locator(".profile-likes").text_content() == coco["likes"]
    assert "Adopted" in dialog.locator(".profile-adopted").text_content()
    dialog.locator(".profile-close").click()
    expect(dialog).to_be_hidden()

    assert not any(p.startswith("/mysfits.json") for p in server.requests)
    assert offsite_requests == []


@pytest.mark.parametrize("source", ["api-down", "static-file-missing"])
def test_unreachable_data_shows_an_alert_naming_the_url(page, site, source):
    if source == "api-down":
        base = f"http://127.0.0.1:{free_port()}"  # nothing listens there any more
        server = site({"stage": 2, "mysfitsApiEndpoint": base})
        failed_url = base + "/mysfits"
    else:
        server = site({"stage": 1})  # config says static, but mysfits.json was never uploaded
        failed_url = server.url + "/mysfits.json"

    page.goto(server.url + "/")
    wait_for_state(page, "error")
    alert = page.locator(".load-error")
    expect(alert).to_be_visible()
    assert alert.get_attribute("role") == "alert"
    assert alert.locator(".load-error-url").text_content() == failed_url
    assert page.locator(".mysfit-card").count() == 0
    expect(page.locator("#loading")).to_be_hidden()


def test_filter_with_no_match_shows_the_empty_state(page, site):
    not_good = [m for m in MYSFITS if m["goodevil"] != "Good"]
    server = site({"stage": 1}, mysfits=not_good)
    page.goto(server.url + "/")
    wait_for_state(page, "ready")
    expect(page.locator(".mysfit-card")).to_have_count(len(not_good))

    page.locator('.filter-btn[data-filter="GoodEvil"][data-value="Good"]').click()
    wait_for_state(page, "empty")
    empty = page.locator("#empty-state")
    expect(empty).to_be_visible()
    assert "Good" in empty.text_content()
    assert page.locator(".mysfit-card").count() == 0

    empty.locator("button").click()
    expect(page.locator(".mysfit-card")).to_have_count(len(not_good))
    expect(empty).to_be_hidden()


@pytest.mark.parametrize(("width", "columns"), [(375, 1), (700, 2), (1000, 3), (1400, 4)])
def test_grid_is_responsive(page, site, width, columns):
    server = site({"stage": 1}, mysfits=MYSFITS)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.url + "/")
    wait_for_state(page, "ready")
    tracks = page.eval_on_selector(
        "#mysfits-grid", "g => getComputedStyle(g).gridTemplateColumns.split(' ').length"
    )
    assert tracks == columns
    # Nothing may stick out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
