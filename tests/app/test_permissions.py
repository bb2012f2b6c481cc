"""The permission matrix: every role × every action × own site / other site, through the services.

Each cell states the outcome — done, refused (403: the thing is known but not theirs to change)
or hidden (404: they may not know it exists) — and checks it. A refused or hidden action must
change nothing at all: every cell compares the whole state of the database and the outbox
before and after.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pytest
from flask import current_app
from flask_login import AnonymousUserMixin
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AuditEvent, Entry, Membership, NetworkRole, Revision, Site, SiteRole, Theme, User
from kb.services import audit, authoring, entries, sites, themes, users, workflow
from kb.services.errors import NotAllowed, NotFound
from kb.services.records import entry_record, site_record
from tests.conftest import Database, _app_from, _serve
from tests.factories import make_entry, make_site, make_theme, make_user

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
ROLES = ("anonymous", "member", "editor", "lead", "admin")
OK, FORBIDDEN, HIDDEN = "done", "403", "404"
SITE_SLUGS = {"own": "ownshire", "other": "otherton"}


def _build_world() -> None:
    theme = make_theme("leadership")
    places = {key: make_site(slug) for key, slug in SITE_SLUGS.items()}
    for key, site in places.items():
        make_entry(f"{key}-public", site=site, theme=theme, title=f"{key} public")
        make_entry(f"{key}-network", site=site, theme=theme, title=f"{key} network", visibility="network")
        make_entry(f"{key}-draft", site=site, theme=theme, title=f"{key} draft", status="draft", published=None)
        make_entry(f"{key}-review", site=site, theme=theme, title=f"{key} review", status="in_review", published=None)
        make_entry(f"{key}-archived", site=site, theme=theme, title=f"{key} archived", status="archived")
        # A second revision, so that restoring revision 1 has something to restore.
        setup = make_user(f"setup-{key}@example.nhs.uk", network_role=NetworkRole.ADMIN)
        draft = _entry(f"{key}-draft")
        authoring.save_entry(setup, draft.slug, {**entry_record(draft), "summary": "Changed."},
                             base_version=draft.version, summary="Second", minor=False, now=NOW)
        setup.active = False  # the setup accounts play no part in the matrix
    people = {role: make_user(f"{role}@example.nhs.uk") for role in ("member", "editor", "lead")}
    make_user("admin@example.nhs.uk", network_role=NetworkRole.ADMIN)
    db.session.add(Membership(user=people["editor"], site=places["own"], role=SiteRole.EDITOR))
    db.session.add(Membership(user=people["lead"], site=places["own"], role=SiteRole.LEAD))
    db.session.commit()


@pytest.fixture(scope="module")
def world_template(db_templates, tmp_path_factory) -> Iterator[Database]:
    """The matrix's world built once (entries, revisions, people), copied for every cell."""
    world = db_templates["empty"].copy(tmp_path_factory.mktemp("matrix"))
    with _serve(world):
        _build_world()
    yield world
    world.drop()


@pytest.fixture
def world(world_template, tmp_path):
    """An app over a copy of the world, with an app context pushed."""
    yield from _app_from(world_template, tmp_path)


def _actor(role: str) -> Any:
    if role == "anonymous":
        return AnonymousUserMixin()
    return db.session.scalar(select(User).where(User.email == f"{role}@example.nhs.uk"))


def _member_id() -> int:
    return db.session.scalar(select(User.id).where(User.email == "member@example.nhs.uk"))


def _site(slug: str) -> Site:
    return db.session.scalar(select(Site).where(Site.slug == slug))


def _entry(slug: str) -> Entry:
    return db.session.scalar(select(Entry).where(Entry.slug == slug))


def _new_record(site: str) -> dict[str, Any]:
    return {
        "title": "A new entry", "type": "intervention", "site": site, "summary": "New.",
        "themes": [{"theme": "leadership", "polarity": "barrier", "note": "Slow decisions"}],
        "sources": [{"title": "Minutes"}], "body": "Text.",
    }


