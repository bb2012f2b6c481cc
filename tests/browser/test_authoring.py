"""Pioneer staff in a real browser: an editor writes and submits an entry, the site's lead
publishes it, and readers find it through search and on the site's page.

Every check after a click is one of Playwright's waiting assertions (``expect``): a click that
navigates returns before the next page is there, and a one-shot read races it on a busy machine.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations

TITLE = "Quokka discharge to assess in Sheffield"
SLUG_PATH = "/entries/quokka-discharge-to-assess-in-sheffield"


def _sign_in(page, server, role: str) -> None:  # noqa: ANN001
    page.goto(server + "/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS[role])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _sign_out(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


@pytest.fixture
def no_dialogs(page):
    """Fails the test if any script the page runs opens a dialog (an injected alert())."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    yield page
    assert opened == []


def test_an_editor_writes_an_entry_a_lead_publishes_it_and_readers_find_it(no_dialogs, server):
    page = no_dialogs
    _sign_in(page, server, "editor")

    page.goto(server + "/sites/sheffield")
    page.get_by_role("link", name="Write an entry for Sheffield").click()
    expect(page.locator("h1")).to_have_text("Write an entry")
    page.wait_for_load_state()  # axe reads the whole page: let it finish loading first
    assert serious_accessibility_violations(page) == []

    page.locator("#title").fill(TITLE)
    page.locator("#summary").fill("Patients leave hospital the day they are ready and are assessed at home.")
    page.get_by_label("Intervention", exact=True).check()
    page.locator("#themes-0-theme").select_option("leadership")
    page.locator("#themes-0-polarity").select_option("enabler")
    page.locator("#themes-0-note").fill("One director owned the pathway")
    page.locator("#sources-0-title").fill("Sheffield discharge review, 2015")
    page.locator("#body").fill(
        "# How it works\n\nA **quokka** team visits on the day of discharge.\n\n"
        "<img src=x alt=\"\" onerror=alert(1)><script>alert(2)</script>"
    )

    page.get_by_role("button", name="Preview").first.click()
    preview = page.locator("#preview-content")
    expect(preview.locator("h1")).to_have_text(TITLE)  # the whole entry, as readers will see it
    expect(preview.locator(".kb-prose strong")).to_have_text("quokka")
    expect(preview.locator(".kb-prose h2")).to_have_text("How it works")
    expect(preview.locator("script, img[onerror]")).to_have_count(0)
    expect(page.locator("#title")).to_have_value(TITLE)  # the preview kept everything typed

    page.get_by_role("button", name="Save draft").first.click()
    expect(page).to_have_url(re.compile("^" + re.escape(server + SLUG_PATH) + "$"))
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator("#entry-status")).to_contain_text("Draft")

    page.get_by_role("button", name="Check and submit for review").click()
    expect(page.locator("h1")).to_have_text("Check your entry before you submit it")
    page.get_by_label("Note to the site's leads (optional)").fill("Ready for review, thanks")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#entry-status")).to_contain_text("In review")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)  # editors cannot publish
    _sign_out(page)

    # Readers cannot see it yet.
    assert page.goto(server + SLUG_PATH).status == 404

    _sign_in(page, server, "lead")
    page.get_by_role("link", name="Your entries").click()
    expect(page.locator("h1")).to_have_text("Your entries")
    page.get_by_role("link", name=TITLE).first.click()
    expect(page).to_have_url(server + SLUG_PATH)
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.get_by_role("button", name="Publish")).to_be_visible()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("h1")).to_have_text("Publish this entry?")
    page.locator("#confirm-publish").get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published. Readers can now find this entry.")).to_be_visible()
    expect(page.locator("#entry-status")).to_have_count(0)  # published: no status warning any more
    _sign_out(page)

    page.goto(server + "/search?q=quokka")
    results = page.locator("#results")
    expect(results.get_by_role("link", name=TITLE)).to_be_visible()
    page.goto(server + "/sites/sheffield")
    page.locator("main").get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(server + SLUG_PATH)
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator(".kb-prose strong")).to_have_text("quokka")


def test_the_editor_previews_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in(page, server, "editor")
        page.goto(server + "/entries/new?site=sheffield")
        page.locator("#title").fill("Preview without scripts")
        page.locator("#body").fill("Some *emphasis* here.")
        page.get_by_role("button", name="Preview").first.click()
        expect(page.locator("#preview-content .kb-prose em")).to_have_text("emphasis")
        expect(page.locator("#title")).to_have_value("Preview without scripts")
    finally:
        context.close()


def test_entries_due_for_review_are_found_from_your_entries_and_the_page_is_accessible(page, server):
    _sign_in(page, server, "admin")  # an administrator: every site's entries
    page.get_by_role("link", name="Your entries").click()
    page.locator("#due-for-review a").click()
    expect(page.locator("h1")).to_have_text("Entries due for review")
    rows = page.locator("#due tbody tr")
    expect(rows.first).to_be_visible()
    dates = [date.fromisoformat(value) for value in page.eval_on_selector_all(
        "#due tbody tr td:first-child time", "times => times.map(t => t.getAttribute('datetime'))")]
    assert dates == sorted(dates) and dates[-1] <= date.today()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []
    _sign_out(page)
