"""A lead's review with context, in a real browser: Sheffield's editor reworks an entry and submits
it through "Check your entry" with a note; Sheffield's lead sees who submitted it and the note,
opens the changes since the last published version in one click, comes back by the breadcrumb,
confirms publication, and the editor is emailed. Every page of the path passes axe at a phone's
width and a desktop's, and on a phone the entry's work panel comes before its body.

Every check after a click is one of Playwright's waiting assertions (``expect``).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import ACCOUNTS, serious_accessibility_violations
from tests.browser.test_authoring import _sign_in, _sign_out

SLUG = "sheffield-intermediate-care-specification"  # published, public, used by no other browser test
TITLE = "One outcomes-based specification for intermediate care"
ENTRY = "/entries/" + SLUG
NOTE = "Added the 2016 audit. Please check the last paragraph."
PHONE, DESKTOP = {"width": 375, "height": 812}, {"width": 1280, "height": 800}
# Nothing if the page fits the window's width; else (a page a phone would scroll sideways) the
# first elements whose right edge is past the window's, to say what is too wide.
WIDER_THAN_THE_SCREEN = """() => document.documentElement.scrollWidth <= window.innerWidth ? [] :
    [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))
    .slice(0, 5)"""


def _accessible_at_both_widths(page) -> None:  # noqa: ANN001
    """axe finds nothing serious at 375 and at 1280 px, and nothing is wider than the phone's screen."""
    page.wait_for_load_state()  # axe reads the whole page: let it finish loading first
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        assert serious_accessibility_violations(page) == [], f"at {size['width']} px"
        if size is PHONE:
            assert page.evaluate(WIDER_THAN_THE_SCREEN) == [], "wider than a phone's screen"


def _panel_comes_before_the_body_on_a_phone(page) -> None:  # noqa: ANN001
    page.set_viewport_size(PHONE)
    panel, body = page.locator("#entry-actions"), page.locator(".kb-prose")
    expect(panel).to_be_visible()
    assert panel.bounding_box()["y"] < body.bounding_box()["y"]
    page.set_viewport_size(DESKTOP)


def test_a_lead_reviews_with_the_note_and_the_changes_then_confirms_and_the_editor_is_told(page, live_site):
    server = live_site.base
    page.set_viewport_size(DESKTOP)

    # The lead takes the published entry back to draft so that the editor can rework it.
    _sign_in(page, server, "lead")
    page.goto(server + ENTRY)
    page.get_by_role("button", name="Return to draft").click()
    expect(page.locator("#entry-status")).to_contain_text("Draft")
    _sign_out(page)

    # The editor adds a paragraph and submits the entry through "Check your entry", with a note.
    _sign_in(page, server, "editor")
    page.goto(server + ENTRY + "/edit")
    body = page.locator("#body")
    body.fill(body.input_value().rstrip() + "\n\nA kestrel audit in 2016 confirmed the savings.\n")
    page.get_by_role("button", name="Save changes").first.click()
    expect(page).to_have_url(server + ENTRY)
    # The draft says who returned it (the lead left no note this time).
    expect(page.locator("#return-context")).to_contain_text("By Sheffield lead")
    expect(page.locator("#return-note-text")).to_have_text("They left no note.")
    _panel_comes_before_the_body_on_a_phone(page)
    _accessible_at_both_widths(page)
    page.get_by_role("button", name="Check and submit for review").click()
    expect(page.locator("h1")).to_have_text("Check your entry before you submit it")
    expect(page.locator("#check-title")).to_contain_text(TITLE)
    expect(page.locator("#check-title a")).to_have_attribute("href", ENTRY + "/edit#title")
    expect(page.locator("#check-themes")).to_contain_text("Enabler")
    _accessible_at_both_widths(page)
    page.get_by_label("Note to the site's leads (optional)").fill(NOTE)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#entry-status")).to_contain_text("In review")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)  # editors cannot publish
    _sign_out(page)

    # The lead opens the entry: who submitted it, when, and their note, above the entry's body.
    _sign_in(page, server, "lead")
    page.goto(server + ENTRY)
    expect(page.locator("#review-submitter")).to_have_text("Sheffield editor")
    expect(page.locator("#review-note-text")).to_have_text(NOTE)
    _panel_comes_before_the_body_on_a_phone(page)
    _accessible_at_both_widths(page)

    # The changes since the last published version are one click away.
    page.get_by_role("link", name=re.compile("^See changes since the last published version")).click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^Changes between revisions \d+ and \d+$"))
    expect(page.locator("#diff-body ins")).to_contain_text("kestrel")
    _accessible_at_both_widths(page)
    # The breadcrumb leads back to the entry (Home › entry › History).
    crumbs = page.locator(".nhsuk-breadcrumb__list")
    expect(crumbs.get_by_role("link")).to_have_text(["Home", TITLE, "History"])
    crumbs.get_by_role("link", name="History").click()
    expect(page.locator("h1")).to_have_text("Revision history")
    _accessible_at_both_widths(page)  # the history table fits a phone's screen
    page.locator(".nhsuk-breadcrumb__list").get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(server + ENTRY)

    # Publish asks first: what, at which revision, and who will be able to read it.
    page.locator("#entry-actions").get_by_role("button", name="Publish").click()
    expect(page.locator("h1")).to_have_text("Publish this entry?")
    expect(page.locator("#publication-audience")).to_contain_text("Everyone")
    expect(page.locator("#publication")).to_contain_text("Sheffield editor")
    _accessible_at_both_widths(page)
    page.locator("#confirm-publish").get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published. Readers can now find this entry.")).to_be_visible()
    expect(page.locator("#entry-status")).to_have_count(0)
    expect(page.locator("#review-context")).to_have_count(0)
    _sign_out(page)

    # The editor was emailed (sent after the publishing response: waited for).
    published = live_site.email(ACCOUNTS["editor"], f"Published: {TITLE}")
    text = " ".join(published.get_body(("plain",)).get_content().split())
    assert "Sheffield lead has published the entry you submitted for review" in text
    assert server + ENTRY in text
    # Readers find the new paragraph.
    page.goto(server + ENTRY)
    expect(page.locator(".kb-prose")).to_contain_text("A kestrel audit in 2016")


def test_the_confirmation_works_without_javascript_and_cancel_publishes_nothing(page_without_js, server):
    page = page_without_js
    _sign_in(page, server, "lead")
    page.goto(server + "/entries/sheffield-admissions-impact-not-proven")
    page.get_by_role("button", name="Return to draft").click()
    expect(page.locator("#entry-status")).to_contain_text("Draft")
    page.locator("#entry-actions").get_by_role("button", name="Publish").click()
    expect(page.locator("h1")).to_have_text("Publish this entry?")
    page.locator("#confirm-publish").get_by_role("link", name="Cancel").click()
    expect(page.locator("#entry-status")).to_contain_text("Draft")  # nothing was published
    page.locator("#entry-actions").get_by_role("button", name="Publish").click()
    page.locator("#confirm-publish").get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published. Readers can now find this entry.")).to_be_visible()
    expect(page.locator("#entry-status")).to_have_count(0)
