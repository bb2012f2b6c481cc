"""The entry editor shows only what applies: evidence only for evidence (refused elsewhere, with
a message, never dropped), the entry's own site not offered as another site, dates typed as day,
month and year with messages that name the field, https:// added to web addresses, the web
address of a new entry cut at a word boundary and shown before the first save, and a preview of
the whole entry as readers will see it, sanitised like the entry page and never saved."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from kb import textcheck
from kb.extensions import db
from kb.models import Entry, Revision
from kb.services.authoring import slug_for
from tests.app.test_authoring import (PAYLOADS, count, draft, errors_of, form_values, new_entry_form,
                                      summary_links, token, world)  # noqa: F401 - world is a fixture
from tests.app.test_evidence_display import DESIGN_WORDS
from tests.inertness import problems_in

OUTCOME = {"outcomes__0__measure": "other", "outcomes__0__measure_other": "Delayed discharges",
           "outcomes__0__direction": "decrease", "outcomes__0__value": "-34%"}


def soup(response) -> BeautifulSoup:  # noqa: ANN001
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def evidence_section(page: BeautifulSoup):  # noqa: ANN201
    return page.select_one("[data-evidence-section]")


# --- evidence only for evidence --------------------------------------------------------------------


def test_the_evidence_section_is_hidden_for_an_intervention_and_shown_for_evidence(world):
    client = world.app.test_client(user=world.editor)
    new = soup(client.get("/entries/new?site=leeds"))
    assert evidence_section(new).has_attr("hidden")  # no type chosen yet
    assert not new.select_one("[data-evidence-note]").has_attr("hidden")
    refreshed = soup(client.post("/entries/new", data=new_entry_form(client, type="evidence", action="refresh")))
    assert not evidence_section(refreshed).has_attr("hidden")
    assert refreshed.select_one("[data-evidence-note]").has_attr("hidden")
    intervention = soup(client.post("/entries/new", data=new_entry_form(client, type="intervention", action="refresh")))
    assert evidence_section(intervention).has_attr("hidden")


def test_outcomes_for_an_intervention_are_refused_with_a_message_naming_the_field_and_kept(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, type="intervention", design="before_after", **OUTCOME)
    response = client.post("/entries/new", data=values)
    assert response.status_code == 400 and count(Entry) == 0
    errors = errors_of(response.get_data(as_text=True))
    assert errors["design"].startswith("Study design is only for evidence entries")
    assert errors["outcomes-0-measure"].startswith("The outcome is only for evidence entries")
    page = soup(response)
    assert not evidence_section(page).has_attr("hidden")  # what was typed, and why it was refused, in view
    assert "#design" in summary_links(response.get_data(as_text=True))
    kept = form_values(response.get_data(as_text=True))
    assert (kept["design"], kept["outcomes-0-measure_other"], kept["outcomes-0-value"]) == (
        "before_after", "Delayed discharges", "-34%")
    # Cleared, the same entry saves, with no evidence.
    again = new_entry_form(client, type="intervention")
    assert client.post("/entries/new", data=again).status_code == 302
    saved = db.session.scalar(select(Entry))
    assert saved.evidence_design is None and saved.outcomes == []


def test_an_evidence_entry_keeps_its_outcomes(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, type="evidence", design="before_after", strength="2",
                            provenance="self_reported", **OUTCOME)
    assert client.post("/entries/new", data=values).status_code == 302
    saved = db.session.scalar(select(Entry))
    assert [(o.measure, o.value) for o in saved.outcomes] == [("Delayed discharges", "-34%")]


# --- other sites --------------------------------------------------------------------------------


def test_the_entrys_own_site_is_not_offered_as_another_site(world):
    client = world.app.test_client(user=world.editor)
    page = soup(client.get("/entries/new?site=leeds"))
    offered = {item["data-site"]: item.has_attr("hidden") for item in page.select("[data-other-sites] [data-site]")}
    assert offered == {"leeds": True, "york": False}
    response = client.post("/entries/new", data=new_entry_form(client, other_sites=["leeds", "york"]))
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True))["other_sites"] == (
        "Other sites involved: untick Leeds, which is the entry’s own site")
    shown = soup(response).select_one('[data-other-sites] [data-site="leeds"]')
    assert not shown.has_attr("hidden") and shown.select_one("input").has_attr("checked")  # so it can be unticked


# --- dates ----------------------------------------------------------------------------------------


def test_dates_typed_as_day_month_and_year_are_saved_as_dates(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, **{"review_by-day": "1", "review_by-month": "6", "review_by-year": "2027",
                                       "sources-0-date-day": "", "sources-0-date-month": "4",
                                       "sources-0-date-year": "2015", "sources__0__date": ""})
    assert client.post("/entries/new", data=values).status_code == 302
    saved = db.session.scalar(select(Entry))
    assert saved.review_by.isoformat() == "2027-06-01" and saved.sources[0].date == "2015-04"
    page = soup(client.get(f"/entries/{saved.slug}/edit"))
    assert [page.select_one(f"#review_by-{p}")["value"] for p in ("day", "month", "year")] == ["1", "6", "2027"]
    assert [page.select_one(f"#sources-0-date-{p}")["value"] for p in ("day", "month", "year")] == ["", "4", "2015"]


@pytest.mark.parametrize(("parts", "message", "first_box"), [
    (("", "6", "2027"), "Review-by date must include a day", "day"),
    (("1", "", ""), "Review-by date must include a month and year", "month"),
    (("30", "2", "2027"), "Review-by date must be a real date, for example 1 6 2027", "day"),
    (("1", "6", "27"), "Review-by date: the year must have 4 numbers, for example 2027", "year"),
    (("x", "y", "z"), "Review-by date must be a real date, for example 1 6 2027", "day"),
])
def test_a_wrong_date_gets_a_message_naming_the_field_and_keeps_what_was_typed(world, parts, message, first_box):
    client = world.app.test_client(user=world.editor)
    day, month, year = parts
    values = new_entry_form(client, **{"review_by-day": day, "review_by-month": month, "review_by-year": year})
    response = client.post("/entries/new", data=values)
    assert response.status_code == 400 and count(Entry) == 0
    html = response.get_data(as_text=True)
    assert errors_of(html)["review_by"] == message
    assert f"#review_by-{first_box}" in summary_links(html)
    page = soup(response)
    assert [page.select_one(f"#review_by-{p}")["value"] for p in ("day", "month", "year")] == list(parts)
    assert "nhsuk-input--error" in page.select_one(f"#review_by-{first_box}")["class"]


def test_a_source_date_needs_a_year_and_a_day_needs_a_month(world):
    client = world.app.test_client(user=world.editor)
    for parts, message in ((("", "4", ""), "Date of the source must include a year"),
                           (("3", "", "2015"), "Date of the source must include a month")):
        values = new_entry_form(client, **dict(zip(("sources-0-date-day", "sources-0-date-month",
                                                    "sources-0-date-year"), parts)), sources__0__date="")
        response = client.post("/entries/new", data=values)
        assert response.status_code == 400
        assert errors_of(response.get_data(as_text=True))["sources-0-date"] == message
        assert f"Source 1: {message}" in soup(response).select_one(".nhsuk-error-summary").get_text()


# --- web addresses --------------------------------------------------------------------------------


def test_a_web_address_without_https_gets_it_and_a_script_address_is_refused(world):
    client = world.app.test_client(user=world.editor)
    assert client.post("/entries/new", data=new_entry_form(client, sources__0__url="www.example.org/x")).status_code == 302
    assert db.session.scalar(select(Entry)).sources[0].url == "https://www.example.org/x"
    for hostile in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:alert(1)"):
        response = client.post("/entries/new", data=new_entry_form(client, title="Another entry", sources__0__url=hostile))
        assert response.status_code == 400, hostile
        assert errors_of(response.get_data(as_text=True))["sources-0-url"].startswith(
            "Enter the web address of the source, like https://www.example.org/report")
        assert form_values(response.get_data(as_text=True))["sources-0-url"] == hostile  # kept as typed
    assert count(Entry) == 1


# --- web address of a new entry -------------------------------------------------------------------


def test_a_long_title_makes_a_web_address_cut_at_a_word_boundary(world):
    title = "Integrated discharge to assess across acute community and social care services in the city region"
    slug = slug_for(title)
    assert len(slug) <= 70 and title.lower().replace(" ", "-").startswith(slug)
    assert slug == "integrated-discharge-to-assess-across-acute-community-and-social-care"
    assert slug_for("x" * 90) == "x" * 70  # one long word is cut where it must be


def test_the_web_address_is_shown_before_the_first_save_and_says_it_cannot_change(world):
    client = world.app.test_client(user=world.editor)
    response = client.post("/entries/new", data=new_entry_form(client, title="Joint discharge team", action="refresh"))
    page = soup(response)
    assert " ".join(page.select_one("#entry-address").get_text().split()) == "Web address: /entries/joint-discharge-team"
    assert "You cannot change it after the first save" in page.select_one("#slug-hint").get_text()
    assert count(Entry) == 0
    edit_page = soup(client.get(f"/entries/{draft(world).slug}/edit"))
    assert edit_page.select_one("#entry-address") is None and edit_page.select_one("#slug") is None


# --- preview ----------------------------------------------------------------------------------------


def test_preview_shows_the_whole_entry_as_readers_will_see_it_and_saves_nothing(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, type="evidence", design="before_after", strength="2",
                            provenance="self_reported", other_sites=["york"], action="preview", **OUTCOME)
    response = client.post("/entries/new", data=values)
    assert response.status_code == 200 and count(Entry) == 0 and count(Revision) == 0
    shown = soup(response).select_one("#preview-content")
    assert shown.select_one("h1").get_text() == "Joint discharge team"
    assert "A joint team of nurses and social workers." in shown.select_one(".nhsuk-lede-text").get_text()
    assert "Evaluation evidence" in shown.get_text() and "Leeds" in shown.get_text() and "York" in shown.get_text()
    assert "Both chief executives backed it" in shown.get_text()  # the theme tag's reason
    assert shown.select_one("#evidence-summary") is not None and "Delayed discharges" in shown.get_text()
    assert [a["href"] for a in shown.select("a[href='https://example.org/report']")]  # the source
    assert shown.select_one(".kb-prose strong").get_text() == "daily"
    assert shown.select_one("#entry-actions") is None  # no workflow panel in a preview


def test_preview_is_sanitised_like_the_entry_page(world):
    client = world.app.test_client(user=world.editor)
    body = "\n\n".join(p for p in PAYLOADS if textcheck.problem(p, multiline=True) is None)
    hostile_title = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    values = new_entry_form(client, title=hostile_title, summary="<svg onload=alert(1)>",
                            themes__0__note="<a href=javascript:alert(1)>x</a>", body=body, action="preview")
    response = client.post("/entries/new", data=values)
    shown = soup(response).select_one("#preview-content")
    assert shown.select_one("h1").get_text() == hostile_title  # text, not markup
    assert shown.select("script, svg, img[onerror], [onload], [onerror]") == []
    assert not [a for a in shown.select("a[href]") if a["href"].lower().startswith(("javascript:", "data:"))]
    assert problems_in(shown.select_one(".kb-prose").decode_contents()) == []
    assert count(Entry) == 0


def test_the_live_preview_renders_the_whole_posted_form(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, type="intervention", title="Live title")
    response = client.post("/entries/preview", data=values, headers={"X-CSRFToken": token(client)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    fragment = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert fragment.select_one("h1").get_text() == "Live title" and "Intervention" in fragment.get_text()
    assert count(Entry) == 0


# --- buttons ---------------------------------------------------------------------------------------


def test_the_first_submit_button_of_the_editor_saves(world):
    """Enter in a one-line box submits the form with its first submit button: it must save."""
    client = world.app.test_client(user=world.editor)
    for url in ("/entries/new?site=leeds", f"/entries/{draft(world).slug}/edit"):
        first = soup(client.get(url)).select_one("form.kb-editor button[type=submit]")
        assert (first["name"], first["value"]) == ("action", "save"), url
        assert not first.has_attr("formaction")


# --- the date of the work and why the evidence has its strength ----------------------------------


def test_the_date_of_the_work_and_the_reason_for_the_strength_are_the_editors_to_give(world):
    client = world.app.test_client(user=world.editor)
    reason = "Counts for one area before and after, with nothing to compare against."
    values = new_entry_form(client, type="evidence", design="before_after", strength="2",
                            provenance="self_reported", strength_reason=reason,
                            **{"published-day": "1", "published-month": "4", "published-year": "2015"}, **OUTCOME)
    assert client.post("/entries/new", data=values).status_code == 302
    saved = db.session.scalar(select(Entry))
    assert saved.published_on.isoformat() == "2015-04-01" and saved.evidence_strength_reason == reason
    page = soup(client.get(f"/entries/{saved.slug}/edit"))
    assert [page.select_one(f"#published-{p}")["value"] for p in ("day", "month", "year")] == ["1", "4", "2015"]
    assert page.select_one("#strength_reason").get_text().strip() == reason


def test_a_reason_for_the_strength_is_refused_on_an_intervention_and_kept(world):
    client = world.app.test_client(user=world.editor)
    response = client.post("/entries/new", data=new_entry_form(client, type="intervention",
                                                                 strength_reason="A careful comparison."))
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True))["strength_reason"].startswith(
        "Why this strength is only for evidence entries")
    assert soup(response).select_one("#strength_reason").get_text().strip() == "A careful comparison."


def test_the_strength_choices_never_name_a_study_design(world):
    client = world.app.test_client(user=world.editor)
    options = [o.get_text(" ", strip=True).lower() for o in soup(client.get("/entries/new")).select("#strength option")]
    assert len(options) == 6  # "Choose a strength" and the five levels
    assert [(o, w) for o in options for words in DESIGN_WORDS.values() for w in words if w in o] == []
