"""An administrator marks a site's page as reviewed: the form is accessible at a phone's and a
desktop's width, and the site's page then says when it was last reviewed."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations


def _sign_in_as_admin(page, server, then: str) -> None:  # noqa: ANN001
    page.goto(server + "/sign-in?next=" + then)
    page.get_by_label("Email address").fill(ACCOUNTS["admin"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server + then)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_theme_form_with_its_reviewed_box_is_accessible(page, server, width):
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in_as_admin(page, server, "/admin/themes/data-sharing/edit")
    expect(page.locator("h1")).to_have_text("Edit Data sharing")
    expect(page.get_by_label("I have checked that the name and definition are still right")).not_to_be_checked()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []


@pytest.mark.parametrize("ticked", [True, False])
def test_a_site_added_with_the_box_ticked_says_it_was_reviewed_today_and_one_without_does_not(page, server, ticked):
    slug = f"testford-{'checked' if ticked else 'unchecked'}"
    _sign_in_as_admin(page, server, "/admin/sites/new")
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Slug").fill(slug)
    page.get_by_label("Name").fill(slug.replace("-", " ").title())
    page.get_by_label("Kind of site").select_option("associate")
    page.get_by_label("Region").fill("London")
    page.get_by_label("Summary").fill("A site made by a browser test.")
    if ticked:
        page.get_by_label("I have checked that everything on this site's page is still right").check()
    page.get_by_role("button", name="Add site").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("created")
    page.goto(server + f"/sites/{slug}")
    if ticked:
        today = datetime.now(timezone.utc).date()
        expect(page.locator("#page-reviewed")).to_have_text(
            re.compile(rf"^Page last reviewed: {today.day} {today.strftime('%B %Y')}$"))
    else:
        expect(page.locator("h1")).to_contain_text("Testford")
        expect(page.locator("#page-reviewed")).to_have_count(0)
