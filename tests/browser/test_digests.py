"""Unsubscribing from digests in a real browser, without JavaScript and without signing in:
the link's page asks first (a GET changes nothing), its button stops the emails; both pages
are axe-clean. The administrators' digest page lists runs and failures, axe-clean too."""

from __future__ import annotations

import hashlib

from itsdangerous import URLSafeSerializer
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations

SECRET = "browser-tests"  # the server's KB_SECRET_KEY (tests/browser/conftest.py)


def _link(server: str, user_id: int) -> str:
    signer = URLSafeSerializer(SECRET, salt="kb.digests.unsubscribe", signer_kwargs={"digest_method": hashlib.sha256})
    return f"{server}/unsubscribe/{signer.dumps([user_id, 0])}"


def _lead_link(page, server: str) -> str:  # noqa: ANN001
    # The link in a digest to the Sheffield lead (accounts are made in order: editor, then lead).
    for user_id in range(1, 6):
        page.goto(_link(server, user_id))
        if ACCOUNTS["lead"] in page.locator("main").inner_text():
            return page.url
    raise AssertionError("no account of the lead's among the first ids")


def test_the_unsubscribe_link_asks_then_stops_all_digests_without_javascript(page_without_js, server):
    page = page_without_js
    _lead_link(page, server)
    expect(page.locator("h1")).to_have_text("Stop all digest emails?")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("h1")).to_have_text("Unsubscribed")
    expect(page.locator("#unsubscribed")).to_contain_text(f"You will get no more digest emails at {ACCOUNTS['lead']}")


def test_the_unsubscribe_pages_have_no_serious_accessibility_violations(page, server):
    _lead_link(page, server)
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("h1")).to_have_text("Unsubscribed")
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []


def test_the_administrators_digest_page_lists_runs_and_failures_and_is_accessible(page, server):
    page.goto(server + "/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS["admin"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(server + "/admin/digests")
    expect(page.locator("h1")).to_have_text("Email digests")
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs tbody tr")).to_contain_text("07 Dec 2026, 07:00:00")
    expect(page.locator("#failures tbody tr")).to_contain_text(ACCOUNTS["editor"])
    expect(page.locator("#failures tbody tr")).to_contain_text("No such mailbox here")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