def _edit(slug: str) -> Callable[[Any], Any]:
    def run(user: Any) -> Any:
        entry = _entry(slug)
        record = {**entry_record(entry), "title": entry.title + " (edited)"}
        return authoring.save_entry(user, slug, record, base_version=entry.version, summary="Edit",
                                    minor=False, now=NOW)
    return run


def _sender(app):
    return app.extensions["kb.mail"]


# action name -> (what it does to a site's data, given the site key "own"/"other")
ACTIONS: dict[str, Callable[[str], Callable[[Any], Any]]] = {
    "read published public entry": lambda s: lambda u: entries.get_visible_entry(f"{s}-public", u),
    "read published network entry": lambda s: lambda u: entries.get_visible_entry(f"{s}-network", u),
    "read draft": lambda s: lambda u: entries.get_visible_entry(f"{s}-draft", u),
    "read archived entry": lambda s: lambda u: entries.get_visible_entry(f"{s}-archived", u),
    "create entry": lambda s: lambda u: authoring.create_entry(
        u, _new_record(SITE_SLUGS[s]), slug=None, summary="", minor=False, now=NOW),
    "edit draft": lambda s: _edit(f"{s}-draft"),
    "edit entry in review": lambda s: _edit(f"{s}-review"),
    "edit published entry": lambda s: _edit(f"{s}-public"),
    "restore a draft's revision": lambda s: lambda u: authoring.restore_revision(u, f"{s}-draft", 1, now=NOW),
    "submit draft for review": lambda s: lambda u: workflow.submit_for_review(
        u, f"{s}-draft", now=NOW, sender=_sender(current_app)),
    "publish entry in review": lambda s: lambda u: workflow.publish_entry(u, f"{s}-review", now=NOW),
    "publish draft": lambda s: lambda u: workflow.publish_entry(u, f"{s}-draft", now=NOW),
    "archive published entry": lambda s: lambda u: workflow.archive_entry(u, f"{s}-public", now=NOW),
    "withdraw entry from review": lambda s: lambda u: workflow.return_to_draft(u, f"{s}-review", now=NOW),
    "return published entry to draft": lambda s: lambda u: workflow.return_to_draft(u, f"{s}-public", now=NOW),
    "return archived entry to draft": lambda s: lambda u: workflow.return_to_draft(u, f"{s}-archived", now=NOW),
    # Administration: the same answer for every site.
    "edit the site's profile": lambda s: lambda u: sites.save_site(
        u, SITE_SLUGS[s], {**site_record(_site(SITE_SLUGS[s])), "summary": "Edited."}, now=NOW),
    "create a theme": lambda s: lambda u: themes.create_theme(
        u, f"new-theme-{s}", {"name": "New theme", "group": "Workforce", "definition": "A new theme."}, now=NOW),
    "read the audit log": lambda s: lambda u: audit.list_events(u),
    "invite someone": lambda s: lambda u: users.invite(
        u, "new@example.nhs.uk", "New Person", network_role=NetworkRole.MEMBER,
        site_roles={SITE_SLUGS[s]: SiteRole.EDITOR}, now=NOW, sender=_sender(current_app)),
    "make a member an administrator": lambda s: lambda u: users.set_network_role(
        u, _member_id(), NetworkRole.ADMIN, now=NOW),
    "deactivate an account": lambda s: lambda u: users.deactivate(u, _member_id(), now=NOW),
    "make a member a lead of the site": lambda s: lambda u: users.set_site_role(
        u, _member_id(), SITE_SLUGS[s], SiteRole.LEAD, now=NOW),
    # Leads manage their own site's editors.
    "make a member an editor of the site": lambda s: lambda u: users.set_site_role(
        u, _member_id(), SITE_SLUGS[s], SiteRole.EDITOR, now=NOW),
}
ADMIN_ONLY = {"edit the site's profile", "create a theme", "read the audit log", "invite someone",
              "make a member an administrator", "deactivate an account", "make a member a lead of the site"}

