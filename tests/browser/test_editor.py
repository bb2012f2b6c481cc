"""The entry editor in a real browser, at a phone's width and a desktop's, as Sheffield's editor:
it shows only what applies (the evidence section for evidence, with and without JavaScript; not
the entry's own site among "other sites"), Enter in the title saves rather than previews, focus
goes to the error summary after a failed save, dates are typed as day, month and year, and the
editor, its errors and its preview pass axe.

Every check after a click is one of Playwright's waiting assertions (``expect``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_accessibility_violations
from tests.browser.test_authoring import _sign_in

WIDTHS = [375, 1280]


@pytest.fixture(scope="module")
def editor_session(browser, server):  # noqa: ANN001, ANN201
    """The signed-in editor's cookies, signed in once for the module (sign-in is rate limited)."""
    context = browser.new_context()
    try:
        _sign_in(context.new_page(), server, "editor")
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def editor_page(browser, editor_session):  # noqa: ANN001, ANN201
    """``page`` (conftest), signed in as Sheffield's editor."""
    context = browser.new_context(storage_state=editor_session)
    yield context.new_page()
    context.close()


@pytest.fixture
def editor_page_without_js(browser, editor_session):  # noqa: ANN001, ANN201
    """``page_without_js`` (conftest), signed in as Sheffield's editor."""
    context = browser.new_context(storage_state=editor_session, java_script_enabled=False)
    yield context.new_page()
    context.close()


def _open_new_entry(page, server, width: int) -> None:  # noqa: ANN001
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server + "/entries/new?site=sheffield")
    expect(page.locator("h1")).to_have_text("Write an entry")


def _fill_required(page, title: str) -> None:  # noqa: ANN001
    page.locator("#title").fill(title)
    page.locator("#summary").fill("A short summary of what the entry is about.")
    page.locator("#themes-0-theme").select_option("leadership")
    page.locator("#themes-0-polarity").select_option("enabler")
    page.locator("#themes-0-note").fill("One director owned the pathway")
    page.locator("#sources-0-title").fill("Sheffield review")


@pytest.mark.parametrize("width", WIDTHS)
def test_with_javascript_the_evidence_section_shows_only_for_evidence_and_the_own_site_is_not_offered(
        editor_page, server, width):
    page = editor_page
    _open_new_entry(page, server, width)
    section = page.locator("[data-evidence-section]")
    expect(section).to_be_hidden()
    expect(page.get_by_role("button", name="Show the fields for this type")).to_be_hidden()  # needed without JS only
    page.get_by_label("Evaluation evidence", exact=True).check()
    expect(section).to_be_visible()
    expect(page.get_by_label("Study design")).to_be_visible()
    page.get_by_label("Intervention", exact=True).check()
    expect(section).to_be_hidden()

    page.get_by_text("Other sites involved (optional)").click()  # a closed disclosure: most involve none
    others = page.locator("[data-other-sites]")
    expect(others.get_by_label("Leeds", exact=True)).to_be_visible()
    expect(others.get_by_label("Sheffield", exact=True)).to_be_hidden()
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_without_javascript_the_evidence_section_shows_only_for_evidence(editor_page_without_js, server, width):
    page = editor_page_without_js
    _open_new_entry(page, server, width)
    section = page.locator("[data-evidence-section]")
    expect(section).to_be_hidden()
    expect(page.locator("[data-other-sites]").get_by_label("Sheffield", exact=True)).to_be_hidden()
    page.locator("#title").fill("Evidence typed without scripts")
    page.get_by_label("Evaluation evidence", exact=True).check()
    page.get_by_role("button", name="Show the fields for this type").click()
    expect(section).to_be_visible()
    expect(page.get_by_label("Evaluation evidence", exact=True)).to_be_checked()
    expect(page.locator("#title")).to_have_value("Evidence typed without scripts")
    page.get_by_label("Intervention", exact=True).check()
    page.get_by_role("button", name="Show the fields for this type").click()
    expect(section).to_be_hidden()
    # No axe run here: axe is a script, and this browser runs none (the same markup is checked
    # with scripts on in the other tests).


