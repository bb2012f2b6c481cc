"""Evidence strength where readers choose, and results first on a phone (issue 14), in a real
browser at a phone's width (375 px) and a desktop's (1280 px).

Every check after a click is one of Playwright's waiting assertions (``expect``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_accessibility_violations

PHONE, DESKTOP = 375, 1280
WIDTHS = [PHONE, DESKTOP]
QUESTION = "/search?q=information+governance"
LEWIS = "/entries/network-lewis-2021-decade-of-national-pilots"  # qualitative, strength 2
STRENGTH_TEXT = re.compile(r"^Strength [1-5] of 5$")


def _at_width(page, width: int) -> None:  # noqa: ANN001 - Page
    page.set_viewport_size({"width": width, "height": 800})


def _focused_id(page) -> str:  # noqa: ANN001 - Page
    return page.evaluate("document.activeElement && (document.activeElement.id || document.activeElement.textContent.trim())")


def test_count_and_first_result_are_above_the_fold_on_a_phone(page, server):
    _at_width(page, PHONE)
    page.goto(server + QUESTION)
    first = page.locator("#results > li.nhsuk-card").first
    expect(first).to_be_visible()
    count, card = page.locator("#result-count").bounding_box(), first.bounding_box()
    assert count["y"] < card["y"] < 900, (count, card)
    # The filters are folded away on a phone, and the disclosure says so.
    expect(page.locator("#filters > summary")).to_contain_text("Filter results")
    expect(page.locator("#facet-type")).to_be_hidden()


@pytest.mark.parametrize("width", WIDTHS)
def test_skip_to_results_is_among_the_first_tab_stops_and_moves_focus_to_the_results(page, server, width):
    _at_width(page, width)
    page.goto(server + QUESTION)
    skip = page.get_by_role("link", name="Skip to results")
    for _ in range(3):  # "Skip to main content" first, then "Skip to results"
        page.keyboard.press("Tab")
        if _focused_id(page) == "Skip to results":
            break
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("#search-results")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the results, past the search form and filters
    assert page.evaluate("document.getElementById('search-results').contains(document.activeElement)")


@pytest.mark.parametrize("width", WIDTHS)
def test_result_cards_show_type_and_the_strength_of_evidence_as_a_scale_and_in_words(page, server, width):
    _at_width(page, width)
    page.goto(server + QUESTION + "&sort=strength")
    expect(page.locator("#sort")).to_have_value("strength")
    cards = page.locator("#results > li.nhsuk-card")
    expect(cards.first).to_contain_text("Evaluation evidence")
    strength = cards.first.locator(".kb-strength")
    expect(strength).to_be_visible()
    # Screen readers hear "Strength n of 5", not the dots.
    expect(strength.locator(".kb-strength__dots")).to_have_attribute("aria-hidden", "true")
    expect(strength.locator(".kb-strength__dots")).to_have_text(re.compile(r"^[●○]{5}$"))
    name = strength.evaluate("n => [...n.childNodes].filter(c => !(c.getAttribute && c.getAttribute('aria-hidden'))).map(c => c.textContent).join('').trim()")
    assert STRENGTH_TEXT.match(name), name
    # Every card names its type, evidence or not.
    for i in range(cards.count()):
        expect(cards.nth(i).locator(".nhsuk-tag").first).to_have_text(re.compile("Case study|Intervention|Evaluation evidence"))


def test_filters_disclosure_opens_and_filters_without_javascript(page_without_js, server):
    page = page_without_js
    _at_width(page, PHONE)
    page.goto(server + QUESTION)
    expect(page.locator("#facet-type")).to_be_hidden()
    page.locator("#filters > summary").click()
    expect(page.locator("#facet-type")).to_be_visible()
    page.locator("#facet-type").get_by_role("link", name="Evaluation evidence").click()
    expect(page).to_have_url(re.compile(r"type=evidence"))
    expect(page.locator("#active-filters")).to_contain_text("Type: Evaluation evidence")
    expect(page.locator("#filters > summary")).to_have_text(re.compile(r"Filter results \(1 active\)"))
    page.locator("#active-filters").get_by_role("link", name="remove type filter").click()
    expect(page).not_to_have_url(re.compile(r"type=evidence"))


@pytest.mark.parametrize("width, shown", [(PHONE, False), (DESKTOP, True)])
def test_filters_are_open_beside_the_results_on_wide_screens_only(page, server, width, shown):
    _at_width(page, width)
    page.goto(server + QUESTION)
    page.wait_for_load_state("networkidle")  # static/js/filters.js has run
    facet = page.locator("#facet-type")
    expect(facet).to_be_visible() if shown else expect(facet).to_be_hidden()


@pytest.mark.parametrize("width", WIDTHS)
def test_evidence_box_is_above_the_body_and_links_to_how_we_rate_evidence(page, server, width):
    _at_width(page, width)
    page.goto(server + LEWIS)
    box = page.locator("#evidence-summary")
    expect(box).to_contain_text("How strong is this evidence?")
    expect(box.locator("#evidence-strength")).to_contain_text("Strength 2 of 5")
    first_paragraph = page.locator(".kb-prose p").first
    assert box.bounding_box()["y"] < first_paragraph.bounding_box()["y"]
    box.get_by_role("link", name="How we rate evidence").click()
    expect(page).to_have_url(re.compile(r"/how-we-rate-evidence$"))


@pytest.mark.parametrize("path", [QUESTION, "/themes/information-governance", "/sites/sheffield", LEWIS,
                                  "/entries/cornwall-isles-of-scilly-living-well-reported-outcomes"])
def test_pages_with_strength_and_tables_fit_a_phone_screen(page, server, path):
    _at_width(page, PHONE)
    page.goto(server + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    for table in page.locator("main table").all():
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE, (path, box)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", [QUESTION, QUESTION + "&type=evidence&sort=strength", "/search",
                                  "/themes/information-governance", "/themes/housing", "/sites/sheffield", LEWIS])
def test_pages_with_strength_and_filters_have_no_serious_accessibility_violations(page, server, path, width):
    _at_width(page, width)
    page.goto(server + path)
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == []
