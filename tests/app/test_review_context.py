"""A lead's review with context: who submitted an entry and why, the changes since it was last
published, "Check your entry" before submitting, a confirmation before publishing, emails to the
editor when the entry is published or returned, and breadcrumbs back to the entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from flask import current_app
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Entry, EntryStatus, Membership, Revision, SiteRole
from kb.services import authoring, review, workflow
from kb.services.errors import Conflict
from kb.services.records import entry_record
from tests.factories import NOW, make_site, make_theme, make_user
from tests.pages import form_values, get_page, text_of

NOTE = "Figures checked against the 2016 report.\nPlease look at the second paragraph."


@pytest.fixture
def team(app):
    own, other = make_site("ownshire", name="Ownshire"), make_site("otherton", name="Otherton")
    make_theme("leadership", name="Leadership")
    people = {
        "editor": make_user("ed@example.nhs.uk", name="Ed Itor"),
        "lead": make_user("lee@example.nhs.uk", name="Lee Lead"),
        "member": make_user("mo@example.nhs.uk", name="Mo Member"),
        "outsider": make_user("olly@example.nhs.uk", name="Olly Otherton"),
    }
    db.session.add_all([
        Membership(user=people["editor"], site=own, role=SiteRole.EDITOR),
        Membership(user=people["lead"], site=own, role=SiteRole.LEAD),
        Membership(user=people["outsider"], site=other, role=SiteRole.LEAD),
    ])
    db.session.commit()
    return {"app": app, **people}


def _record(**fields):
    record = {
        "title": "Joint crisis teams", "type": "intervention", "site": "ownshire",
        "summary": "Nurses and social workers answer crises together.",
        "themes": [{"theme": "leadership", "polarity": "barrier", "note": "No one owned the rota"}],
        "sources": [{"title": "Ownshire evaluation", "url": "https://example.org/eval", "date": "2016-03"}],
        "visibility": "public", "body": "The team met every morning.\n\nAdmissions fell.",
    }
    record.update(fields)
    return record


def _sender():
    return current_app.extensions["kb.mail"]


def _outbox():
    return _sender().outbox


def _draft(team, **fields) -> Entry:
    return authoring.create_entry(team["editor"], _record(**fields), slug=None, summary="First draft",
                                  minor=False, now=NOW).entry


def _in_review_after_a_publication(team) -> Entry:
    """Created (1), submitted (2), published (3), returned (4), edited (5), submitted with NOTE (6)."""
    entry = _draft(team)
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=_sender())
    workflow.publish_entry(team["lead"], entry.slug, now=NOW + timedelta(hours=1))
    workflow.return_to_draft(team["lead"], entry.slug, now=NOW + timedelta(days=1))
    authoring.save_entry(team["editor"], entry.slug, {**entry_record(entry), "body": "The team met twice a day."},
                         base_version=4, summary="New figures", minor=False, now=NOW + timedelta(days=2))
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW + timedelta(days=3), sender=_sender(), note=NOTE)
    _outbox().clear()
    return entry


def _client(team, who):
    return team["app"].test_client(user=team[who]) if who != "anonymous" else team["app"].test_client()


def _status(entry: Entry) -> EntryStatus:
    db.session.expire_all()
    return db.session.get(Entry, entry.id).status


# --- the review context on the entry's page ------------------------------------------------------


@pytest.mark.parametrize("who", ["lead", "editor"])
def test_the_lead_and_the_editor_see_who_submitted_it_when_their_note_and_the_changes_link(team, who):
    entry = _in_review_after_a_publication(team)
    page = get_page(_client(team, who), f"/entries/{entry.slug}")
    context = page.select_one("#review-context")
    assert text_of(page.select_one("#review-submitter")) == "Ed Itor"
    assert context.select_one("time")["datetime"].startswith("2026-11-04T09:00")  # submitted on day 3
    assert page.select_one("#review-note-text").get_text().strip() == NOTE
    changes = page.select_one("#review-changes")
    assert changes["href"] == f"/entries/{entry.slug}/diff?from=3&to=6"
    assert "changes since the last published version" in text_of(changes)
    # The panel with the review comes before the entry's body, for small screens and screen readers.
    html = str(page)
    assert html.index('id="entry-actions"') < html.index('class="kb-prose"')


def test_the_changes_link_opens_the_comparison_with_the_last_published_version(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    href = get_page(client, f"/entries/{entry.slug}").select_one("#review-changes")["href"]
    comparison = get_page(client, href)
    assert text_of(comparison.find("h1")) == "Changes between revisions 3 and 6"
    assert "twice a day" in text_of(comparison.select_one("#diff-body"))


def test_an_entry_never_published_says_so_and_links_its_current_version(team):
    entry = _draft(team)
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=_sender(), note="First go")
    page = get_page(_client(team, "lead"), f"/entries/{entry.slug}")
    assert page.select_one("#review-changes") is None
    none = page.select_one("#review-changes-none")
    assert "never been published" in text_of(none)
    assert [a["href"] for a in none.select("a")] == [f"/entries/{entry.slug}/revisions/2", f"/entries/{entry.slug}/history"]
    assert page.select_one("#review-note-text").get_text().strip() == "First go"


@pytest.mark.parametrize("who", ["anonymous", "member", "outsider"])
def test_readers_and_other_sites_never_see_an_entry_in_review_or_its_context(team, who):
    entry = _in_review_after_a_publication(team)
    response = _client(team, who).get(f"/entries/{entry.slug}")
    assert response.status_code == 404 and NOTE.split("\n")[0] not in response.get_data(as_text=True)
    assert review.review_context(team[who] if who != "anonymous" else None, entry) is None


def test_the_context_is_the_services_to_give_only_while_in_review_and_only_to_its_people(team):
    entry = _in_review_after_a_publication(team)
    shown = review.review_context(team["lead"], entry)
    assert (shown.submitted_by.id, shown.note, shown.last_published, shown.current) == (team["editor"].id, NOTE, 3, 6)
    assert review.review_context(team["outsider"], entry) is None
    assert review.review_context(team["member"], entry) is None
    workflow.publish_entry(team["lead"], entry.slug, now=NOW + timedelta(days=4))
    assert review.review_context(team["lead"], db.session.get(Entry, entry.id)) is None  # published: no review
    page = get_page(_client(team, "anonymous"), f"/entries/{entry.slug}")
    assert page.select_one("#review-context") is None and page.select_one("#entry-actions") is None


# --- confirming publication ----------------------------------------------------------------------


def test_the_confirmation_page_shows_what_will_be_published_and_who_can_read_it(team):
    entry = _in_review_after_a_publication(team)
    page = get_page(_client(team, "lead"), f"/entries/{entry.slug}/publish")
    assert text_of(page.find("h1")) == "Publish this entry?"
    assert "Revision 6" in text_of(page.select_one("#publication-version"))
    assert text_of(page.select_one("#publication-audience")).startswith("Everyone")
    assert "Ed Itor" in text_of(page.select_one("#publication"))
    form = page.select_one("form#confirm-publish")
    assert form["method"] == "post" and form["action"] == f"/entries/{entry.slug}/publish"
    assert form.select_one("input[name=version]")["value"] == "6" and form.select_one("input[name=csrf_token]")
    assert text_of(form.select_one("button")) == "Publish"
    assert form.select_one("a.nhsuk-link")["href"] == f"/entries/{entry.slug}" and "Cancel" in text_of(form)
    assert _status(entry) == EntryStatus.IN_REVIEW  # looking publishes nothing


def test_a_network_only_entry_is_confirmed_as_for_members_only(team):
    entry = _draft(team, visibility="network")
    page = get_page(_client(team, "lead"), f"/entries/{entry.slug}/publish")
    assert text_of(page.select_one("#publication-audience")).startswith("Signed-in members of the network only")
    assert "never been published" in text_of(page.find("main"))


def test_confirming_publishes_the_entry_and_emails_its_submitter(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    confirmation = client.get(f"/entries/{entry.slug}/publish").get_data(as_text=True)
    response = client.post(f"/entries/{entry.slug}/publish", data=form_values(confirmation, "form#confirm-publish"))
    assert response.status_code == 302 and response.headers["Location"] == f"/entries/{entry.slug}"
    assert _status(entry) == EntryStatus.PUBLISHED
    [message] = _outbox()
    assert message.to == "ed@example.nhs.uk" and message.subject == "Published: Joint crisis teams"
    assert "Lee Lead has published the entry you submitted" in " ".join(message.text.split())
    assert f"http://kb.test/entries/{entry.slug}" in message.text
    assert f'href="http://kb.test/entries/{entry.slug}"' in message.html


def test_a_stale_confirmation_is_refused_with_a_message_and_offered_again_at_the_new_version(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    confirmation = client.get(f"/entries/{entry.slug}/publish").get_data(as_text=True)
    # Meanwhile the editor changes the entry (revision 7).
    authoring.save_entry(team["editor"], entry.slug, {**entry_record(db.session.get(Entry, entry.id)), "title": "Crisis teams"},
                         base_version=6, summary="Retitled", minor=False, now=NOW + timedelta(days=4))
    response = client.post(f"/entries/{entry.slug}/publish", data=form_values(confirmation, "form#confirm-publish"))
    assert response.status_code == 409
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert "has changed since you opened this page" in text_of(page.select_one(".nhsuk-error-summary"))
    assert page.select_one("form#confirm-publish input[name=version]")["value"] == "7"
    assert _status(entry) == EntryStatus.IN_REVIEW and _outbox() == []
    with pytest.raises(Conflict, match="revision 6 and is now at revision 7"):
        workflow.publish_entry(team["lead"], entry.slug, now=NOW, version=6)


def test_confirming_twice_publishes_once(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    data = form_values(client.get(f"/entries/{entry.slug}/publish").get_data(as_text=True), "form#confirm-publish")
    assert client.post(f"/entries/{entry.slug}/publish", data=data).status_code == 302
    again = client.post(f"/entries/{entry.slug}/publish", data=data)
    assert again.status_code == 409 and "already published" in again.get_data(as_text=True)
    revisions = db.session.scalar(select(func.count(Revision.id)).where(Revision.entry_id == entry.id))
    assert revisions == 7 and len(_outbox()) == 1


@pytest.mark.parametrize(("who", "status"), [("member", 404), ("outsider", 404), ("editor", 403)])
def test_people_who_may_not_publish_cannot_reach_the_confirmation(team, who, status):
    entry = _in_review_after_a_publication(team)
    client = _client(team, who)
    assert client.get(f"/entries/{entry.slug}/publish").status_code == status
    token = get_page(client, "/").select_one("input[name=csrf_token]")["value"]  # the sign-out form's
    response = client.post(f"/entries/{entry.slug}/publish", data={"csrf_token": token, "version": "6"})
    assert response.status_code == status
    assert _status(entry) == EntryStatus.IN_REVIEW and _outbox() == []


def test_anonymous_visitors_are_sent_to_sign_in_from_the_confirmation(team):
    entry = _in_review_after_a_publication(team)
    response = _client(team, "anonymous").get(f"/entries/{entry.slug}/publish")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_confirmation_without_its_version_publishes_nothing(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    data = form_values(client.get(f"/entries/{entry.slug}/publish").get_data(as_text=True), "form#confirm-publish")
    response = client.post(f"/entries/{entry.slug}/publish", data={**data, "version": "six"})
    assert response.status_code == 400 and "confirmation was incomplete" in response.get_data(as_text=True)
    assert _status(entry) == EntryStatus.IN_REVIEW
    del data["csrf_token"]
    assert client.post(f"/entries/{entry.slug}/publish", data=data).status_code == 400  # CSRF-protected
    assert _status(entry) == EntryStatus.IN_REVIEW


# --- returned: the editor is told why --------------------------------------------------------------


def test_returning_to_draft_emails_the_submitter_with_the_leads_note(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    page = client.get(f"/entries/{entry.slug}").get_data(as_text=True)
    data = {**form_values(page, "#return-details form"), "note": "Please add the 2017 figures."}
    response = client.post(f"/entries/{entry.slug}/return-to-draft", data=data)
    assert response.status_code == 302 and _status(entry) == EntryStatus.DRAFT
    [message] = _outbox()
    assert message.to == "ed@example.nhs.uk" and message.subject == "Returned to draft: Joint crisis teams"
    assert "Please add the 2017 figures." in message.text and "Please add the 2017 figures." in message.html
    assert "Lee Lead has returned the entry" in " ".join(message.text.split())


def test_a_returned_draft_shows_its_people_who_returned_it_and_why_until_it_is_submitted_again(team):
    entry = _in_review_after_a_publication(team)
    workflow.return_to_draft(team["lead"], entry.slug, now=NOW + timedelta(days=4), sender=_sender(),
                             note="Please add the 2017 figures.")
    for who in ("editor", "lead"):
        page = BeautifulSoup(_client(team, who).get(f"/entries/{entry.slug}").get_data(as_text=True), "html.parser")
        returned = text_of(page.select_one("#return-context"))
        assert "Returned to draft" in returned and "By Lee Lead" in returned
        assert text_of(page.select_one("#return-note-text")) == "Their note: Please add the 2017 figures."
    for who in ("outsider", "member"):  # not their site's entry: they cannot see the draft at all
        assert _client(team, who).get(f"/entries/{entry.slug}").status_code == 404
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW + timedelta(days=5), sender=_sender(),
                               note="Added them.")
    page = BeautifulSoup(_client(team, "lead").get(f"/entries/{entry.slug}").get_data(as_text=True), "html.parser")
    assert page.select_one("#return-context") is None and "Added them." in text_of(page.select_one("#review-context"))


def test_a_return_note_that_is_too_long_is_refused_on_the_entry_page(team):
    entry = _in_review_after_a_publication(team)
    client = _client(team, "lead")
    data = {**form_values(client.get(f"/entries/{entry.slug}").get_data(as_text=True), "#return-details form"),
            "note": "x" * 1001}
    response = client.post(f"/entries/{entry.slug}/return-to-draft", data=data)
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert response.status_code == 400 and "1000 characters or fewer" in text_of(page.select_one("#return-note-error"))
    assert page.select_one("#return-details").has_attr("open")
    assert _status(entry) == EntryStatus.IN_REVIEW and _outbox() == []


def test_nobody_is_emailed_about_a_step_they_took_on_their_own_submission(team):
    entry = authoring.create_entry(team["lead"], _record(), slug=None, summary="", minor=False, now=NOW).entry
    workflow.submit_for_review(team["lead"], entry.slug, now=NOW, sender=_sender())
    assert _outbox() == []  # the lead is the only reviewer, and submitted it
    workflow.publish_entry(team["lead"], entry.slug, now=NOW, sender=_sender())
    assert _outbox() == []
    withdrawn = _draft(team)
    workflow.submit_for_review(team["editor"], withdrawn.slug, now=NOW, sender=_sender())
    _outbox().clear()
    workflow.return_to_draft(team["editor"], withdrawn.slug, now=NOW, note="Not ready", sender=_sender())
    assert _outbox() == []  # the editor withdrew it: nobody to tell


def test_a_draft_published_without_review_emails_nobody(team):
    entry = _draft(team)
    workflow.publish_entry(team["lead"], entry.slug, now=NOW, sender=_sender())
    assert _outbox() == []


# --- "Check your entry" ------------------------------------------------------------------------------


def _rows(page) -> dict[str, tuple[str, str]]:
    """The check page's rows: label -> (value text, Change link)."""
    rows = {}
    for row in page.select("#check-answers .nhsuk-summary-list__row"):
        link = row.select_one(".nhsuk-summary-list__actions a")
        rows[text_of(row.select_one("dt"))] = (text_of(row.select_one(".nhsuk-summary-list__value")), link["href"])
    return rows


