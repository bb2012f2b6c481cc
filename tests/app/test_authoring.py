"""The entry editor and the workflow endpoints: forms, preview, validation, merges, conflicts."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from kb import textcheck
from kb.extensions import db
from kb.services import workflow
from kb.models import Entry, EntryStatus, Membership, NetworkRole, Revision, SiteRole
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.inertness import load_payloads, problems_in
from tests.pages import form_values

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
PAYLOADS = load_payloads(Path(__file__).parent.parent / "data" / "xss_payloads.txt")


@pytest.fixture
def world(app):
    """Leeds (an editor and a lead), York (an editor of its own), two themes, a member."""
    leadership, data = make_theme("leadership"), make_theme("data-sharing")
    leeds, york = make_site("leeds"), make_site("york")
    editor = make_user("ed@example.nhs.uk", name="Ed Editor")
    lead = make_user("lee@example.nhs.uk", name="Lee Lead")
    outsider = make_user("yo@example.nhs.uk", name="Yo York")
    member = make_user("mo@example.nhs.uk", name="Mo Member")
    db.session.add_all([
        Membership(user=editor, site=leeds, role=SiteRole.EDITOR),
        Membership(user=lead, site=leeds, role=SiteRole.LEAD),
        Membership(user=outsider, site=york, role=SiteRole.EDITOR),
    ])
    db.session.commit()
    return SimpleNamespace(app=app, leadership=leadership, data=data, leeds=leeds, york=york,
                           editor=editor, lead=lead, outsider=outsider, member=member)


# --- helpers: read a page's form the way a browser would submit it -----------------------------


def page_form(client, url: str) -> MultiDict:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return form_values(response.get_data(as_text=True))


def token(client, url: str = "/account/entries") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def fill(values: MultiDict, **fields) -> MultiDict:
    for name, value in fields.items():
        values.setlist(name.replace("__", "-"), value if isinstance(value, list) else [value])
    return values


def new_entry_form(client, **fields) -> MultiDict:
    values = page_form(client, "/entries/new?site=leeds")
    fill(values, title="Joint discharge team", summary="A joint team of nurses and social workers.",
         type="case_study", themes__0__theme="leadership", themes__0__polarity="enabler",
         themes__0__note="Both chief executives backed it", sources__0__title="Annual report",
         sources__0__url="https://example.org/report", sources__0__date="2015-04",
         body="## What happened\n\nThe team met **daily**.", edit_summary="First draft", minor="y")
    return fill(values, **fields)


def errors_of(html: str) -> dict[str, str]:
    """Inline error messages by the id of the field they belong to."""
    page = BeautifulSoup(html, "html.parser")
    return {span["id"].removesuffix("-error"): span.get_text(" ", strip=True).removeprefix("Error: ")
            for span in page.select(".nhsuk-error-message")}


def summary_links(html: str) -> list[str]:
    page = BeautifulSoup(html, "html.parser")
    return [a["href"] for a in page.select(".nhsuk-error-summary a")]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def draft(world, slug="leeds-draft", body="Some **body** text.", **fields) -> Entry:
    return make_entry(slug, site=world.leeds, theme=world.leadership, status="draft", published=None,
                      body=body, **fields)


def flashed(client) -> str:
    page = BeautifulSoup(client.get("/account/entries").get_data(as_text=True), "html.parser")
    return " ".join(p.get_text(" ", strip=True) for p in page.select(".nhsuk-notification-banner__heading"))


# --- creating --------------------------------------------------------------------------------


def test_editor_creates_a_draft_through_the_form(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, themes__1__theme="data-sharing", themes__1__polarity="barrier",
                            themes__1__note="Records could not be shared", other_sites="york")
    response = client.post("/entries/new", data=values)
    assert response.status_code == 302
    assert response.headers["Location"] == "/entries/joint-discharge-team"
    db.session.expire_all()
    entry = db.session.scalar(select(Entry).where(Entry.slug == "joint-discharge-team"))
    assert entry.status == EntryStatus.DRAFT and entry.version == 1
    assert entry.title == "Joint discharge team" and entry.site.slug == "leeds"
    assert [site.slug for site in entry.other_sites] == ["york"]
    assert entry.body == "## What happened\n\nThe team met **daily**."
    assert [(t.theme.slug, t.polarity.value, t.note) for t in entry.theme_tags] == [
        ("leadership", "enabler", "Both chief executives backed it"),
        ("data-sharing", "barrier", "Records could not be shared"),
    ]
    assert [(s.title, s.url, s.date) for s in entry.sources] == [("Annual report", "https://example.org/report", "2015-04")]
    revision = db.session.scalar(select(Revision).where(Revision.entry_id == entry.id))
    assert (revision.number, revision.summary, revision.minor, revision.author_id) == (1, "First draft", True, world.editor.id)
    assert revision.snapshot["title"] == "Joint discharge team"
    assert "Your draft “Joint discharge team” was saved" in flashed(client)


def test_slug_can_be_chosen_and_sites_offered_are_the_users_own(world):
    client = world.app.test_client(user=world.editor)
    page = BeautifulSoup(client.get("/entries/new").get_data(as_text=True), "html.parser")
    offered = [o["value"] for o in page.select("select#site option") if o["value"]]
    assert offered == ["leeds"]
    assert page.select_one("select#site option[selected]")["value"] == "leeds"  # the only one
    response = client.post("/entries/new", data=new_entry_form(client, slug="my-own-slug"))
    assert response.headers["Location"] == "/entries/my-own-slug"


def test_creating_needs_sign_in_and_a_site_to_write_for(world):
    response = world.app.test_client().get("/entries/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")
    response = world.app.test_client(user=world.member).get("/entries/new")
    assert response.status_code == 403
    assert "not an editor or lead of any site" in response.get_data(as_text=True)


def test_editor_cannot_create_an_entry_for_another_site(world):
    client = world.app.test_client(user=world.editor)
    response = client.post("/entries/new", data=new_entry_form(client, site="york"))
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True))["site"] == "Choose one of the sites you write for"
    assert count(Entry) == 0


def test_evidence_entry_with_outcomes_round_trips_through_the_editor(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, type="evidence", design="before_after", strength="2", provenance="self_reported",
                            outcomes__0__measure="non_elective_admissions", outcomes__0__direction="decrease",
                            outcomes__0__value="-34%", outcomes__0__period="2014-15",
                            outcomes__1__measure="other", outcomes__1__measure_other="Falls at home",
                            outcomes__1__direction="decrease", outcomes__1__value="12 fewer")
    assert client.post("/entries/new", data=values).status_code == 302
    db.session.expire_all()
    entry = db.session.scalar(select(Entry))
    assert (entry.evidence_design.value, entry.evidence_strength, entry.evidence_provenance.value) == (
        "before_after", 2, "self_reported")
    assert [(o.measure, o.value, o.period) for o in entry.outcomes] == [
        ("non_elective_admissions", "-34%", "2014-15"), ("Falls at home", "12 fewer", None)]
    again = page_form(client, f"/entries/{entry.slug}/edit")
    assert again["outcomes-0-measure"] == "non_elective_admissions"
    assert (again["outcomes-1-measure"], again["outcomes-1-measure_other"]) == ("other", "Falls at home")
    assert again["strength"] == "2" and again["base_version"] == "1"


# --- preview, add-row, validation ------------------------------------------------------------


def test_preview_shows_sanitised_html_and_saves_nothing(world):
    client = world.app.test_client(user=world.editor)
    body = "# Heading\n\nSome **bold** text.<script>alert(1)</script>"
    values = new_entry_form(client, body=body, action="preview")
    response = client.post("/entries/new", data=values)
    assert response.status_code == 200
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    region = page.select_one("#preview")
    assert not region.has_attr("hidden") and "Preview" in region.select_one("h2").get_text()
    assert region.select_one("#preview-content h1").get_text() == "Joint discharge team"  # the whole entry
    preview = region.select_one("#preview-content .kb-prose")
    assert preview.select_one("h2").get_text() == "Heading"  # an author's # is an <h2>
    assert preview.select_one("strong").get_text() == "bold"
    assert "alert(1)" not in str(preview) and preview.select("script") == []
    assert page.select_one("textarea#body").get_text().lstrip("\n") == body  # input kept
    assert page.select_one("input#title")["value"] == "Joint discharge team"
    assert count(Entry) == 0 and count(Revision) == 0


def test_live_preview_endpoint_renders_with_the_same_function(world):
    client = world.app.test_client(user=world.editor)
    csrf = token(client)
    response = client.post("/entries/preview", data={"body": "Some *words*<img src=x onerror=alert(1)>"},
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<em>words</em>" in response.get_data(as_text=True)
    assert problems_in(response.get_data(as_text=True)) == []
    assert client.post("/entries/preview", data={"body": "x"}).status_code == 400  # no CSRF token
    assert world.app.test_client().post("/entries/preview", data={"body": "x"}).status_code in (302, 400)


def test_hostile_markdown_is_inert_in_the_preview_and_on_the_saved_page(world):
    # Payloads with control characters are refused before any preview (tests/app/test_text_input.py).
    body = "\n\n".join(p for p in PAYLOADS if textcheck.problem(p, multiline=True) is None)
    client = world.app.test_client(user=world.editor)
    response = client.post("/entries/new", data=new_entry_form(client, body=body, action="preview"))
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    preview = page.select_one("#preview-content .kb-prose").decode_contents()
    assert preview.count("<") > 50 and problems_in(preview) == []
    # The payloads in the textarea are text: the page's only scripts are our own files.
    assert all(script.has_attr("src") and not script.get_text().strip() for script in page.select("script"))
    assert page.select_one("textarea#body").get_text().lstrip("\n") == body

    assert client.post("/entries/new", data=new_entry_form(client, body=body)).status_code == 302
    lead = world.app.test_client(user=world.lead)
    confirmation = lead.get("/entries/joint-discharge-team/publish").get_data(as_text=True)
    assert lead.post("/entries/joint-discharge-team/publish",
                     data=form_values(confirmation, "form#confirm-publish")).status_code == 302
    saved = BeautifulSoup(world.app.test_client().get("/entries/joint-discharge-team").get_data(as_text=True),
                          "html.parser")
    prose = saved.select_one(".kb-prose").decode_contents()
    assert prose.count("<") > 50 and problems_in(prose) == []


def test_validation_errors_appear_next_to_their_fields_with_input_kept(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, title="", review_by="2027-02-30", sources__0__url="not a web address",
                            themes__0__theme="", themes__0__note="Kept note", summary="Kept summary")
    response = client.post("/entries/new", data=values)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = errors_of(html)
    assert errors["title"] == "Enter a title"
    assert errors["review_by"] == "Review-by date must be a real date, for example 1 6 2027"
    assert errors["sources-0-url"].startswith("Enter the web address of the source, like https://")
    assert errors["themes-0-theme"] == "Choose a theme"
    assert {"#title", "#review_by-day", "#sources-0-url", "#themes-0-theme"} <= set(summary_links(html))
    assert "<title>Error: " in html
    kept = form_values(html)
    assert (kept["summary"], kept["themes-0-note"], kept["sources-0-url"]) == ("Kept summary", "Kept note", "not a web address")
    assert kept["submission_key"] == values["submission_key"]
    assert count(Entry) == 0


def test_problems_found_by_the_service_are_placed_on_their_fields(world):
    make_entry("taken", site=world.leeds, theme=world.leadership)
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, links__0__rel="describes", links__0__entry="no-such-entry")
    response = client.post("/entries/new", data=values)
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True))["links-0-entry"] == "There is no entry 'no-such-entry'"
    response = client.post("/entries/new", data=new_entry_form(client, slug="taken"))
    assert response.status_code == 400
    assert "already used by another entry" in errors_of(response.get_data(as_text=True))["slug"]
    assert count(Entry) == 1


def test_add_row_re_renders_with_one_more_blank_row_and_keeps_input(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client, action="add-themes")
    rows_before = len(values.getlist("themes-0-note") + [k for k in values if k.startswith("themes-") and k.endswith("-note") and k != "themes-0-note"])
    response = client.post("/entries/new", data=values)
    assert response.status_code == 200
    kept = form_values(response.get_data(as_text=True))
    rows_after = len([k for k in kept if k.startswith("themes-") and k.endswith("-note")])
    assert rows_after == rows_before + 1
    assert (kept["title"], kept["themes-0-theme"], kept["themes-0-note"]) == (
        "Joint discharge team", "leadership", "Both chief executives backed it")
    assert kept["body"] == values["body"]
    assert count(Entry) == 0
    # The blank rows are ignored when saving.
    assert client.post("/entries/new", data=fill(kept, action="save")).status_code == 302
    db.session.expire_all()
    assert len(db.session.scalar(select(Entry)).theme_tags) == 1


def test_the_same_form_posted_twice_makes_one_revision(world):
    client = world.app.test_client(user=world.editor)
    values = new_entry_form(client)
    first, second = client.post("/entries/new", data=values), client.post("/entries/new", data=values)
    assert first.headers["Location"] == second.headers["Location"] == "/entries/joint-discharge-team"
    assert count(Entry) == 1 and count(Revision) == 1
    edit = fill(page_form(client, "/entries/joint-discharge-team/edit"), body="Changed once.")
    assert client.post("/entries/joint-discharge-team/edit", data=edit).status_code == 302
    assert client.post("/entries/joint-discharge-team/edit", data=edit).status_code == 302
    db.session.expire_all()
    assert count(Revision) == 2 and db.session.scalar(select(Entry.version)) == 2


def test_another_persons_form_key_never_ties_a_new_entry_to_theirs(world):
    editor = world.app.test_client(user=world.editor)
    values = new_entry_form(editor)
    assert editor.post("/entries/new", data=values).status_code == 302
    outsider = world.app.test_client(user=world.outsider)  # York's editor: Leeds' entry is not theirs
    stolen = fill(page_form(outsider, "/entries/new"), **{key: values.getlist(key) for key in values if key != "csrf_token"})
    stolen = fill(stolen, title="A different entry", site="york")
    answer = outsider.post("/entries/new", data=stolen)
    assert answer.headers["Location"] == "/entries/a-different-entry"
    db.session.expire_all()
    made = db.session.scalar(select(Entry).where(Entry.slug == "a-different-entry"))
    assert made.creation_key is None and count(Entry) == 2


def test_saving_without_changes_says_so(world):
    entry = draft(world)
    client = world.app.test_client(user=world.editor)
    response = client.post(f"/entries/{entry.slug}/edit", data=page_form(client, f"/entries/{entry.slug}/edit"))
    assert response.status_code == 302
    assert "No changes to save" in flashed(client)
    assert count(Revision) == 1


def test_hostile_and_malformed_input_never_causes_a_server_error(world):
    entry = draft(world)
    client = world.app.test_client(user=world.editor)
    url = f"/entries/{entry.slug}/edit"
    base = page_form(client, url)
    refused = [
        {"title": "x" * 20_000}, {"title": "line\nbreak\x01"}, {"summary": "\x00\x07"}, {"body": "x" * 200_001},
        {"base_version": "-1"}, {"base_version": "99999999999999999999"}, {"base_version": "abc"},
        {"base_version": "7"}, {"base_version": "0"}, {"submission_key": "<script>"},
        {"themes-0-theme": "no-such-theme"}, {"themes-99999999-theme": "leadership"},
        {"strength": "9", "type": "evidence"}, {"other_sites": ["nowhere", "leeds"]}, {"site": "york"},
        {"type": "novel"}, {"visibility": "secret"}, {"links-0-rel": "describes", "links-0-entry": entry.slug},
        {"links-0-rel": "describes", "links-0-entry": "Not A Slug"}, {"sources-0-date-month": "13"},
        {"review_by": "tomorrow"}, {"edit_summary": "y" * 301}, {"outcomes-0-value": "1", "type": "evidence"},
    ]
    for change in refused:
        response = client.post(url, data=fill(MultiDict(base), **{"title": "Changed", **change}))
        assert response.status_code == 400, change
        assert errors_of(response.get_data(as_text=True)) or "There is a problem" in response.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Entry, entry.id).version == 1, change
    # Odd but harmless: the first of repeated values counts, an unknown button saves, a
    # missing submission key gets a fresh one.
    for change in ({"minor": ["a", "b"]}, {"action": "explode"}, {"submission_key": ""}, {"title": ["Two", "titles"]}):
        assert client.post(url, data=fill(MultiDict(base), **change)).status_code == 302, change
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).title == "Two"
    # Invisible control characters in the text are refused (a NUL cannot be stored in PostgreSQL).
    assert client.post(url, data=fill(page_form(client, url), body="nul\x00 and\x1b escape\r\nkept")).status_code == 400
    db.session.expire_all()
    assert "escape" not in db.session.get(Entry, entry.id).body
    # Forms with nothing but a token.
    assert client.post(url, data={"csrf_token": base["csrf_token"]}).status_code == 400
    assert client.post("/entries/new", data={"csrf_token": base["csrf_token"], "action": "save"}).status_code == 400
    assert count(Entry) == 1


# --- concurrent edits -------------------------------------------------------------------------

BODY = "The first paragraph.\n\nThe second paragraph.\n\nThe third paragraph.\n"


def test_concurrent_edits_of_different_paragraphs_are_merged(world):
    entry = draft(world, body=BODY)
    url = f"/entries/{entry.slug}/edit"
    ed, lee = world.app.test_client(user=world.editor), world.app.test_client(user=world.lead)
    mine, theirs = page_form(ed, url), page_form(lee, url)
    fill(theirs, body=BODY.replace("third paragraph", "third paragraph, revised by the lead"))
    assert lee.post(url, data=theirs).status_code == 302
    fill(mine, body=BODY.replace("first paragraph", "first paragraph, revised by the editor"), edit_summary="Intro")
    response = ed.post(url, data=mine)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Entry, entry.id)
    assert "revised by the editor" in saved.body and "revised by the lead" in saved.body
    assert saved.version == 3
    message = flashed(ed)
    assert "Lee Lead changed this entry while you were editing; your changes were combined with theirs" in message
    assert "(fields: text)" in message


def test_a_real_conflict_shows_both_texts_and_saves_nothing_until_resolved(world):
    entry = draft(world, body="The pilot started in 2014 in two wards.\n")
    url = f"/entries/{entry.slug}/edit"
    ed, lee = world.app.test_client(user=world.editor), world.app.test_client(user=world.lead)
    mine, theirs = page_form(ed, url), page_form(lee, url)
    assert lee.post(url, data=fill(theirs, body="The pilot started in 2015 in two wards.\n")).status_code == 302
    response = ed.post(url, data=fill(mine, body="The pilot started in 2013 in two wards.\n",
                                      title="A better title", edit_summary="Dates"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    page = BeautifulSoup(html, "html.parser")
    # Both texts intact, read-only, outside the form (HTML drops the newline after <textarea>).
    assert page.select_one("textarea#theirs-1[readonly]").get_text() == "\nThe pilot started in 2015 in two wards.\n"
    assert page.select_one("textarea#mine-1[readonly]").get_text() == "\nThe pilot started in 2013 in two wards.\n"
    assert not page.select_one("textarea#mine-1").has_attr("name")
    assert "Their version" in html and "Your version" in html
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).body == "The pilot started in 2015 in two wards.\n"
    assert db.session.get(Entry, entry.id).version == 2 and count(Revision) == 2
    # The form on the conflict page holds the editor's whole version, based on the latest one.
    resolve = form_values(html)
    assert resolve["base_version"] == "2" and resolve["title"] == "A better title"
    assert resolve["body"] == "The pilot started in 2013 in two wards.\n" and resolve["edit_summary"] == "Dates"
    response = ed.post(url, data=fill(resolve, body="The pilot started in 2013 (planning) and 2015 (wards).\n"))
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Entry, entry.id)
    assert (saved.body, saved.title, saved.version) == (
        "The pilot started in 2013 (planning) and 2015 (wards).\n", "A better title", 3)


def test_edits_to_different_fields_are_combined_and_the_user_is_told(world):
    entry = draft(world, body=BODY)
    url = f"/entries/{entry.slug}/edit"
    ed, lee = world.app.test_client(user=world.editor), world.app.test_client(user=world.lead)
    mine, theirs = page_form(ed, url), page_form(lee, url)
    assert lee.post(url, data=fill(theirs, title="The lead's title", themes__0__note="The lead's note")).status_code == 302
    assert ed.post(url, data=fill(mine, body=BODY + "\nA fourth paragraph.\n")).status_code == 302
    db.session.expire_all()
    saved = db.session.get(Entry, entry.id)
    assert (saved.title, saved.theme_tags[0].note) == ("The lead's title", "The lead's note")
    assert saved.body.endswith("A fourth paragraph.\n")
    assert "(fields: title, enablers and barriers)" in flashed(ed)


def test_a_conflict_in_theme_tags_shows_both_versions_as_text(world):
    entry = draft(world)
    url = f"/entries/{entry.slug}/edit"
    ed, lee = world.app.test_client(user=world.editor), world.app.test_client(user=world.lead)
    mine, theirs = page_form(ed, url), page_form(lee, url)
    assert lee.post(url, data=fill(theirs, themes__0__note="Their reason")).status_code == 302
    response = ed.post(url, data=fill(mine, themes__0__note="My reason"))
    assert response.status_code == 409
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.select_one("#conflict-1").get_text() == "Enablers and barriers"
    assert "note: Their reason" in page.select_one("#theirs-1").get_text()
    assert "note: My reason" in page.select_one("#mine-1").get_text()
    assert form_values(str(page))["themes-0-note"] == "My reason"
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).theme_tags[0].note == "Their reason"


# --- workflow ---------------------------------------------------------------------------------


def test_submitting_emails_the_sites_leads_with_an_absolute_link(world):
    entry = draft(world)
    client = world.app.test_client(user=world.editor)
    outbox = world.app.extensions["kb.mail"].outbox
    response = client.post(f"/entries/{entry.slug}/submit", data={"csrf_token": token(client), "note": "Please check the figures"})
    assert response.status_code == 302 and response.headers["Location"] == f"/entries/{entry.slug}"
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.IN_REVIEW
    assert [m.to for m in outbox] == ["lee@example.nhs.uk"]
    assert f"http://kb.test/entries/{entry.slug}" in outbox[0].text
    assert "Please check the figures" in outbox[0].text
    assert "Sent for review" in flashed(client)


def test_workflow_steps_need_the_csrf_token(world):
    entry = draft(world)
    client = world.app.test_client(user=world.editor)
    assert client.post(f"/entries/{entry.slug}/submit", data={}).status_code == 400
    assert client.get(f"/entries/{entry.slug}/submit").status_code == 405
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.DRAFT


def test_publishing_through_the_endpoint_shows_the_entry_to_anonymous_readers(world):
    entry = draft(world)
    reader = world.app.test_client()
    assert reader.get(f"/entries/{entry.slug}").status_code == 404
    editor = world.app.test_client(user=world.editor)
    assert editor.post(f"/entries/{entry.slug}/publish", data={"csrf_token": token(editor)}).status_code == 403
    lead = world.app.test_client(user=world.lead)
    # Publishing goes through its confirmation page, whose form carries the version shown.
    confirmation = lead.get(f"/entries/{entry.slug}/publish")
    assert confirmation.status_code == 200
    response = lead.post(f"/entries/{entry.slug}/publish",
                         data=form_values(confirmation.get_data(as_text=True), "form#confirm-publish"))
    assert response.status_code == 302 and response.headers["Location"] == f"/entries/{entry.slug}"
    db.session.expire_all()
    published = db.session.get(Entry, entry.id)
    assert published.status == EntryStatus.PUBLISHED
    assert published.published_by_id == world.lead.id and published.published_at is not None
    page = reader.get(f"/entries/{entry.slug}")
    assert page.status_code == 200 and "Entry leeds-draft" in page.get_data(as_text=True)


def test_archiving_and_returning_to_draft(world):
    entry = make_entry("live", site=world.leeds, theme=world.leadership)
    lead = world.app.test_client(user=world.lead)
    assert lead.post("/entries/live/archive", data={"csrf_token": token(lead)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.ARCHIVED
    assert lead.post("/entries/live/return-to-draft", data={"csrf_token": token(lead)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.DRAFT


def test_editor_of_another_site_cannot_see_or_change_its_entries(world):
    hidden = draft(world, "leeds-work")
    live = make_entry("leeds-live", site=world.leeds, theme=world.leadership)
    client = world.app.test_client(user=world.outsider)
    csrf = token(client)
    assert client.get("/entries/leeds-work/edit").status_code == 404
    assert client.post("/entries/leeds-work/edit", data={"csrf_token": csrf, "title": "Mine now"}).status_code == 404
    assert client.post("/entries/leeds-work/submit", data={"csrf_token": csrf}).status_code == 404
    response = client.get("/entries/leeds-live/edit")
    assert response.status_code == 403 and "Only a lead" in response.get_data(as_text=True)
    assert client.post("/entries/leeds-live/edit", data={"csrf_token": csrf, "title": "Mine now"}).status_code == 403
    assert client.post("/entries/leeds-live/archive", data={"csrf_token": csrf}).status_code == 403
    db.session.expire_all()
    assert (db.session.get(Entry, hidden.id).title, db.session.get(Entry, hidden.id).version) == ("Entry leeds-work", 1)
    assert db.session.get(Entry, live.id).status == EntryStatus.PUBLISHED and db.session.get(Entry, live.id).version == 1
    assert count(Revision) == 2


def test_editor_of_the_site_cannot_edit_its_published_entry_but_its_lead_can(world):
    make_entry("leeds-live", site=world.leeds, theme=world.leadership)
    assert world.app.test_client(user=world.editor).get("/entries/leeds-live/edit").status_code == 403
    lead = world.app.test_client(user=world.lead)
    page = lead.get("/entries/leeds-live/edit")
    assert page.status_code == 200 and "This entry is published" in page.get_data(as_text=True)


# --- your entries -----------------------------------------------------------------------------


def test_dashboard_lists_the_users_entries_by_status(world):
    draft(world, "leeds-draft")
    draft(world, "leeds-review").status = EntryStatus.IN_REVIEW
    db.session.commit()
    make_entry("leeds-live", site=world.leeds, theme=world.leadership)
    make_entry("york-draft", site=world.york, theme=world.leadership, status="draft", published=None)

    def headings_and_links(user):
        page = BeautifulSoup(world.app.test_client(user=user).get("/account/entries").get_data(as_text=True), "html.parser")
        return [h.get_text(" ", strip=True) for h in page.select("main h3")], [a["href"] for a in page.select("main a")]

    headings, links = headings_and_links(world.editor)
    assert [h.split(" (")[0] for h in headings] == ["Drafts", "In review", "Published", "Archived"]
    assert "/entries/leeds-draft/edit" in links and "/entries/leeds-live" in links
    assert "/entries/leeds-live/edit" not in links  # an editor cannot change a published entry
    assert not any("york" in link for link in links)
    headings, links = headings_and_links(world.lead)
    assert headings[0] == "Waiting for review (1)" and "/entries/leeds-live/edit" in links
    admin = make_user("admin@example.nhs.uk", network_role=NetworkRole.ADMIN)
    headings, links = headings_and_links(admin)
    assert "/entries/york-draft/edit" in links and "/entries/leeds-review" in links
    assert "/entries/leeds-live" not in links  # admins see other sites' unfinished work only
    member_page = world.app.test_client(user=world.member).get("/account/entries")
    assert member_page.status_code == 200 and "not an editor or lead of any site" in member_page.get_data(as_text=True)


def test_an_entry_published_while_its_editor_types_keeps_their_words_on_the_page(world):
    entry = draft(world)
    client = world.app.test_client(user=world.editor)
    values = page_form(client, f"/entries/{entry.slug}/edit")
    workflow.publish_entry(world.lead, entry.slug, now=NOW)  # meanwhile, the lead publishes it
    fill(values, body="My carefully written new paragraph.", action="save")
    response = client.post(f"/entries/{entry.slug}/edit", data=values)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "can change a published or archived entry" in html and "Your changes have not been saved" in html
    assert form_values(html)["body"] == "My carefully written new paragraph."
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).body == "Some **body** text."
