"""Feeds in a real browser: a member makes private feed addresses without JavaScript (the page
is axe-clean), a search page's feed link opens a feed, and revoking stops the address."""

from __future__ import annotations

import feedparser
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations


def _sign_in(page, server) -> None:  # noqa: ANN001
    page.goto(server + "/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS["editor"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _feed(page, url: str):  # noqa: ANN001
    response = page.request.get(url)
    assert response.status == 200, (url, response.status)
    return feedparser.parse(response.body())


def test_a_search_page_links_a_feed_of_that_search(page, server):
    page.goto(server + "/search?type=evidence&polarity=barrier")
    link = page.locator(".kb-get-updates").get_by_role("link", name="feed of entries matching this search", exact=True)
    href = link.get_attribute("href")
    assert href == "/feeds/search.atom?type=evidence&polarity=barrier"
    parsed = _feed(page, server + href)
    assert not parsed.bozo and parsed.entries
    assert all(any(t.term.endswith("/barrier") for t in e.tags) for e in parsed.entries)


def test_a_member_makes_uses_and_revokes_private_feed_addresses_without_javascript(page_without_js, server):
    page = page_without_js
    _sign_in(page, server)
    page.goto(server + "/account/feeds")
    expect(page.locator("h1")).to_have_text("Your private feeds")
    page.get_by_role("button", name="Make my private feed addresses").click()
    expect(page.locator(".nhsuk-summary-list")).to_contain_text("/feeds/m/")
    address = page.locator("a.kb-feed-address").first.get_attribute("href")
    path = address[address.index("/feeds/m/"):]  # KB_BASE_URL is not this test server's address
    assert not _feed(page, server + path).bozo

    page.goto(server + "/search?q=care")
    members = page.locator(".kb-get-updates").get_by_role("link", name="your members' feed", exact=False)
    assert members.get_attribute("href").startswith(path.split("/entries.atom")[0] + "/search.atom")

    page.goto(server + "/account/feeds")
    page.get_by_role("button", name="Stop my private feeds").click()
    expect(page.locator("main")).to_contain_text("You have no private feed addresses")
    assert page.request.get(server + path).status == 404


def test_the_private_feeds_page_has_no_serious_accessibility_violations(page, server):
    _sign_in(page, server)
    page.goto(server + "/account/feeds")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Make my private feed addresses").click()
    expect(page.locator("a.kb-feed-address").first).to_be_visible()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Stop my private feeds").click()
    expect(page.locator("main")).to_contain_text("You have no private feed addresses")
