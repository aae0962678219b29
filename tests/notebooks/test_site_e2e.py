"""The site after the workbook's run, in Chromium, against the real local cloud: a new visitor
registers, confirms with the code Cognito emailed (read from the outbox), signs in, likes and
adopts a mysfit through API Gateway, and signs out; the likes and the adoption are in the table.

No request routing here: Playwright would answer the CORS preflights itself, and this test is
meant to see the browser's real cross-origin checks between the website, the edge (Cognito)
and the API stage — three origins.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from mysfits_lab import outbox
from mysfits_lab.outputs import OutputsStore
from mysfits_lab.paths import learner_dir

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, in CI) with the reason
    expect = None

PASSWORD = "Mysfits-2026!"


@pytest.fixture
def outputs(executed_workbook) -> OutputsStore:
    assert executed_workbook.ok, executed_workbook.failed
    return OutputsStore(learner_dir("mysfit") / "outputs.json", "mysfit")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    offsite: list[str] = []
    errors: list[str] = []
    context.on(
        "request",
        lambda r: (
            offsite.append(r.url)
            if urlsplit(r.url).hostname not in ("127.0.0.1", "localhost", None)
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    new_page = context.new_page()
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield new_page
    context.close()
    assert not offsite, f"the site fetched from elsewhere: {offsite}"
    assert not errors, errors


def _item(outputs: OutputsStore, mysfit_id: str) -> dict:
    from mysfits_lab import Lab

    lab = Lab.connect()
    key = {"MysfitId": {"S": mysfit_id}}
    return lab.client("dynamodb").get_item(TableName=outputs.get("data.table"), Key=key)["Item"]


def _not_adopted(outputs: OutputsStore) -> str:
    from mysfits_lab import Lab

    items = Lab.connect().client("dynamodb").scan(TableName=outputs.get("data.table"))["Items"]
    free = [i for i in items if not i.get("Adopted", {}).get("BOOL")]
    return sorted(i["MysfitId"]["S"] for i in free)[0]


def _code(edge_url: str, email: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return outbox.latest_code(edge_url, email)
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_visitor_registers_confirms_signs_in_likes_adopts_and_signs_out(outputs, page):
    email = f"visitor{int(time.time())}@example.com"
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{outputs.get('website.url')}/")
    page.wait_for_selector("body[data-state='ready']", timeout=20_000)
    assert page.locator("#site-stage").inner_text().startswith("Module 7")
    assert page.locator(".like-btn").count() == 0

    page.locator("#register-btn").click()
    register = page.locator("#register-dialog")
    register.locator("#register-email").fill(email)
    register.locator("#register-password").fill(PASSWORD)
    register.locator("#register-password2").fill(PASSWORD)
    expect(register.locator('.password-rules li[data-ok="false"]')).to_have_count(0)
    register.locator("#register-submit").click()
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_be_visible(timeout=15_000)

    edge = outputs.get("users.endpoint")
    code = _code(edge, email)
    confirm.locator("#confirm-code").fill("000000" if code != "000000" else "111111")
    confirm.locator("#confirm-submit").click()
    expect(confirm.locator(".form-error")).to_be_visible(timeout=10_000)  # a wrong code
    confirm.locator("#confirm-code").fill(code)
    confirm.locator("#confirm-submit").click()
    sign_in = page.locator("#sign-in-dialog")
    expect(sign_in).to_be_visible(timeout=10_000)
    sign_in.locator("#sign-in-email").fill(email)
    sign_in.locator("#sign-in-password").fill(PASSWORD)
    sign_in.locator("#sign-in-submit").click()
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "true", timeout=10_000)
    expect(page.locator("#account-email")).to_have_text(email)

    # Like a mysfit nobody adopted yet: the count the API answers is shown and stored.
    mysfit_id = _not_adopted(outputs)
    card = page.locator(f"article.mysfit-card[data-mysfit-id='{mysfit_id}']")
    before = int(_item(outputs, mysfit_id).get("Likes", {"N": "0"})["N"])
    like = card.locator("button.like-btn")
    like.click()
    expect(like.locator(".like-count")).to_have_text(str(before + 1), timeout=10_000)
    assert int(_item(outputs, mysfit_id)["Likes"]["N"]) == before + 1
    api = outputs.get("api.url")
    assert f"{api}/mysfits/{mysfit_id}/like" in requested

    adopt = card.locator("button.adopt-btn")
    adopt.click()
    expect(adopt).to_have_attribute("data-adopted", "true", timeout=10_000)
    expect(adopt).to_be_disabled()
    assert _item(outputs, mysfit_id)["Adopted"] == {"BOOL": True}

    page.locator("#sign-out-btn").click()
    expect(page.locator("#account")).to_have_attribute("data-signed-in", "false")
    expect(page.locator(".like-btn")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('mysfits-session')") is None


def test_profile_views_become_enriched_clicks_in_s3(outputs, page):
    from collections import Counter

    from mysfits_lab import Lab
    from mysfits_lab.steps import clicks
    from mysfits_lab.waiting import wait_until

    lab = Lab.connect()

    def guest_counts() -> Counter:
        return Counter(
            c["mysfitId"] for c in clicks.delivered_clicks(lab) if c["userId"] == "guest"
        )

    before = guest_counts()
    page.goto(f"{outputs.get('website.url')}/")
    page.wait_for_selector("body[data-state='ready']", timeout=20_000)
    assert page.locator("#site-stage").inner_text().startswith("Module 7")
    cards = page.locator("article.mysfit-card")
    viewed = []
    for index in range(3):
        card = cards.nth(index)
        viewed.append(card.get_attribute("data-mysfit-id"))
        card.locator(".view-profile").click()
        expect(page.locator("#mysfit-profile")).to_be_visible()
        expect(page.locator("body")).to_have_attribute(
            "data-clicks-sent", str(index + 1), timeout=10_000
        )
        page.keyboard.press("Escape")
    wanted = Counter(viewed)
    wait_until(
        lambda: all(guest_counts()[m] >= before[m] + n for m, n in wanted.items()),
        "the three profile views to land in S3",
        timeout=60,
    )
    enriched = [c for c in clicks.delivered_clicks(lab) if c["mysfitId"] in wanted]
    assert all(c["species"] and c["goodevil"] and c["lawchaos"] for c in enriched)


def test_a_question_from_the_contact_form_reaches_the_staffs_inbox(outputs, page):
    from mysfits_lab import Lab
    from mysfits_lab.steps import questions

    text = f"Can a mysfit learn to juggle? ({time.time():.0f})"
    page.goto(f"{outputs.get('website.url')}/")
    page.wait_for_selector("body[data-state='ready']", timeout=20_000)
    page.locator("#contact-btn").click()
    dialog = page.locator("#contact-dialog")
    dialog.locator("#contact-email").fill("browser.visitor@example.com")
    dialog.locator("#contact-question").fill(text)
    dialog.locator("#contact-submit").click()
    expect(dialog.locator(".form-notice")).to_be_visible(timeout=15_000)
    mail = questions.wait_for_mail(Lab.connect(), text)
    assert "browser.visitor@example.com" in mail["subject"]
    assert text in mail["body"]


def test_the_questionnaire_recommends_the_endpoints_mysfit(outputs, page):
    from mysfits_lab.steps import recommendations

    page.goto(f"{outputs.get('website.url')}/")
    page.wait_for_selector("body[data-state='ready']", timeout=20_000)
    page.locator("#recommend-btn").click()
    dialog = page.locator("#recommend-dialog")
    answers = [2, 7, 3, 5, 1]
    for index, value in enumerate(answers):
        dialog.locator(f"fieldset.question[data-index='{index}'] input[value='{value}']").check()
    dialog.locator("#recommend-submit").click()
    shown = dialog.locator(".recommendation")
    expect(shown).to_be_visible(timeout=15_000)
    ids = {m["mysfitId"] for m in recommendations.catalogue()}
    assert shown.get_attribute("data-mysfit-id") in ids
