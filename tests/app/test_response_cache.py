"""Stored public pages and ETags (kb/caching.py): a stored page is served again without being
rendered, a save, a publish, an archive or a change of roles shows at once, and no page reaches a
reader it was not made for.

Whether a page came from the store is observed, not assumed: every SQL statement the request ran
(SQLAlchemy's ``before_cursor_execute``) and every template it rendered (Flask's
``template_rendered``). A stored page runs one statement, the data version's read, and renders
nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Iterator

import pytest
from bs4 import BeautifulSoup
from flask import request, template_rendered
from sqlalchemy import event

from kb.caching import BoundedSimpleCache
from kb.extensions import db
from kb.models import Membership, NetworkRole, SiteRole
from kb.search import backend
from kb.search.indexing import DEFER_DRAIN, drain
from kb.services import authoring, dataversion, users
from kb.services.records import entry_record
from tests.app.test_authoring import fill, form_values, page_form, token
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import main_text

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
ENTRY = "/entries/joint-teams"
PUBLIC = ["/", "/sites/", "/sites/leeds", "/themes/", "/themes/leadership", ENTRY, "/glossary"]
# Where an entry of Leeds tagged with leadership shows: its own page aside.
LISTINGS = ["/", "/sites/leeds", "/themes/leadership"]


@pytest.fixture
def world(app):
    """Leeds with an editor and a lead, a member, an administrator; a published entry, a
    network-only one and a draft, all tagged with leadership."""
    leeds, leadership = make_site("leeds", name="Leeds"), make_theme("leadership", name="Leadership")
    editor = make_user("ed@example.nhs.uk", name="Ed Editor")
    lead = make_user("lee@example.nhs.uk", name="Lee Lead")
    member = make_user("mo@example.nhs.uk", name="Mo Member")
    admin = make_user("ada@example.nhs.uk", name="Ada Admin", network_role=NetworkRole.ADMIN)
    db.session.add_all([Membership(user=editor, site=leeds, role=SiteRole.EDITOR),
                        Membership(user=lead, site=leeds, role=SiteRole.LEAD)])
    db.session.commit()
    make_entry("joint-teams", site=leeds, theme=leadership, title="Joint emergency teams",
               body="Nurses and social workers answered crises together.")
    make_entry("network-briefing", site=leeds, theme=leadership, title="Members-only briefing on targets",
               visibility="network")
    make_entry("draft-plan", site=leeds, theme=leadership, title="Unfinished discharge plan",
               status="draft", published=None)
    return SimpleNamespace(app=app, editor=editor, lead=lead, member=member, admin=admin)


@dataclass
class Seen:
    """What one request did: its SQL statements and the templates it rendered."""

    sql: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)

    @property
    def from_store(self) -> bool:
        return not self.templates and len(self.sql) == 1 and "data_version" in self.sql[0]


@contextmanager
def observing(app) -> Iterator[Seen]:  # noqa: ANN001
    seen = Seen()

    def on_sql(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.sql.append(statement)

    def on_render(_sender, template, **_extra) -> None:  # noqa: ANN001
        seen.templates.append(template.name)

    event.listen(db.engine, "before_cursor_execute", on_sql)
    template_rendered.connect(on_render, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(on_render, app)
        event.remove(db.engine, "before_cursor_execute", on_sql)


def fetch(client, url: str, **kwargs):  # noqa: ANN001
    """GET ``url``; the response and what serving it did."""
    with observing(client.application) as seen:
        response = client.get(url, **kwargs)
    return response, seen


def text(response) -> str:  # noqa: ANN001
    return main_text(BeautifulSoup(response.get_data(as_text=True), "html.parser"))


def edit(client, slug: str, **fields) -> None:  # noqa: ANN001
    """Save the entry through its edit form, as an editor in a browser would."""
    values = fill(page_form(client, f"/entries/{slug}/edit"), edit_summary="Changed in a test", **fields)
    response = client.post(f"/entries/{slug}/edit", data=values)
    assert response.status_code == 302, text(response)


def step(client, slug: str, action: str) -> None:  # noqa: ANN001
    """A workflow button on the entry's page (publish, archive …); Publish through its
    confirmation page, as a lead in a browser does."""
    if action == "publish":
        confirm = client.get(f"/entries/{slug}/publish").get_data(as_text=True)
        data = form_values(confirm, "#confirm-publish")
    else:
        data = {"csrf_token": token(client, f"/entries/{slug}")}
    response = client.post(f"/entries/{slug}/{action}", data=data)
    assert response.status_code == 302, response.status_code


# --- served from the store --------------------------------------------------------------------------


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_page_is_served_again_from_the_store_with_only_the_version_read(world, url):
    anonymous = world.app.test_client()
    first, rendering = fetch(anonymous, url)
    assert first.status_code == 200 and rendering.templates and not rendering.from_store
    again, seen = fetch(anonymous, url)
    assert seen.from_store, seen
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert again.headers["ETag"] == first.headers["ETag"]
    # Another reader who is not signed in gets the same stored page.
    other, seen = fetch(world.app.test_client(), url)
    assert seen.from_store and other.get_data() == first.get_data()


def test_search_pages_are_never_stored(world):
    anonymous = world.app.test_client()
    fetch(anonymous, "/search?q=teams")
    again, seen = fetch(anonymous, "/search?q=teams")
    assert again.status_code == 200 and seen.templates and "Joint emergency teams" in text(again)


def test_the_query_string_is_part_of_the_key(world):
    anonymous = world.app.test_client()
    fetch(anonymous, "/themes/leadership")
    _, seen = fetch(anonymous, "/themes/leadership?enablers=1")
    assert not seen.from_store


# --- no stale page after a change ------------------------------------------------------------------


def _warm(client, urls) -> dict[str, str]:  # noqa: ANN001
    pages = {}
    for url in urls:
        fetch(client, url)
        response, seen = fetch(client, url)
        assert seen.from_store, url
        pages[url] = text(response)
    return pages


def test_an_editors_save_of_a_published_entry_shows_at_once_on_every_page(world):
    anonymous = world.app.test_client()
    before = _warm(anonymous, LISTINGS + [ENTRY])
    assert all("Joint emergency teams" in page for page in before.values())
    edit(world.app.test_client(user=world.lead), "joint-teams", title="Joint crisis teams",
         body="Paramedics joined the crisis teams in 2016.")
    for url in LISTINGS + [ENTRY]:
        response, seen = fetch(anonymous, url)
        page = text(response)
        assert "Joint crisis teams" in page and "Joint emergency teams" not in page, url
        assert not seen.from_store
    entry_page = text(anonymous.get(ENTRY))
    assert "Paramedics joined" in entry_page and "Nurses and social workers" not in entry_page


def test_a_published_draft_appears_at_once_on_home_theme_and_site_pages(world):
    anonymous = world.app.test_client()
    before = _warm(anonymous, LISTINGS)
    assert not any("Unfinished discharge plan" in page for page in before.values())
    assert anonymous.get("/entries/draft-plan").status_code == 404
    step(world.app.test_client(user=world.lead), "draft-plan", "publish")
    for url in LISTINGS:
        assert "Unfinished discharge plan" in text(anonymous.get(url)), url
    published = anonymous.get("/entries/draft-plan")
    assert published.status_code == 200 and "Unfinished discharge plan" in text(published)


@pytest.mark.parametrize("how", ["network-only", "archived"])
def test_an_entry_made_network_only_or_archived_is_gone_at_once_for_anonymous_readers(world, how):
    anonymous = world.app.test_client()
    before = _warm(anonymous, LISTINGS + [ENTRY])
    assert all("Joint emergency teams" in page for page in before.values())
    if how == "network-only":
        edit(world.app.test_client(user=world.lead), "joint-teams", visibility="network")
    else:
        step(world.app.test_client(user=world.lead), "joint-teams", "archive")
    for url in LISTINGS:
        assert "Joint emergency teams" not in text(anonymous.get(url)), url
    gone = anonymous.get(ENTRY)
    assert gone.status_code == 404 and "Joint emergency teams" not in gone.get_data(as_text=True)
    assert "ETag" not in gone.headers


def test_a_change_that_waits_for_the_search_index_is_stored_only_once_the_index_has_it(world):
    """Entry pages list similar entries from the index, written just after a commit: a page read
    while a change is queued for the index is served but not stored."""
    anonymous = world.app.test_client()
    _warm(anonymous, [ENTRY])
    record = entry_record(authoring.entry_for(world.lead, "joint-teams"))
    db.session.info[DEFER_DRAIN] = True  # as a bulk import does: the index is written later
    try:
        authoring.save_entry(world.lead, "joint-teams", {**record, "title": "Joint crisis teams"},
                             base_version=1, summary="Retitled", minor=False, now=NOW)
    finally:
        db.session.info.pop(DEFER_DRAIN)
    for _ in range(2):
        response, seen = fetch(anonymous, ENTRY)
        assert "Joint crisis teams" in text(response) and not seen.from_store
    assert drain(backend(), wait=True)
    fetch(anonymous, ENTRY)
    response, seen = fetch(anonymous, ENTRY)
    assert seen.from_store and "Joint crisis teams" in text(response)


def test_role_changes_and_deactivation_show_at_once(world):
    lead, member = world.app.test_client(user=world.lead), world.app.test_client(user=world.member)
    assert "Archive" in text(lead.get(ENTRY))
    assert "Members-only briefing" in text(member.get("/"))
    anonymous = world.app.test_client()
    _warm(anonymous, [ENTRY])
    version = dataversion.current()

    users.set_site_role(world.admin, world.lead.id, "leeds", None, now=NOW)
    assert dataversion.current() > version
    former_lead = text(lead.get(ENTRY))
    assert "Joint emergency teams" in former_lead and "Archive" not in former_lead
    assert "Edit this entry" not in former_lead
    _, seen = fetch(anonymous, ENTRY)
    assert not seen.from_store  # the version moved, so the stored page is not used

    users.deactivate(world.admin, world.member.id, now=NOW)
    assert "Members-only briefing" not in text(member.get("/"))
    assert member.get("/entries/network-briefing").status_code == 404


# --- no page for someone else ------------------------------------------------------------------------


def test_a_members_page_is_never_served_to_an_anonymous_reader(world):
    member = world.app.test_client(user=world.member)
    for url in LISTINGS:
        response, seen = fetch(member, url)
        assert "Members-only briefing" in text(response), url
        assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
        assert seen.templates
    anonymous = world.app.test_client()
    for url in LISTINGS:
        response, seen = fetch(anonymous, url)
        assert "Members-only briefing" not in text(response) and not seen.from_store, url
    assert anonymous.get("/entries/network-briefing").status_code == 404


def test_a_stored_page_is_never_served_to_a_signed_in_person(world):
    anonymous = world.app.test_client()
    before = _warm(anonymous, LISTINGS + [ENTRY])
    assert "Edit this entry" not in before[ENTRY]
    lead = world.app.test_client(user=world.lead)
    response, seen = fetch(lead, ENTRY)
    assert "Edit this entry" in text(response) and "Archive" in text(response) and seen.templates
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    for url in LISTINGS:
        response, seen = fetch(world.app.test_client(user=world.member), url)
        assert "Members-only briefing" in text(response) and seen.templates, url
    # An editor sees their site's draft, which readers not signed in are told does not exist.
    assert anonymous.get("/entries/draft-plan").status_code == 404
    draft = world.app.test_client(user=world.editor).get("/entries/draft-plan")
    assert draft.status_code == 200 and "This entry is a draft" in text(draft)
    # Even one that sends the stored page's ETag gets the page meant for them.
    etag = anonymous.get(ENTRY).headers["ETag"]
    answer = lead.get(ENTRY, headers={"If-None-Match": etag})
    assert answer.status_code == 200 and "Edit this entry" in text(answer)


def test_a_reader_with_a_flashed_message_gets_it_and_nobody_else_does(world):
    anonymous = world.app.test_client()
    _warm(anonymous, ["/"])
    flashed = world.app.test_client()
    with flashed.session_transaction() as session:
        session["_flashes"] = [("success", "Only for this reader")]
    response, seen = fetch(flashed, "/")
    assert "Only for this reader" in text(response) and seen.templates
    response, seen = fetch(world.app.test_client(), "/")
    assert "Only for this reader" not in text(response) and seen.from_store


def test_pages_are_stored_only_from_readers_without_a_session(world):
    """A reader whose session holds just a form token (they opened the sign-in page) is served
    stored pages, but what is rendered for them is not stored."""
    visitor = world.app.test_client()
    assert visitor.get("/sign-in").headers.get("Set-Cookie")
    _, seen = fetch(visitor, "/themes/")
    assert seen.templates
    _, seen = fetch(visitor, "/themes/")
    assert seen.templates  # not stored from a request with a session
    fetch(world.app.test_client(), "/themes/")
    _, seen = fetch(visitor, "/themes/")
    assert seen.from_store


# --- ETag and 304 ------------------------------------------------------------------------------------


def test_a_matching_etag_gets_304_and_a_change_gets_the_new_page(world):
    anonymous = world.app.test_client()
    first = anonymous.get(ENTRY)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache" and "Cookie" in first.headers["Vary"]
    unchanged = anonymous.get(ENTRY, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b"" and unchanged.headers["ETag"] == etag
    edit(world.app.test_client(user=world.lead), "joint-teams", title="Joint crisis teams")
    changed = anonymous.get(ENTRY, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Joint crisis teams" in text(changed)
    assert changed.headers["ETag"] != etag
    again = anonymous.get(ENTRY, headers={"If-None-Match": changed.headers["ETag"]})
    assert again.status_code == 304


# --- what is never stored ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/entries/draft-plan", "/entries/no-such-entry", "/sites/atlantis"])
def test_error_pages_are_never_stored(world, url):
    anonymous = world.app.test_client()
    for _ in range(2):
        response, seen = fetch(anonymous, url)
        assert response.status_code == 404 and seen.templates
        assert "ETag" not in response.headers


def test_a_response_that_sets_a_cookie_is_never_stored(world):
    @world.app.after_request
    def _cookie_on_request(response):  # noqa: ANN001, ANN202 - stands for any part that sets one
        if "cookie" in request.args:
            response.set_cookie("tracking", "reader-1")
        return response

    anonymous = world.app.test_client()
    for _ in range(2):
        response, seen = fetch(anonymous, "/glossary?cookie")
        assert "tracking=reader-1" in response.headers["Set-Cookie"] and seen.templates
    fetch(world.app.test_client(), "/glossary")
    _, seen = fetch(world.app.test_client(), "/glossary")
    assert seen.from_store  # the same page without the cookie is stored as usual


def test_the_in_memory_store_stays_within_its_bounds():
    store = BoundedSimpleCache(threshold=50, default_timeout=600, max_bytes=100_000)
    for number in range(200):
        store.set(f"page-{number}", {"body": bytes(5_000)})
        assert store.size <= 100_000 and len(store._cache) <= 50
    assert store.get("page-199") == {"body": bytes(5_000)}
    store.clear()
    assert store.size == 0
