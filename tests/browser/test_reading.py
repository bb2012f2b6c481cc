"""Readers in a real browser: the main journey, accessibility, and pages without JavaScript.

Every check after a click is one of Playwright's waiting assertions (``expect``): a click that
navigates returns before the next page is there, and a one-shot read races it on a busy machine.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_accessibility_violations

JS_ENABLED = re.compile(r"(^|\s)js-enabled(\s|$)")  # the class the site's external script adds


def _url_with(*parts: str, without: str | None = None) -> re.Pattern[str]:
    """A URL pattern that holds every part, in any order (and not ``without``)."""
    lookaheads = "".join(f"(?=.*{re.escape(part)})" for part in parts)
    if without is not None:
        lookaheads += f"(?!.*{re.escape(without)})"
    return re.compile("^" + lookaheads)


def test_home_to_theme_to_entry(page, server):
    page.goto(server + "/")
    expect(page).to_have_title("Pioneer Knowledge Base")
    page.get_by_role("link", name="Data sharing", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Data sharing")
    barriers = page.locator("section.kb-side--barrier")
    expect(barriers).to_contain_text("What got in the way")
    first_barrier = barriers.locator("li a").first
    title = first_barrier.inner_text()  # the theme page is there: its h1 was waited for
    first_barrier.click()
    expect(page.locator("h1")).to_have_text(title)
    tags = page.locator(".kb-tag-list li")
    expect(tags.filter(has_text=re.compile("Barrier")).filter(has_text=re.compile("Data sharing"))).not_to_have_count(0)


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
    page.goto(server + path)  # returns once the page's load event has fired
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
    page.wait_for_load_state("networkidle")  # every request the page makes has been answered
    assert failed == []
    # NHS blue: the design system's CSS is applied.
    expect(page.locator("header.nhsuk-header")).to_have_css("background-color", "rgb(0, 94, 184)")
    expect(page.locator("body")).to_have_class(JS_ENABLED)


def test_facets_and_typed_filters_work_without_javascript(page_without_js, server):
    page = page_without_js
    page.goto(server + "/search")
    page.locator("#filters > summary").click()  # the filters are behind "Filter results"
    page.locator("#facet-type").get_by_role("link", name="Evaluation evidence").click()
    expect(page).to_have_url(_url_with("type=evidence"))
    page.locator("#filters > summary").click()
    page.locator("#facet-polarity").get_by_role("link", name="Barrier").click()
    expect(page).to_have_url(_url_with("type=evidence", "polarity=barrier"))
    expect(page.locator("#active-filters")).to_contain_text("Type: Evaluation evidence")
    page.wait_for_load_state()  # the whole list is there before it is counted
    cards = page.locator("main li.nhsuk-card")
    expect(cards).not_to_have_count(0)
    for i in range(cards.count()):
        expect(cards.nth(i)).to_contain_text("Evaluation evidence")
    page.get_by_role("link", name="remove type filter").first.click()
    expect(page).to_have_url(_url_with("polarity=barrier", without="type="))

    page.fill("#search-q", "site:sheffield budget")
    page.locator("form.kb-search-form button[type=submit]").click()
    expect(page).to_have_url(_url_with("site=sheffield", "q=budget"))
    expect(page.locator("#active-filters")).to_contain_text("Site: Sheffield")
    expect(page.locator("main li.nhsuk-card mark")).not_to_have_count(0)


def test_header_search_without_javascript(page_without_js, server):
    page = page_without_js
    page.goto(server + "/themes/")  # the home page has its own search box instead of the header's
    page.fill("#search-field", "volunteers")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=volunteers$"))
    expect(page.locator("h1")).to_contain_text("Search results for “volunteers”")
    expect(page.locator("main li.nhsuk-card")).not_to_have_count(0)


def test_pages_break_no_content_security_policy_rule(page, server):
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    for path in ("/", "/search?q=care", "/sites", "/themes", "/glossary"):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")  # every script and style has run or been refused
    assert violations == []
    expect(page.locator("body")).to_have_class(JS_ENABLED)  # the external script ran
