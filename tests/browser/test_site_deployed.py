"""The site as module 1 deploys it to the local cloud, loaded in a real browser."""

from mysfits_lab.steps import website


def test_the_deployed_site_shows_six_mysfit_cards(lab, page, offsite_requests, console_errors):
    website.build(lab)
    url = lab.outputs.get("website.url")
    page.goto(f"{url}/")
    page.wait_for_selector("body[data-state='ready']", timeout=15_000)
    cards = page.locator("article.mysfit-card")
    assert cards.count() == 6
    names = [cards.nth(i).locator(".mysfit-name").inner_text() for i in range(6)]
    assert names == ["Evangeline", "Pauly", "CoCo", "Gretta", "Snowflake", "Gary"]
    # Pictures load after the cards render: wait for them before measuring.
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.mysfit-image')].every(i => i.complete)"
    )
    widths = page.eval_on_selector_all("img.mysfit-image", "imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths)
    assert page.locator("#site-stage").inner_text().startswith("Module 1")
    assert offsite_requests == [] and console_errors == []


def test_the_site_is_forbidden_in_the_browser_without_the_policy(lab, page):
    website.build(lab)
    website.remove_public_read(lab, lab.outputs.get("website.bucket"))
    try:
        response = page.goto(f"{lab.outputs.get('website.url')}/")
        assert response.status == 403
        assert page.locator("article.mysfit-card").count() == 0
    finally:
        website.allow_public_read(lab, lab.outputs.get("website.bucket"))


def test_after_module_2a_the_site_lists_the_mysfits_served_by_the_api(lab, page, console_errors):
    from mysfits_lab.steps import service

    website.build(lab)
    service.build(lab)
    api_calls = []
    page.on("request", lambda request: api_calls.append(request.url))
    page.goto(f"{lab.outputs.get('website.url')}/")
    page.wait_for_selector("body[data-state='ready']", timeout=15_000)
    assert page.locator("body").get_attribute("data-source") == "api"
    assert page.locator("article.mysfit-card").count() == 6
    assert f"{lab.outputs.get('service.url')}/mysfits" in api_calls
    page.locator(".filter-btn[data-filter='GoodEvil'][data-value='Good']").click()
    # CoCo is the only Good one of the six; wait for the filtered list, not a state flag that
    # may not have left "ready" yet.
    page.wait_for_function("() => document.querySelectorAll('article.mysfit-card').length === 1")
    assert page.locator("article.mysfit-card .mysfit-name").inner_text() == "CoCo"
    assert f"{lab.outputs.get('service.url')}/mysfits?filter=GoodEvil&value=Good" in api_calls
    assert console_errors == []
