"""Counts on the browse pages are kept per data version: never stale after a change, never
counting what the reader may not see (kb/services/dataversion.py, listing counts in services)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import event, select

from kb.extensions import db
from kb.models import Entry, Membership, NetworkRole, Polarity, SiteRole, User
from kb.search import backend
from kb.services import audit, authoring, dataversion, entries, search, sites, themes, users, workflow
from kb.services.permissions import can_view_entry
from tests.conftest import _make_app
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import get_page, main_text, text_of

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(app):
    site = make_site("countshire", name="Countshire")
    theme = make_theme("pooled-budgets", name="Pooled budgets")
    people = {
        "lead": make_user("lead@example.nhs.uk", name="Lee"),
        "editor": make_user("editor@example.nhs.uk", name="Ed"),
        "member": make_user("member@example.nhs.uk", name="Mem"),
        "admin": make_user("admin@example.nhs.uk", name="Ada", network_role=NetworkRole.ADMIN),
        "inactive": make_user("gone@example.nhs.uk", name="Gone", active=False),
    }
    db.session.add_all([Membership(user=people["lead"], site=site, role=SiteRole.LEAD),
                        Membership(user=people["editor"], site=site, role=SiteRole.EDITOR)])
    db.session.commit()
    make_entry("public-one", site=site, theme=theme, title="Public one")
    make_entry("network-one", site=site, theme=theme, title="Network one", visibility="network")
    make_entry("draft-one", site=site, theme=theme, title="Draft one", status="draft", published=None)
    return {"site": site, "theme": theme, **people}


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text[:300]!r}"
    return int(found.group(1))


# What each count is, where it is shown and how it reads there (section: within that element only).
COUNTS = {
    "home case studies": ("/", r"Case studies (\d+) entr", None),
    "home theme enablers": ("/", r"Pooled budgets \(\s*(\d+) enabler", None),
    "themes index enablers": ("/themes/", r"Pooled budgets .*? (\d+) enablers?,", None),
    "theme page enablers": ("/themes/pooled-budgets", r"What helped \(\s*(\d+)\s*\)", "kb-side--enabler"),
    "site entries": ("/sites/countshire", r"Entries from Countshire \(\s*(\d+)\s*\)", None),
    "site profile enablers": ("/sites/countshire", r"Pooled budgets (\d+) \d+", None),
}


def counts_seen(client) -> dict[str, int | None]:
    """Every count the browse pages show for Countshire and the pooled budgets theme (None where a
    page shows none: a site with no entries shows neither a count nor a theme profile)."""
    result: dict[str, int | None] = {}
    for name, (url, pattern, section) in COUNTS.items():
        page = get_page(client, url)
        text = text_of(page.find("section", class_=section)) if section else main_text(page)
        found = re.search(pattern, text)
        result[name] = int(found.group(1)) if found else None
    return result


def all_equal(counts: dict[str, int], n: int) -> bool:
    return set(counts.values()) == {n}


def test_publishing_an_entry_changes_every_count_at_once(app, world):
    anonymous, member = app.test_client(), app.test_client(user=world["member"])
    assert all_equal(counts_seen(anonymous), 1), counts_seen(anonymous)
    assert all_equal(counts_seen(member), 2)

    workflow.publish_entry(world["lead"], "draft-one", now=NOW)

    assert all_equal(counts_seen(anonymous), 2), counts_seen(anonymous)
    assert all_equal(counts_seen(member), 3), counts_seen(member)
    assert "Draft one" in main_text(get_page(anonymous, "/themes/pooled-budgets"))


def test_archiving_an_entry_takes_it_out_of_every_count_at_once(app, world):
    anonymous = app.test_client()
    assert all_equal(counts_seen(anonymous), 1)
    workflow.archive_entry(world["lead"], "public-one", now=NOW)
    assert counts_seen(anonymous) == {"home case studies": 0, "home theme enablers": 0, "themes index enablers": 0,
                                      "theme page enablers": 0, "site entries": None, "site profile enablers": None}
    assert "There are no published entries from this site yet." in main_text(get_page(anonymous, "/sites/countshire"))


def test_making_an_entry_network_only_takes_it_out_of_anonymous_counts_at_once(app, world):
    anonymous, member = app.test_client(), app.test_client(user=world["member"])
    assert all_equal(counts_seen(anonymous), 1)
    entry, record = authoring.editable_record(world["lead"], "public-one")
    authoring.save_entry(world["lead"], "public-one", {**record, "visibility": "network"},
                         base_version=entry.version, summary="Members only", minor=False, now=NOW)
    seen = counts_seen(anonymous)
    assert seen["home case studies"] == seen["theme page enablers"] == seen["themes index enablers"] == 0
    assert seen["site entries"] is None
    assert all_equal(counts_seen(member), 2)


def test_a_network_only_entry_is_counted_for_members_never_for_anonymous_readers(app, world):
    anonymous, member = app.test_client(), app.test_client(user=world["member"])
    # Asked in both orders, so that neither reader's counts can be served to the other.
    assert all_equal(counts_seen(member), 2)
    assert all_equal(counts_seen(anonymous), 1)
    assert all_equal(counts_seen(member), 2)
    assert "Network one" not in main_text(get_page(anonymous, "/themes/pooled-budgets"))
    assert "Network one" not in main_text(get_page(anonymous, "/sites/countshire"))


def test_drafts_are_counted_for_nobody_not_even_the_people_writing_them(app, world):
    for person in ("editor", "lead", "admin"):
        client = app.test_client(user=world[person])
        assert all_equal(counts_seen(client), 2), (person, counts_seen(client))
        assert "Draft one" not in main_text(get_page(client, "/themes/pooled-budgets"))
        assert "Draft one" not in main_text(get_page(client, "/sites/countshire"))


def test_counts_for_every_kind_of_reader_are_exactly_what_they_may_read(app, world):
    readers = {"anonymous": AnonymousUserMixin(), **{k: world[k] for k in ("member", "editor", "lead", "admin", "inactive")}}
    every_entry = list(db.session.scalars(select(Entry)))
    for _ in range(2):  # the second round is served from the memo
        for name, reader in readers.items():
            readable = [e for e in every_entry if can_view_entry(reader, e)]
            assert entries.count_visible(reader) == {
                "case_study": len(readable), "intervention": 0, "evidence": 0}, name
            tags = Counter((t.theme_id, t.polarity) for e in readable for t in e.theme_tags)
            assert dict(themes.tag_counts(reader)) == dict(tags), name
            profile = sites.theme_profile(world["site"], reader)
            assert [(b.theme.slug, b.enablers, b.barriers) for b in profile] == (
                [("pooled-budgets", len(readable), 0)] if readable else []), name
            newest_first = sorted(readable, key=lambda e: (-e.published_on.toordinal(), e.title, e.id))
            assert [c.slug for c in entries.latest_entries(reader)] == [e.slug for e in newest_first], name
    assert Polarity.ENABLER in {p for _, p in themes.tag_counts(readers["member"])}


def test_reading_pages_does_not_move_the_data_version(app, world):
    before = dataversion.current()
    for client in (app.test_client(), app.test_client(user=world["member"])):
        for url in ("/", "/themes/", "/themes/pooled-budgets", "/sites/", "/sites/countshire", "/glossary",
                    "/entries/public-one", "/search?q=one"):
            get_page(client, url)
    db.session.rollback()  # a new transaction, so that a change committed meanwhile would show
    assert dataversion.current() == before


def test_a_commit_moves_the_data_version_and_a_rollback_does_not(app, world):
    before = dataversion.current()
    entry = db.session.scalar(select(Entry).where(Entry.slug == "public-one"))
    entry.title = "Renamed but rolled back"
    db.session.flush()
    db.session.rollback()
    assert dataversion.current() == before

    audit.record("sign_in_failed", actor=None, subject="user:nobody@example.nhs.uk", now=NOW)
    db.session.commit()  # bookkeeping only: no reader sees audit events on these pages
    assert dataversion.current() == before

    sites.save_site(world["admin"], "countshire", {**sites.site_for_editing(world["admin"], "countshire")[1],
                                                     "name": "Countshire and District"}, now=NOW)
    after_site = dataversion.current()
    assert after_site > before

    users.set_site_role(world["admin"], world["member"].id, "countshire", SiteRole.EDITOR, now=NOW)
    assert dataversion.current() > after_site


def test_a_change_committed_by_another_worker_is_seen_at_once(app, world):
    """Two apps on one database stand for two gunicorn workers, each with its own memo."""
    reader = app.test_client()
    assert all_equal(counts_seen(reader), 1)
    other = _make_app(app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"])
    lead_id = world["lead"].id
    with other.app_context():
        try:
            workflow.publish_entry(db.session.get(User, lead_id), "draft-one", now=NOW)
        finally:
            db.session.remove()
            db.engine.dispose()
            backend().close()
    assert all_equal(counts_seen(reader), 2), counts_seen(reader)


def test_listing_queries_read_indexes_and_only_the_rows_they_show(app, world):
    """The listing and count queries never scan the entry table; on SQLite they read entry rows
    only by id (a page's own rows), everything else from the covering indexes of migration 0009."""
    captured: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        captured.append((statement, parameters))

    anonymous = AnonymousUserMixin()
    dataversion.clear_memo()
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        themes.theme_sides(world["theme"], anonymous)
        themes.themes_by_group(anonymous)
        sites.site_entries(world["site"], anonymous)
        sites.site_entries(world["site"], anonymous, involved=True)
        sites.theme_profile(world["site"], anonymous)
        entries.latest_entries(anonymous)
        entries.count_visible(anonymous)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    listing = [(s, p) for s, p in captured if "entry" in s and "data_version" not in s]
    assert len(listing) >= 7
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        for statement, parameters in listing:
            if sqlite:
                plan = [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                reads = [step for step in plan if re.match(r"(SCAN|SEARCH) entry\b", step)]
                assert reads, plan
                for step in reads:
                    assert "USING COVERING INDEX" in step or "INTEGER PRIMARY KEY" in step, (statement, plan)
            else:
                connection.exec_driver_sql("SET enable_seqscan = off")
                plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
                assert "Seq Scan on entry" not in plan, (statement, plan)
                assert "Index" in plan, plan


def test_cards_picked_by_id_are_read_by_primary_key_and_checked_per_reader(app, world):
    """Search results and similar entries are cards of entries the index picked by id. They are
    looked up by primary key — not by walking a listing index over every published entry, which
    SQLite's planner chose when the reading rule was in the query — and each is still checked
    against the reader, so what the index says cannot show a draft or a network-only entry."""
    ids = {e.slug: e.id for e in db.session.scalars(select(Entry))}
    captured: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        anonymous = search._readable_cards(list(ids.values()), AnonymousUserMixin())
        member = search._readable_cards(list(ids.values()), world["member"])
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert {card.slug for card in anonymous.values()} == {"public-one"}
    assert {card.slug for card in member.values()} == {"public-one", "network-one"}
    assert anonymous[ids["public-one"]].site.name == "Countshire"
    lookups = [(s, p) for s, p in captured if "FROM entry" in s]
    assert len(lookups) == 2
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            for statement, parameters in lookups:
                plan = [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                assert any(step.startswith("SEARCH entry USING INTEGER PRIMARY KEY") for step in plan), plan