def test_the_check_page_lists_the_entrys_fields_each_with_a_change_link(team):
    entry = _draft(team)
    page = get_page(_client(team, "editor"), f"/entries/{entry.slug}/check")
    assert text_of(page.find("h1")) == "Check your entry before you submit it"
    rows = _rows(page)
    edit = f"/entries/{entry.slug}/edit#"
    assert rows["Title"] == ("Joint crisis teams", edit + "title")
    assert rows["Type"] == ("Intervention", edit + "type")
    assert rows["Site"] == ("Ownshire", edit + "site")
    assert rows["Summary"] == ("Nurses and social workers answer crises together.", edit + "summary")
    assert rows["Enablers and barriers"] == ("Leadership — barrier: No one owned the rota", edit + "editor-themes")
    assert rows["Who can read it once published"][0] == "Public"
    assert rows["Sources"][0] == "Ownshire evaluation (2016-03) — https://example.org/eval"
    assert rows["Text"] == ("7 words", edit + "body")
    assert "Study design" not in rows  # not evidence
    assert all(text_of(link).startswith("Change ") for link in page.select("#check-answers .nhsuk-summary-list__actions a"))
    form = page.select_one("form#submit-form")
    assert form["action"] == f"/entries/{entry.slug}/submit" and page.select_one("textarea#review-note")


