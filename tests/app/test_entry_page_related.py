"""An entry page's "Related entries" are worked out once per version of the entry and kept
(kb.search.similar), its body is rendered once per text (kb.views.entries.body_html) — and
neither ever shows a reader an entry they may not read, or a stale body."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_login import AnonymousUserMixin
from sqlalchemy import select

from kb.extensions import db
from kb.models import Entry, NetworkRole
from kb.search import backend
from kb.search.similar import Similar, key_terms
from kb.services import authoring, search, workflow
from tests.factories import make_entry, make_user
from tests.pages import get_page, main_text

SLUG = "sheffield-pooled-budget"
LATER = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def _similar(client, slug: str = SLUG) -> list[str]:
    return [a["href"].rsplit("/", 1)[1] for a in get_page(client, f"/entries/{slug}").find(id="similar-entries").find_all("a")]


def _entry(slug: str) -> Entry:
    return db.session.scalar(select(Entry).where(Entry.slug == slug))


def _copy_of(slug: str, copy: str, **fields) -> Entry:
    """A new entry with the words of ``slug``: the entry most like it, wherever it may be seen."""
    original = _entry(slug)
    return make_entry(copy, title=original.title, summary=original.summary, body=original.body, **fields)


def _admin():
    return make_user(network_role=NetworkRole.ADMIN)


def _save(user, slug: str, **changes) -> None:
    entry, record = authoring.editable_record(user, slug)
    authoring.save_entry(user, slug, {**record, **changes}, base_version=entry.version, summary="A change",
                         minor=False, now=LATER)
    db.session.expire_all()


def test_related_entries_are_kept_until_the_entry_has_a_new_version(content_app, content_client):
    first = _similar(content_client)
    _copy_of(SLUG, "near-copy")
    # The list kept for this version of the entry is shown again: the new entry joins it only
    # at the entry's next version (as kb.search.similar says).
    assert _similar(content_client) == first and "near-copy" not in first
    _save(_admin(), SLUG, summary=_entry(SLUG).summary + " Now with a new version.")
    assert _similar(content_client)[0] == "near-copy"


def test_network_and_draft_entries_never_reach_an_anonymous_reader_from_a_list_a_member_filled(
        content_app, content_client):
    _copy_of(SLUG, "network-copy", visibility="network")
    _copy_of(SLUG, "draft-copy", status="draft", published=None)
    member = content_app.test_client(user=make_user())
    member_list = _similar(member)
    assert member_list[0] == "network-copy" and "draft-copy" not in member_list
    anonymous_list = _similar(content_client)
    assert not {"network-copy", "draft-copy"} & set(anonymous_list) and len(anonymous_list) == 5
    # The same holds for the service itself, asked straight after the member's view.
    entry = _entry(SLUG)
    found = search.similar_entries(entry, AnonymousUserMixin())
    assert found and all(e.visibility.value == "public" for e in found)
    assert all(_entry(e.slug).status.value == "published" and _entry(e.slug).visibility.value == "public" for e in found)
    assert not {"network-copy", "draft-copy"} & {e.slug for e in found}


def test_an_entry_made_network_only_or_archived_leaves_kept_lists_at_once(content_app, content_client):
    _copy_of(SLUG, "public-copy")
    member = content_app.test_client(user=make_user())
    assert _similar(content_client)[0] == "public-copy" and _similar(member)[0] == "public-copy"
    admin = _admin()
    _save(admin, "public-copy", visibility="network")
    anonymous_list = _similar(content_client)
    assert "public-copy" not in anonymous_list and len(anonymous_list) == 5  # spares keep the list full
    assert _similar(member)[0] == "public-copy"
    workflow.archive_entry(admin, "public-copy", now=LATER)
    db.session.expire_all()
    assert "public-copy" not in _similar(member) and "public-copy" not in _similar(content_client)
    assert get_page(content_client, "/entries/public-copy", 404)


def test_a_kept_list_still_names_only_entries_that_exist(content_app, content_client):
    copy = _copy_of(SLUG, "short-lived")
    assert _similar(content_client)[0] == "short-lived"
    db.session.delete(copy)
    db.session.commit()
    assert "short-lived" not in _similar(content_client)


def test_key_terms_are_the_ones_whoosh_picks(content_app):
    searcher = backend().store.open_searcher()
    remembered = Similar()
    try:
        checked = 0
        for docnum in range(searcher.doc_count_all()):
            stored = searcher.stored_fields(docnum)
            text = " ".join([stored["title"], stored["summary"], stored["body"]])
            expected = searcher.key_terms_from_text("body", text, numterms=12)
            assert key_terms(searcher, "body", text, 12) == expected
            assert key_terms(searcher, "body", text, 12, remembered.frequencies) == expected
            checked += 1
        assert checked >= 40
    finally:
        searcher.close()


def test_kept_answers_are_bounded(content_app):
    kept = Similar(capacity=3)
    searcher = backend().store.open_searcher()
    try:
        ids = [int(searcher.stored_fields(d)["id"]) for d in range(5)]
        for entry_id in ids:
            assert kept.related(searcher, None, entry_id, ("anyone",), 5, lambda docnum: [docnum]) == \
                [searcher.document_number(id=str(entry_id))]
        assert len(kept) == 3
        # The oldest answers went; a kept one is not worked out again.
        assert kept.related(searcher, None, ids[-1], ("anyone",), 5, lambda docnum: ["worked out again"]) != \
            ["worked out again"]
        assert kept.related(searcher, None, ids[0], ("anyone",), 5, lambda docnum: ["worked out again"]) == \
            ["worked out again"]
    finally:
        searcher.close()


def test_a_saved_body_is_shown_at_once(content_app, content_client):
    old = "Bodies are rendered once per text"
    _save(_admin(), SLUG, body=f"{old}, and this one is shown.")
    assert old in main_text(get_page(content_client, f"/entries/{SLUG}"))
    _save(_admin(), SLUG, body="A wholly new body about **zebra crossings**.")
    page = get_page(content_client, f"/entries/{SLUG}")
    assert "zebra crossings" in main_text(page) and old not in main_text(page)
    assert page.find(class_="kb-prose").find("strong").get_text() == "zebra crossings"
