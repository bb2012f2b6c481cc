"""The public-service pages, the home page's search box, back links on a phone, and print, in a
real browser: accessible at a phone's and a desktop's width, with and without JavaScript, and by
keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_accessibility_violations

PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
ENTRY = "/entries/sheffield-pooled-budget"
LINK_AFTER = """() => Array.from(document.querySelectorAll('main a[href], footer a[href], header a[href]'))
    .map(a => getComputedStyle(a, '::after').content)"""


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("path", ["/", "/accessibility", "/privacy", "/cookies", "/feedback",
                                  "/how-we-rate-evidence", ENTRY])
def test_public_pages_have_no_serious_accessibility_violations(page, server, path, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(server + path)
    expect(page.locator(".kb-phase-banner")).to_contain_text("This is a new service.")
    assert serious_accessibility_violations(page) == []


def test_the_home_search_box_is_above_the_fold_on_a_phone_and_searches(page, server):
    page.set_viewport_size(PHONE)
    page.goto(server + "/")
    box = page.get_by_label("Search the knowledge base")
    expect(box).to_have_count(1)
    expect(box).to_be_in_viewport()
    bounds = box.bounding_box()
    assert bounds["y"] + bounds["height"] <= PHONE["height"]
    assert bounds["width"] >= PHONE["width"] / 2  # room to type, beside its button
    expect(page.get_by_role("button", name="Search")).to_be_in_viewport()
    box.fill("care navigator")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=care\+navigator$"))
    expect(page.locator("main li.nhsuk-card")).not_to_have_count(0)


def test_on_a_phone_the_back_link_replaces_the_breadcrumbs_and_leads_to_the_parent(page, server):
    page.set_viewport_size(PHONE)
    page.goto(server + ENTRY)
    expect(page.locator(".nhsuk-breadcrumb__list")).to_be_hidden()
    back = page.locator(".nhsuk-breadcrumb .nhsuk-back-link")
    expect(back).to_be_visible()
    expect(back).to_have_text("Back to Case studies")
    back.click()
    expect(page).to_have_url(re.compile(r"/search\?type=case_study$"))


def test_on_a_desktop_the_breadcrumbs_show_and_the_back_link_does_not(page, server):
    page.set_viewport_size(DESKTOP)
    page.goto(server + "/themes/data-sharing")
    expect(page.locator(".nhsuk-breadcrumb__list")).to_be_visible()
    expect(page.locator(".nhsuk-breadcrumb .nhsuk-back-link")).to_be_hidden()


def test_printing_shows_no_addresses_after_links_and_leaves_out_navigation(page, server):
    page.set_viewport_size(DESKTOP)
    page.goto(server + ENTRY)
    expect(page.locator(".nhsuk-header__navigation")).to_be_visible()
    on_screen = page.evaluate(LINK_AFTER)
    assert on_screen  # there are links to check
    page.emulate_media(media="print")
    expect(page.locator(".nhsuk-header__navigation")).to_be_hidden()
    for hidden in (".nhsuk-header__search", ".kb-phase-banner", ".nhsuk-footer__list", ".kb-print",
                   ".nhsuk-breadcrumb"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#sources")).to_be_visible()
    printed = page.evaluate(LINK_AFTER)
    assert [content for content in printed if "Link" in content or "attr" in content or "/" in content] == []


def test_the_print_link_prints_with_javascript(page, server):
    page.add_init_script("window.print = () => { window.kbPrinted = true }")  # no real dialogue
    page.goto(server + ENTRY)
    link = page.get_by_role("link", name="Print this page")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_function("window.kbPrinted === true")
    expect(page).not_to_have_url(re.compile("#print$"))  # the click did not follow the link


def test_the_print_link_is_absent_without_javascript(page_without_js, server):
    page_without_js.goto(server + ENTRY)
    expect(page_without_js.locator("h1")).not_to_be_empty()
    expect(page_without_js.get_by_role("link", name="Print this page")).to_be_hidden()


def test_the_feedback_form_works_by_keyboard_alone(page, server):
    page.set_viewport_size(DESKTOP)
    page.goto(server + "/feedback")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")
    for _ in range(60):  # through the header and the phase banner to the form's first field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "doing":
            break
    expect(page.locator("#doing")).to_be_focused()
    page.keyboard.type("Reading an entry on my phone")
    page.keyboard.press("Tab")
    expect(page.locator("#problem")).to_be_focused()
    page.keyboard.type("The sources list was hard to scan")
    page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send feedback")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/feedback/sent$"))
    expect(page.locator("h1")).to_have_text("Thank you for your feedback")
    assert serious_accessibility_violations(page) == []


def test_feedback_errors_are_summarised_without_javascript(page_without_js, server):
    page = page_without_js
    page.goto(server + "/feedback")
    page.get_by_label("What were you doing?").fill("Looking for evidence")
    page.get_by_role("button", name="Send feedback").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter what went wrong or what could be better")
    expect(page.get_by_label("What were you doing?")).to_have_value("Looking for evidence")
    expect(page).to_have_title(re.compile("^Error: "))
    summary.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile("#problem$"))