def test_the_check_page_of_evidence_lists_its_evidence_fields(team):
    evidence = {"design": "before_after", "strength": 2, "provenance": "local_evaluation",
                "outcomes": [{"measure": "non_elective_admissions", "direction": "decrease", "value": "-12%"}]}
    entry = _draft(team, type="evidence", evidence=evidence)
    rows = _rows(get_page(_client(team, "editor"), f"/entries/{entry.slug}/check"))
    assert rows["Study design"][0] == "Before–after"
    assert rows["Strength of evidence"][0] == "2 out of 5"
    assert rows["Provenance"][0] == "Local evaluation"
    assert "-12%" in rows["Outcomes"][0] and rows["Outcomes"][1].endswith("#editor-evidence")


def test_submitting_from_the_check_page_moves_the_entry_into_review_with_the_note(team):
    entry = _draft(team)
    client = _client(team, "editor")
    data = {**form_values(client.get(f"/entries/{entry.slug}/check").get_data(as_text=True), "form#submit-form"), "note": NOTE}
    response = client.post(f"/entries/{entry.slug}/submit", data=data)
    assert response.status_code == 302 and response.headers["Location"] == f"/entries/{entry.slug}"
    assert _status(entry) == EntryStatus.IN_REVIEW
    assert [m.to for m in _outbox()] == ["lee@example.nhs.uk"]
    page = get_page(_client(team, "lead"), f"/entries/{entry.slug}")
    assert page.select_one("#review-note-text").get_text().strip() == NOTE


