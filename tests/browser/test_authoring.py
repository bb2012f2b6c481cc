"""Pioneer staff in a real browser: an editor writes and submits an entry, the site's lead
publishes it, and readers find it through search and on the site's page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ACCOUNTS, PASSWORD, serious_accessibility_violations

TITLE = "Quokka discharge to assess in Sheffield"


def _sign_in(page, server, role: str) -> None:  # noqa: ANN001
    page.goto(server + "/sign-in")
    page.get_by_label("Email address").fill(ACCOUNTS[role])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    assert page.get_by_role("button", name="Sign out").is_visible()


def _sign_out(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("link", name="Sign in").first.is_visible()


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
    assert page.locator("h1").inner_text() == "New entry"
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
    preview.locator("strong").wait_for()
    assert preview.locator("strong").inner_text() == "quokka"
    assert preview.locator("h2").inner_text() == "How it works"
    assert preview.locator("script, img[onerror]").count() == 0
    assert page.locator("#title").input_value() == TITLE  # the preview kept everything typed

    page.get_by_role("button", name="Save draft").click()
    assert page.locator("h1").inner_text() == TITLE
    assert "Draft" in page.locator("#entry-status").inner_text()
    slug_path = page.url.removeprefix(server)
    assert re.fullmatch(r"/entries/quokka-discharge-to-assess-in-sheffield", slug_path)

    page.get_by_label("Note to the site's leads (optional)").fill("Ready for review, thanks")
    page.get_by_role("button", name="Submit for review").click()
    assert "In review" in page.locator("#entry-status").inner_text()
    assert page.get_by_role("button", name="Publish").count() == 0  # editors cannot publish
    _sign_out(page)

    # Readers cannot see it yet.
    assert page.goto(server + slug_path).status == 404

    _sign_in(page, server, "lead")
    page.get_by_role("link", name="Your entries").click()
    page.get_by_role("link", name=TITLE).first.click()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Publish").click()
    assert page.locator("#entry-status").count() == 0  # published: no status warning any more
    _sign_out(page)

    page.goto(server + "/search?q=quokka")
    results = page.locator("#results")
    assert results.get_by_role("link", name=TITLE).is_visible()
    page.goto(server + "/sites/sheffield")
    page.locator("main").get_by_role("link", name=TITLE).click()
    assert page.locator("h1").inner_text() == TITLE
    assert page.locator(".kb-prose strong").inner_text() == "quokka"


def test_the_editor_previews_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in(page, server, "editor")
        page.goto(server + "/entries/new?site=sheffield")
        page.locator("#title").fill("Preview without scripts")
        page.locator("#body").fill("Some *emphasis* here.")
        page.get_by_role("button", name="Preview").first.click()
        assert page.locator("#preview-content em").inner_text() == "emphasis"
        assert page.locator("#title").input_value() == "Preview without scripts"
    finally:
        context.close()
