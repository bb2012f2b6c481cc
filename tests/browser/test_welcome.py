"""The page an accepted invitation leads to: next steps that work, at a phone's and a desktop's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations


@pytest.mark.parametrize("width", [375, 1280])
def test_the_welcome_page_offers_writing_for_the_editors_site_and_is_accessible(page, server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server + "/sign-in?next=/account/welcome")
    page.get_by_label("Email address").fill(ACCOUNTS["editor"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your account is ready")
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Write an entry for Sheffield").click()
    expect(page.locator("h1")).to_have_text("Write an entry")