def test_the_entry_page_sends_a_draft_to_the_check_page_not_straight_to_review(team):
    entry = _draft(team)
    page = get_page(_client(team, "editor"), f"/entries/{entry.slug}")
    link = page.find("a", string="Check and submit for review")
    assert link["href"] == f"/entries/{entry.slug}/check"
    assert page.select_one(f'form[action="/entries/{entry.slug}/submit"]') is None


def test_a_note_the_form_refuses_gives_the_check_page_back_with_the_message(team):
    entry = _draft(team)
    client = _client(team, "editor")
    data = {**form_values(client.get(f"/entries/{entry.slug}/check").get_data(as_text=True), "form#submit-form"),
            "note": "y" * 1001}
    response = client.post(f"/entries/{entry.slug}/submit", data=data)
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert response.status_code == 400 and "1000 characters or fewer" in text_of(page.select_one("#review-note-error"))
    assert page.select_one("#check-answers") and page.select_one(".nhsuk-error-summary a")["href"] == "#review-note"
    assert _status(entry) == EntryStatus.DRAFT


def test_an_entry_already_in_review_has_no_check_page_and_says_why(team):
    entry = _in_review_after_a_publication(team)
    response = _client(team, "editor").get(f"/entries/{entry.slug}/check")
    assert response.status_code == 403 and "already been submitted for review" in response.get_data(as_text=True)
    assert _client(team, "outsider").get(f"/entries/{entry.slug}/check").status_code == 404


