"""Authoring services: drafts, review, publishing and archiving; merges, conflicts, double posts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import current_app
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AuditEvent, Entry, EntryStatus, Membership, NetworkRole, Revision, SiteRole
from kb.search import backend
from kb.search.backend import SearchRequest
from kb.search.documents import ANYONE
from kb.services import authoring, workflow
from kb.services.errors import NotAllowed
from kb.services.records import entry_record
from tests.factories import make_entry, make_site, make_theme, make_user

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
BODY = "Leaders met monthly.\n\nThe pool covered older people.\n\nIt saved £2m in its first year.\n"


@pytest.fixture
def team(app):
    site = make_site("ownshire", name="Ownshire")
    theme = make_theme("leadership")
    people = {
        "editor": make_user("ed@example.nhs.uk", name="Ed Itor"),
        "other_editor": make_user("eve@example.nhs.uk", name="Eve"),
        "lead": make_user("lee@example.nhs.uk", name="Lee"),
        "second_lead": make_user("liz@example.nhs.uk", name="Liz"),
        "admin": make_user("ada@example.nhs.uk", name="Ada", network_role=NetworkRole.ADMIN),
    }
    for key, role in [("editor", SiteRole.EDITOR), ("other_editor", SiteRole.EDITOR),
                      ("lead", SiteRole.LEAD), ("second_lead", SiteRole.LEAD)]:
        db.session.add(Membership(user=people[key], site=site, role=role))
    db.session.commit()
    return {"site": site, "theme": theme, **people}


def _record(**fields):
    record = {
        "title": "Joint emergency teams", "type": "intervention", "site": "ownshire",
        "summary": "Nurses and social workers answer crises together.",
        "themes": [{"theme": "leadership", "polarity": "enabler", "note": "A shared vision"}],
        "sources": [{"title": "Evaluation report", "url": "https://example.org/report", "date": "2015-03"}],
        "visibility": "public", "body": BODY,
    }
    record.update(fields)
    return record


def _create(team, **fields) -> Entry:
    return authoring.create_entry(team["editor"], _record(**fields), slug=None, summary="First draft",
                                  minor=False, now=NOW).entry


def _outbox():
    return current_app.extensions["kb.mail"].outbox


def _anyone_finds(word: str) -> set[int]:
    return {hit.id for hit in backend().search(SearchRequest(text=word, readers=(ANYONE,), limit=50)).hits}


def test_an_editor_creates_a_draft_with_a_first_revision(team):
    entry = _create(team)
    assert entry.slug == "joint-emergency-teams" and entry.status == EntryStatus.DRAFT
    assert entry.version == 1 and entry.published_on is None
    revision = db.session.scalar(select(Revision).where(Revision.entry_id == entry.id))
    assert (revision.number, revision.author_id, revision.summary) == (1, team["editor"].id, "First draft")
    assert revision.snapshot == entry_record(entry)
    # A second entry with the same title gets a slug of its own.
    assert _create(team).slug == "joint-emergency-teams-2"


def test_a_created_entry_is_always_a_draft_whatever_the_record_says(team):
    entry = _create(team, status="published", published="2015-01-01", reviewed="2026-01-01")
    # The date of the work is the editor's to give; status and "reviewed" are the workflow's.
    assert entry.status == EntryStatus.DRAFT and entry.reviewed_on is None
    assert entry.published_on.isoformat() == "2015-01-01"
    assert _anyone_finds("crises") == set()


def test_submitting_emails_every_lead_with_an_absolute_link(team):
    entry = _create(team)
    outcome = workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=current_app.extensions["kb.mail"],
                                         note="Ready for a look")
    assert outcome.entry.status == EntryStatus.IN_REVIEW and outcome.undelivered == []
    mail = {message.to: message for message in _outbox()}
    assert set(mail) == {"lee@example.nhs.uk", "liz@example.nhs.uk"}
    message = mail["lee@example.nhs.uk"]
    assert message.subject == "Review requested: Joint emergency teams"
    assert "http://kb.test/entries/joint-emergency-teams" in message.text
    assert 'href="http://kb.test/entries/joint-emergency-teams"' in message.html
    assert "Ready for a look" in message.text and "Ed Itor" in message.text
    history = db.session.scalars(select(Revision.summary).where(Revision.entry_id == entry.id).order_by(Revision.number))
    assert list(history) == ["First draft", "Submitted for review"]


def test_a_site_without_leads_sends_reviews_to_the_administrators(team):
    for membership in db.session.scalars(select(Membership).where(Membership.role == SiteRole.LEAD)):
        db.session.delete(membership)
    db.session.commit()
    entry = _create(team)
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=current_app.extensions["kb.mail"])
    assert [message.to for message in _outbox()] == ["ada@example.nhs.uk"]


def test_a_failing_mail_server_does_not_undo_the_submission(team):
    class Broken:
        def send(self, message):
            raise OSError("connection refused")

    entry = _create(team)
    outcome = workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=Broken())
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.IN_REVIEW
    assert len(outcome.undelivered) == 2


def test_publishing_records_who_and_when_and_makes_the_entry_findable(team):
    entry = _create(team)
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=current_app.extensions["kb.mail"])
    assert _anyone_finds("crises") == set()
    later = NOW + timedelta(days=2)
    workflow.publish_entry(team["lead"], entry.slug, now=later)
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert entry.status == EntryStatus.PUBLISHED
    assert entry.published_by_id == team["lead"].id
    assert entry.published_at.replace(tzinfo=timezone.utc) == later
    assert entry.published_on == later.date()
    assert _anyone_finds("crises") == {entry.id}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entry_published"))
    assert (event.actor_id, event.subject) == (team["lead"].id, "entry:joint-emergency-teams")


def test_archiving_takes_an_entry_out_of_search_and_return_to_draft_brings_it_back_to_work(team):
    entry = _create(team)
    workflow.publish_entry(team["lead"], entry.slug, now=NOW)
    assert _anyone_finds("crises") == {entry.id}
    workflow.archive_entry(team["lead"], entry.slug, now=NOW)
    assert _anyone_finds("crises") == set()
    workflow.return_to_draft(team["lead"], entry.slug, now=NOW)
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.DRAFT
    # Published again later: the first published date is kept, the update is dated.
    workflow.publish_entry(team["lead"], entry.slug, now=NOW + timedelta(days=30))
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert entry.published_on == NOW.date() and entry.updated_on == (NOW + timedelta(days=30)).date()


def _save(team, who, entry, base_version, key=None, **fields):
    record = {**entry_record(entry), **fields}
    return authoring.save_entry(team[who], entry.slug, record, base_version=base_version,
                                summary=f"Edit by {who}", minor=False, now=NOW, submission_key=key)


def test_the_same_form_posted_twice_makes_one_revision(team):
    entry = _create(team)
    first = _save(team, "editor", entry, 1, key="form-key-123456", title="Joint teams")
    second = _save(team, "editor", entry, 1, key="form-key-123456", title="Joint teams")
    assert second.duplicate and second.revision.id == first.revision.id
    assert db.session.scalar(select(func.count(Revision.id)).where(Revision.entry_id == entry.id)) == 2


def test_saving_without_changes_makes_no_revision(team):
    entry = _create(team)
    outcome = _save(team, "editor", entry, 1)
    assert outcome.unchanged and entry.version == 1


def test_edits_to_different_paragraphs_by_two_people_merge_cleanly(team):
    entry = _create(team)
    base = entry_record(entry)
    authoring.save_entry(team["other_editor"], entry.slug, {**base, "body": BODY.replace("monthly", "weekly")},
                         base_version=1, summary="Eve's edit", minor=False, now=NOW)
    outcome = authoring.save_entry(team["editor"], entry.slug, {**base, "body": BODY.replace("£2m", "£2.1m"),
                                                                "summary": "Crisis teams."},
                                   base_version=1, summary="Ed's edit", minor=True, now=NOW)
    assert outcome.merged_fields == ["body"]
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert "weekly" in entry.body and "£2.1m" in entry.body and entry.summary == "Crisis teams."
    assert entry.version == 3
    revision = db.session.scalar(select(Revision).where(Revision.entry_id == entry.id, Revision.number == 3))
    assert revision.minor and revision.author_id == team["editor"].id


def test_clashing_edits_raise_a_conflict_with_both_texts_and_save_nothing(team):
    entry = _create(team)
    base = entry_record(entry)
    authoring.save_entry(team["other_editor"], entry.slug, {**base, "body": BODY.replace("monthly", "weekly")},
                         base_version=1, summary="Eve's edit", minor=False, now=NOW)
    mine = BODY.replace("monthly", "every quarter")
    with pytest.raises(authoring.EditConflict) as caught:
        authoring.save_entry(team["editor"], entry.slug, {**base, "body": mine, "title": "New title"},
                             base_version=1, summary="Ed's edit", minor=False, now=NOW)
    conflict = caught.value
    assert [c.name for c in conflict.conflicts] == ["body"]
    assert conflict.mine["body"] == mine and conflict.mine["title"] == "New title"
    assert "weekly" in conflict.theirs["body"] and conflict.version == 2
    db.session.rollback()
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert entry.version == 2 and "weekly" in entry.body and entry.title == "Joint emergency teams"
    # Saving the resolution against the version the conflict reported goes through.
    resolved = authoring.save_entry(team["editor"], entry.slug, {**conflict.mine, "body": BODY.replace("monthly", "weekly, then every quarter")},
                                    base_version=conflict.version, summary="Resolved", minor=False, now=NOW)
    assert resolved.revision.number == 3 and "weekly, then every quarter" in resolved.entry.body


def test_restoring_an_old_revision_makes_a_new_one_and_keeps_the_status(team):
    entry = _create(team)
    _save(team, "editor", entry, 1, title="Renamed")
    workflow.submit_for_review(team["editor"], entry.slug, now=NOW, sender=current_app.extensions["kb.mail"])
    outcome = authoring.restore_revision(team["editor"], entry.slug, 1, now=NOW)
    assert outcome.revision.number == 4 and outcome.revision.summary == "Restored revision 1"
    db.session.expire_all()
    entry = db.session.get(Entry, entry.id)
    assert entry.title == "Joint emergency teams" and entry.status == EntryStatus.IN_REVIEW


@pytest.mark.parametrize(("fields", "where"), [
    ({"title": ""}, ("title",)),
    ({"themes": [{"theme": "no-such-theme", "polarity": "enabler", "note": "x"}]}, ("themes", 0, "theme")),
    ({"site": "nowhere"}, ("site",)),
    ({"links": [{"rel": "describes", "entry": "joint-emergency-teams"}]}, ("links", 0, "entry")),
    ({"type": "evidence"}, ("type",)),
    ({"summary": "x" * 501}, ("summary",)),
])
def test_invalid_records_are_refused_with_the_place_of_each_problem(team, fields, where):
    entry = _create(team)
    with pytest.raises(authoring.InvalidEntry) as caught:
        _save(team, "editor", entry, 1, **fields)
    assert where in [problem.loc for problem in caught.value.problems]
    db.session.rollback()
    assert db.session.get(Entry, entry.id).version == 1


def test_an_editor_may_not_move_an_entry_to_a_site_they_do_not_edit(team):
    make_site("otherton")
    entry = _create(team)
    with pytest.raises(NotAllowed):
        _save(team, "editor", entry, 1, site="otherton")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).site.slug == "ownshire"


def test_links_to_another_sites_draft_are_refused_as_unknown(team):
    hidden = make_entry("hidden-draft", site=make_site("otherton"), theme=team["theme"], status="draft", published=None)
    entry = _create(team)
    with pytest.raises(authoring.InvalidEntry) as caught:
        _save(team, "editor", entry, 1, links=[{"rel": "describes", "entry": hidden.slug}])
    assert "there is no entry 'hidden-draft'" in str(caught.value)


def test_slugs_of_the_editors_own_pages_are_never_given_to_entries(team):
    assert _create(team, title="New").slug == "new-2"
    with pytest.raises(authoring.InvalidEntry) as caught:
        authoring.create_entry(team["editor"], _record(), slug="preview", summary="", minor=False, now=NOW)
    assert "reserved" in str(caught.value)


def test_a_body_with_a_nul_character_is_refused(team):
    with pytest.raises(authoring.InvalidEntry) as caught:
        _create(team, body="Before\x00after")
    assert caught.value.problems[0].loc == ("body",)