# Outcome for (role at this site): outsider = anonymous, member, or editor/lead of the other site.
_OUTSIDER_READING = {
    "read published public entry": OK,
    "read published network entry": HIDDEN,  # members: OK (below)
    "read draft": HIDDEN,
    "read archived entry": HIDDEN,
}
_OUTSIDER_CHANGING = {
    "create entry": FORBIDDEN,
    "edit draft": HIDDEN,
    "edit entry in review": HIDDEN,
    "edit published entry": FORBIDDEN,
    "restore a draft's revision": HIDDEN,
    "submit draft for review": HIDDEN,
    "publish entry in review": HIDDEN,
    "publish draft": HIDDEN,
    "archive published entry": FORBIDDEN,
    "withdraw entry from review": HIDDEN,
    "return published entry to draft": FORBIDDEN,
    "return archived entry to draft": HIDDEN,
    "make a member an editor of the site": FORBIDDEN,
}
_EDITOR = {
    **{action: OK for action in ACTIONS},
    "edit published entry": FORBIDDEN,
    "publish entry in review": FORBIDDEN,
    "publish draft": FORBIDDEN,
    "archive published entry": FORBIDDEN,
    "return published entry to draft": FORBIDDEN,
    "return archived entry to draft": FORBIDDEN,
    "make a member an editor of the site": FORBIDDEN,
}


def expected(role: str, site: str, action: str) -> str:
    if role == "admin":
        return OK
    if action in ADMIN_ONLY:
        return FORBIDDEN
    if role == "lead" and site == "own":
        return OK
    if role == "editor" and site == "own":
        return _EDITOR[action]
    signed_in = role != "anonymous"
    if action == "read published network entry" and signed_in:
        return OK
    return {**_OUTSIDER_READING, **_OUTSIDER_CHANGING}[action]


def _state(app) -> tuple:
    """Everything an action could change: entries, revisions, people, roles, audit log, mail."""
    return (
        [tuple(row) for row in db.session.execute(select(
            Entry.slug, Entry.status, Entry.version, Entry.title, Entry.summary, Entry.published_by_id,
            Entry.published_on).order_by(Entry.slug))],
        db.session.scalar(select(func.count(Revision.id))),
        sorted(tuple(row) for row in db.session.execute(select(Membership.user_id, Membership.site_id, Membership.role))),
        sorted(tuple(row) for row in db.session.execute(select(User.id, User.active, User.network_role, User.session_token))),
        [tuple(row) for row in db.session.execute(select(Site.slug, Site.name).order_by(Site.slug))],
        [tuple(row) for row in db.session.execute(select(Theme.slug, Theme.name).order_by(Theme.slug))],
        db.session.scalar(select(func.count(AuditEvent.id))),
        len(_sender(app).outbox),
    )


CELLS = [(role, site, action) for role in ROLES for site in ("own", "other") for action in ACTIONS]


@pytest.mark.parametrize(("role", "site", "action"), CELLS, ids=[" × ".join(cell) for cell in CELLS])
def test_permission_matrix(world, role, site, action):
    app = world
    user = _actor(role)
    outcome = expected(role, site, action)
    before = _state(app)
    run = ACTIONS[action](site)
    if outcome == OK:
        result = run(user)
        db.session.expire_all()
        if action.startswith("read"):
            assert result is not None
        else:
            assert _state(app) != before, "an allowed action changed nothing"
    else:
        error = NotAllowed if outcome == FORBIDDEN else NotFound
        with pytest.raises(error):
            run(user)
        db.session.rollback()
        db.session.expire_all()
        assert _state(app) == before, "a refused action changed something"


def test_the_matrix_covers_every_role_action_and_site():
    assert len(CELLS) == len(ROLES) * len(ACTIONS) * 2
    outcomes = {expected(*cell) for cell in CELLS}
    assert outcomes == {OK, FORBIDDEN, HIDDEN}
