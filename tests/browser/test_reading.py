"""Readers in a real browser: the main journey, accessibility, and pages without JavaScript."""

from __future__ import annotations

import pytest

from tests.browser.conftest import serious_accessibility_violations


def test_home_to_theme_to_entry(page, server):
    page.goto(server + "/")
    assert page.title() == "Pioneer Knowledge Base"
    page.get_by_role("link", name="Data sharing", exact=True).first.click()
    assert page.locator("h1").inner_text() == "Data sharing"
    barriers = page.locator("section.kb-side--barrier")
    assert "What got in the way" in barriers.inner_text()
    first_barrier = barriers.locator("li a").first
    title = first_barrier.inner_text()
    first_barrier.click()
    assert page.locator("h1").inner_text() == title
    tags = page.locator(".kb-tag-list li")
    assert tags.count() >= 1
    assert any("Barrier" in tags.nth(i).inner_text() and "Data sharing" in tags.nth(i).inner_text() for i in range(tags.count()))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/entries/cornwall-isles-of-scilly-living-well-reported-outcomes",
        "/entries/sheffield-pooled-budget",
        "/sites/",
        "/sites/sheffield",
        "/themes/",
        "/themes/information-governance",
        "/search",
        "/search?type=evidence&polarity=barrier",
        "/search?q=care+navigator",
        "/search?q=teleheatlh",
        "/glossary",
        "/entries/does-not-exist",
        "/search?page=abc",
    ],
)
def test_pages_have_no_serious_accessibility_violations(page, server, path):
    page.goto(server + path)
    assert serious_accessibility_violations(page) == []


def test_nhs_styles_scripts_and_icons_load(page, server):
    # Only this server's files: the NHS.UK CSS also asks assets.nhs.uk for the Frutiger font,
    # which this sandbox cannot reach (pages fall back to Arial).
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url) if request.url.startswith(server) else None)
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(server + "/")
    page.set_viewport_size({"width": 400, "height": 800})  # narrow: the header menu uses icons
    page.goto(server + "/search")
    page.wait_for_load_state("networkidle")
    assert failed == []
    header_colour = page.locator("header.nhsuk-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(0, 94, 184)"  # NHS blue: the design system's CSS is applied
    assert "js-enabled" in page.locator("body").get_attribute("class")


def test_facets_and_typed_filters_work_without_javascript(page_without_js, server):
    page = page_without_js
    page.goto(server + "/search")
    page.locator("#facet-type").get_by_role("link", name="Evaluation evidence").click()
    page.locator("#facet-polarity").get_by_role("link", name="Barrier").click()
    assert "type=evidence" in page.url and "polarity=barrier" in page.url
    assert "Type: Evaluation evidence" in page.locator("#active-filters").inner_text()
    cards = page.locator("main li.nhsuk-card")
    assert cards.count() >= 1
    for i in range(cards.count()):
        assert "Evaluation evidence" in cards.nth(i).inner_text()
    page.get_by_role("link", name="remove type filter").first.click()
    assert "type=" not in page.url and "polarity=barrier" in page.url

    page.fill("#search-q", "site:sheffield budget")
    page.locator("form.kb-search-form button[type=submit]").click()
    assert "site=sheffield" in page.url and "q=budget" in page.url
    assert "Site: Sheffield" in page.locator("#active-filters").inner_text()
    assert page.locator("main li.nhsuk-card mark").count() >= 1


def test_header_search_without_javascript(page_without_js, server):
    page = page_without_js
    page.goto(server + "/")
    page.fill("#search-field", "volunteers")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=volunteers")
    assert "Search results for “volunteers”" in page.locator("h1").inner_text()
    assert page.locator("main li.nhsuk-card").count() >= 1


def test_pages_break_no_content_security_policy_rule(page, server):
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    for path in ("/", "/search?q=care", "/sites", "/themes", "/glossary"):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
    assert violations == []
    assert "js-enabled" in page.locator("body").get_attribute("class")  # the external script ran
