"""The site after module 3, in a real browser: the 12 mysfits of the DynamoDB table come from the
API, and each filter button finds, through the API, as many mysfits as the table's index does."""

from mysfits_lab.steps import data


def test_after_module_3_the_site_lists_the_tables_mysfits_and_each_filter_finds_its_count(
    lab, page, console_errors
):
    lab.prepare("03-data")  # 01, 02a and 02b: the site, the service and its pipeline
    data.build(lab)  # the table, its 12 mysfits, the service switched through the pipeline
    # What the check cell computes from the table: a Query on each index.
    counts = data.index_counts(lab)
    assert counts == data.expected_counts()
    api = lab.outputs.get("service.url").rstrip("/")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{lab.outputs.get('website.url')}/")
    page.wait_for_selector("body[data-state='ready']", timeout=15_000)
    assert page.locator("body").get_attribute("data-source") == "api"
    assert page.locator("#site-stage").inner_text().startswith("Module 3")
    cards = page.locator("article.mysfit-card")
    assert cards.count() == data.count_items(lab) == 12
    names = cards.locator(".mysfit-name").all_inner_texts()
    assert sorted(names) == sorted(item["Name"]["S"] for item in data.mysfit_items())
    assert f"{api}/mysfits" in requested

    for name, values in counts.items():
        axis = name.lower()  # the card's badge: .badge-goodevil / .badge-lawchaos
        for value, expected in values.items():
            button = page.locator(f".filter-btn[data-filter='{name}'][data-value='{value}']")
            url = f"{api}/mysfits?filter={name}&value={value}"
            with page.expect_response(url) as answer:
                button.click()  # the page shows "loading" until it has drawn the answer
            assert answer.value.status == 200
            page.wait_for_selector("body[data-state='ready']", timeout=15_000)
            assert button.get_attribute("aria-pressed") == "true"
            assert cards.count() == expected, f"{name}={value}"
            badges = cards.locator(f".badge-{axis}").evaluate_all(
                "badges => badges.map(b => b.dataset.value)"
            )
            assert badges == [value] * expected, f"{name}={value}"

    page.locator(".filter-btn.filter-all").click()
    page.wait_for_selector("body[data-state='ready']", timeout=15_000)
    assert cards.count() == 12
    assert console_errors == []