# --- breadcrumbs back to the entry ------------------------------------------------------------------


def _crumbs(page) -> list[tuple[str, str]]:
    return [(a["href"], text_of(a)) for a in page.select(".nhsuk-breadcrumb__list a")]


def test_history_comparison_and_revision_pages_lead_back_to_the_entry(team):
    entry = _in_review_after_a_publication(team)  # in review: readers cannot see it, its people can
    client = _client(team, "lead")
    entry_crumb = (f"/entries/{entry.slug}", "Joint crisis teams")
    history = get_page(client, f"/entries/{entry.slug}/history")
    assert _crumbs(history) == [("/", "Home"), entry_crumb]
    for url in (f"/entries/{entry.slug}/diff?from=3&to=6", f"/entries/{entry.slug}/revisions/2"):
        assert _crumbs(get_page(client, url)) == [("/", "Home"), entry_crumb, (f"/entries/{entry.slug}/history", "History")]


def test_the_history_table_labels_each_cell_for_small_screens(team):
    entry = _in_review_after_a_publication(team)
    history = get_page(_client(team, "editor"), f"/entries/{entry.slug}/history")
    table = history.select_one("table#revisions")
    assert "nhsuk-table--responsive" in table["class"]
    first = table.select_one("tbody tr")
    labels = [text_of(span) for span in first.select(".nhsuk-table__heading")]
    assert labels == ["Revision", "Saved", "By", "Edit summary", "Changes"]
    assert all(span["aria-hidden"] == "true" for span in first.select(".nhsuk-table__heading"))
