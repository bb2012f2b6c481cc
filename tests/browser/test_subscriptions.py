"""Subscriptions in a real browser: a reader signs in from a search page, saves the search,
finds it on the subscriptions page (axe-clean) and its preview, and opens the search's feed."""

from __future__ import annotations

import feedparser
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations

SEARCH = "/search?type=evidence&polarity=barrier"


def test_a_member_saves_a_search_finds_it_and_opens_its_feed_without_javascript(page_without_js, server):
    page = page_without_js
    page.goto(server + SEARCH)
    # Signed out: the subscribe box asks to sign in, and comes back here afterwards.
    page.locator("#subscribe").get_by_role("link", name="Sign in to get email updates").click()
    page.get_by_label("Email address").fill(ACCOUNTS["lead"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    assert page.url == server + SEARCH

    page.locator("#subscribe").get_by_role("button", name="Save this search").click()
    expect(page.locator("h1")).to_have_text("Your subscriptions")
    expect(page.locator("main")).to_contain_text("Subscribed: “Search: type evidence, polarity barrier”")
    card = page.locator(".kb-subscription").filter(has_text="Search: type evidence, polarity barrier")
    expect(card).to_have_count(1)
    assert card.get_by_role("link", name="see the entries").get_attribute("href") == SEARCH

    card.get_by_role("link", name="See what the next email would hold").click()
    expect(page.locator("#preview-period")).to_contain_text("(when you subscribed)")

    # Back on the search page: saved, not offered again; its feed opens.
    page.goto(server + SEARCH)
    expect(page.locator("#subscribe")).to_contain_text("You get email updates of entries matching this search")
    href = page.locator(".kb-get-updates").get_by_role(
        "link", name="feed of entries matching this search", exact=True).get_attribute("href")
    response = page.request.get(server + href)
    parsed = feedparser.parse(response.body())
    assert response.status == 200 and not parsed.bozo and parsed.entries
    assert all(any(t.term.endswith("/barrier") for t in e.tags) for e in parsed.entries)


def test_the_subscriptions_page_has_no_serious_accessibility_violations(page, server):
    page.goto(server + "/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS["lead"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    page.goto(server + "/themes/information-governance")  # signed in: a follow button per side
    expect(page.locator("form.kb-follow-form")).to_have_count(3)
    assert serious_accessibility_violations(page) == []
    page.goto(server + "/sites/sheffield")
    page.locator("#subscribe").get_by_role("button", name="Follow Sheffield").click()
    expect(page.locator("main")).to_contain_text("Subscribed: “Sheffield”")
    expect(page.locator(".kb-subscription").first).to_be_visible()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    page.locator(".kb-subscription").first.get_by_role("link", name="See what the next email would hold").click()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
