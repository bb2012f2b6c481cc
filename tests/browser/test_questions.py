"""Questions in a real browser: the best bet shows above the results on a desktop and a phone, is
accessible, works without JavaScript, and "Did you mean" inside a longer search leads to results.

Every check after a click is one of Playwright's waiting assertions (``expect``).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_accessibility_violations

QUESTION = "how did areas get past information governance problems"


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (375, 812)])
def test_the_best_bet_for_a_question_shows_above_the_results_and_is_accessible(page, server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server + "/search?" + urlencode({"q": QUESTION}))
    best_bet = page.locator("#best-bet")
    expect(best_bet).to_be_visible()
    expect(best_bet.get_by_role("heading", name="Best bet")).to_be_visible()
    theme_link = best_bet.get_by_role("link", name="Information governance: what got in the way")
    expect(theme_link).to_have_attribute("href", "/themes/information-governance#barrier-heading")
    first_result = page.locator("#results li").first
    expect(first_result).to_be_visible()
    assert best_bet.bounding_box()["y"] < first_result.bounding_box()["y"]
    box = best_bet.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # no sideways scrolling on a phone
    assert serious_accessibility_violations(page) == []

    best_bet.get_by_role("link", name=re.compile(r"^\d+ entries where it got in the way")).click()
    expect(page).to_have_url(re.compile(r"/search\?(?=.*theme=information-governance)(?=.*polarity=barrier)"))
    expect(page.locator("#results li").first).to_be_visible()


def test_the_best_bet_works_without_javascript(page_without_js, server):
    page_without_js.goto(server + "/search?" + urlencode({"q": "data sharing barriers"}))
    best_bet = page_without_js.locator("#best-bet")
    best_bet.get_by_role("link", name="Data sharing: what got in the way").click()
    expect(page_without_js.locator("h1")).to_have_text("Data sharing")
    expect(page_without_js).to_have_url(re.compile(r"/themes/data-sharing#barrier-heading$"))


def test_did_you_mean_inside_a_longer_search_links_to_a_search_that_finds_results(page, server):
    page.goto(server + "/search?" + urlencode({"q": "infomation governance"}))
    suggestion = page.locator("#did-you-mean").get_by_role("link", name="information governance", exact=True)
    expect(suggestion).to_be_visible()
    assert serious_accessibility_violations(page) == []
    suggestion.click()
    expect(page.locator("h1")).to_have_text("Search results for “information governance”")
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^[1-9]\d* entr"))
    expect(page.locator("#results li").first).to_be_visible()
    expect(page.locator("#best-bet")).to_contain_text("Information governance")