@pytest.mark.parametrize("width", WIDTHS)
def test_outcomes_typed_for_an_intervention_are_refused_with_a_message_and_kept(editor_page, server, width):
    page = editor_page
    _open_new_entry(page, server, width)
    _fill_required(page, f"Outcomes for an intervention at {width}")
    page.get_by_label("Evaluation evidence", exact=True).check()
    page.locator("#outcomes-0-measure").select_option("other")
    page.locator("#outcomes-0-measure_other").fill("Delayed discharges")
    page.locator("#outcomes-0-value").fill("-34%")
    page.get_by_label("Intervention", exact=True).check()  # changed their mind: the outcome is still typed
    page.get_by_role("button", name="Save draft").first.click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Outcome 1: The outcome is only for evidence entries")
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator("[data-evidence-section]")).to_be_visible()  # the message is in view
    expect(page.locator("#outcomes-0-measure_other")).to_have_value("Delayed discharges")
    expect(page.locator("#outcomes-0-value")).to_have_value("-34%")
    assert serious_accessibility_violations(page) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_enter_in_the_title_saves_and_shows_what_is_missing_instead_of_previewing(editor_page, server, width):
    page = editor_page
    _open_new_entry(page, server, width)
    page.locator("#title").fill("Enter pressed in the title")
    page.locator("#title").press("Enter")
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter a summary")
    expect(page.locator("#preview")).to_be_hidden()  # not a preview
    expect(page.locator("#title")).to_have_value("Enter pressed in the title")


@pytest.mark.parametrize("width", WIDTHS)
def test_without_javascript_a_failed_save_puts_the_error_summary_at_the_top(editor_page_without_js, server, width):
    page = editor_page_without_js
    _open_new_entry(page, server, width)
    page.locator("#title").fill("No scripts, missing summary")
    page.locator("#title").press("Enter")
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter a summary")
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator("#preview")).to_be_hidden()
    heading = page.locator("h1").bounding_box()
    box = summary.bounding_box()
    assert box is not None and heading is not None and box["y"] < heading["y"]
    assert page.locator("main [role=alert]").count() == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_dates_are_typed_as_day_month_and_year_and_the_preview_shows_the_whole_entry(editor_page, server, width):
    page = editor_page
    title = f"Dates typed in parts at {width}"
    _open_new_entry(page, server, width)
    _fill_required(page, title)
    page.get_by_label("Case study", exact=True).check()
    review = page.get_by_role("group", name="Review-by date (optional)")
    review.get_by_label("Day").fill("1")
    review.get_by_label("Month").fill("6")
    review.get_by_label("Year").fill("2027")
    source_date = page.get_by_role("group", name="Date of the source (optional)")
    source_date.get_by_label("Month").fill("4")
    source_date.get_by_label("Year").fill("2015")
    page.locator("#sources-0-url").fill("www.example.org/sheffield-review")

    page.get_by_role("button", name="Preview the whole entry").first.click()
    preview = page.locator("#preview-content")
    expect(preview.locator("h1")).to_have_text(title)
    expect(preview).to_contain_text("1 June 2027")
    expect(preview.get_by_role("link", name="Sheffield review")).to_have_attribute(
        "href", "https://www.example.org/sheffield-review")
    duplicated = page.evaluate("""() => {
        const ids = [...document.querySelectorAll('[id]')].map((element) => element.id)
        return ids.filter((id, i) => ids.indexOf(id) !== i)
    }""")
    assert duplicated == []  # the preview's ids (the entry page's) never clash with the editor's
    page.wait_for_load_state()
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Save draft").first.click()
    expect(page.locator("main h1")).to_have_text(title)
    page.get_by_role("link", name="Edit this entry").click()
    review = page.get_by_role("group", name="Review-by date (optional)")
    expect(review.get_by_label("Day")).to_have_value("1")
    expect(review.get_by_label("Year")).to_have_value("2027")
    review.get_by_label("Day").fill("31")  # 31 June
    page.get_by_role("button", name="Save changes").first.click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Review-by date must be a real date, for example 1 6 2027")
    expect(page.get_by_role("group", name="Review-by date (optional)").get_by_label("Day")).to_have_value("31")
    assert serious_accessibility_violations(page) == []
