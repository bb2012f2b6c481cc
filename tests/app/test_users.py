"""People administration: who may see and change accounts and roles, and that refusals change nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import AuditEvent, Membership, NetworkRole, Site, SiteRole, User
from kb.services import users
from kb.services.errors import NotAllowed, NotFound
from tests.factories import NOW, make_site, make_user

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class World:
    north: Site
    south: Site
    admin: User
    lead: User  # lead of north
    editor: User  # editor of north
    member: User
    south_editor: User
    south_lead: User


@pytest.fixture
def world(app) -> World:
    north, south = make_site("north", name="North Pioneer"), make_site("south", name="South Pioneer")
    admin = make_user("ada@example.nhs.uk", name="Ada Admin", network_role=NetworkRole.ADMIN)
    lead = make_user("lee@example.nhs.uk", name="Lee Lead")
    editor = make_user("eve@example.nhs.uk", name="Eve Editor")
    member = make_user("mo@example.nhs.uk", name="Mo Member")
    south_editor = make_user("sid@example.nhs.uk", name="Sid South")
    south_lead = make_user("sue@example.nhs.uk", name="Sue South")
    db.session.add_all([
        Membership(user=lead, site=north, role=SiteRole.LEAD),
        Membership(user=editor, site=north, role=SiteRole.EDITOR),
        Membership(user=south_editor, site=south, role=SiteRole.EDITOR),
        Membership(user=south_lead, site=south, role=SiteRole.LEAD),
    ])
    db.session.commit()
    return World(north, south, admin, lead, editor, member, south_editor, south_lead)


def _csrf(client, path: str = "/") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def _memberships() -> list[tuple[str, str, str]]:
    db.session.expire_all()
    rows = db.session.execute(select(User.email, Site.slug, Membership.role).join(Membership.user).join(Membership.site))
    return sorted((email, slug, role.value) for email, slug, role in rows)


def _accounts() -> list[tuple[str, str, str, bool, str | None]]:
    db.session.expire_all()
    return sorted((u.email, u.name, u.network_role.value, u.active, u.session_token)
                  for u in db.session.scalars(select(User)))


def _events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def _client(app, user: User):
    return app.test_client(user=user)


# --- who may use the admin pages ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "editor", "lead"])
def test_admin_pages_refuse_everyone_but_admins(app, world, who):
    client = _client(app, getattr(world, who))
    target = world.member if who != "member" else world.editor
    for path in ["/admin/users", "/admin/users/invite", f"/admin/users/{target.id}"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Only administrators" in response.get_data(as_text=True)
    before, events = (_memberships(), _accounts()), len(_events())
    token = _csrf(client)  # the sign-out form's token: a valid token, for a refused action
    posts = {
        "/admin/users/invite": {"email": "new@example.nhs.uk", "name": "New", "network_role": "admin"},
        f"/admin/users/{target.id}/network-role": {"network_role": "admin"},
        f"/admin/users/{target.id}/site-roles": {f"site_{world.north.id}": "lead"},
        f"/admin/users/{target.id}/deactivate": {},
        f"/admin/users/{target.id}/resend": {},
        f"/admin/users/{getattr(world, who).id}/network-role": {"network_role": "admin"},
    }
    for path, data in posts.items():
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert (_memberships(), _accounts()) == before and len(_events()) == events
    assert app.extensions["kb.mail"].outbox == []


def test_anonymous_visitors_are_sent_to_sign_in(app, world):
    client = app.test_client()
    for path in ["/admin/users", "/admin/users/invite", f"/admin/users/{world.member.id}", "/sites/north/people"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next="), path
    before = _memberships()
    response = client.post(f"/admin/users/{world.member.id}/deactivate", data={"csrf_token": _csrf(client, "/sign-in")})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")
    assert _memberships() == before and _events() == []
    db.session.expire_all()
    assert db.session.get(User, world.member.id).active


def test_the_people_list_shows_names_roles_sites_and_status(app, world):
    db.session.get(User, world.south_lead.id).active = False
    make_user("pending@example.nhs.uk", name="Pem Pending")
    db.session.commit()
    page = _client(app, world.admin).get("/admin/users").get_data(as_text=True)
    for text in ["Ada Admin", "Administrator", "Lee Lead", "lee@example.nhs.uk", "North Pioneer: Site lead",
                 "North Pioneer: Editor", "South Pioneer: Editor", "Deactivated", "Invited", "Pem Pending"]:
        assert text in page, text


# --- role changes by admins -----------------------------------------------------------------------------


def test_admins_change_network_and_site_roles_and_each_change_is_audited(app, world):
    client = _client(app, world.admin)
    path = f"/admin/users/{world.member.id}"
    page = client.get(path)
    assert page.status_code == 200 and "Mo Member" in page.get_data(as_text=True)
    token = _csrf(client, path)

    response = client.post(f"{path}/network-role", data={"csrf_token": token, "network_role": "admin"})
    assert response.status_code == 302 and response.headers["Location"] == path
    response = client.post(f"{path}/site-roles", data={"csrf_token": token, f"site_{world.north.id}": "editor",
                                                       f"site_{world.south.id}": "lead"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.member.id).network_role == NetworkRole.ADMIN
    assert [m for m in _memberships() if m[0] == "mo@example.nhs.uk"] == [
        ("mo@example.nhs.uk", "north", "editor"), ("mo@example.nhs.uk", "south", "lead")]
    shown = client.get(path).get_data(as_text=True)
    assert "Site roles of Mo Member saved." in shown and "Mo Member is now: Administrator." in shown

    [network] = _events("network_role_changed")
    assert network.actor_id == world.admin.id and network.subject == "user:mo@example.nhs.uk"
    assert network.detail == {"from": "member", "to": "admin"}
    site_changes = _events("site_role_changed")
    assert sorted((e.detail["site"], e.detail["from"], e.detail["to"]) for e in site_changes) == [
        ("north", None, "editor"), ("south", None, "lead")]

    # Leaving a site: choosing "No role" removes the membership, and says so in the log.
    client.post(f"{path}/site-roles", data={"csrf_token": token, f"site_{world.north.id}": "",
                                            f"site_{world.south.id}": "lead"})
    assert [m for m in _memberships() if m[0] == "mo@example.nhs.uk"] == [("mo@example.nhs.uk", "south", "lead")]
    assert _events("site_role_changed")[-1].detail == {"site": "north", "from": "editor", "to": None}


def test_an_unknown_role_is_a_400_and_changes_nothing(app, world):
    client = _client(app, world.admin)
    path = f"/admin/users/{world.editor.id}"
    token = _csrf(client, path)
    before = (_memberships(), _accounts())
    assert client.post(f"{path}/network-role", data={"csrf_token": token, "network_role": "god"}).status_code == 400
    response = client.post(f"{path}/site-roles", data={"csrf_token": token, f"site_{world.north.id}": "owner"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    assert (_memberships(), _accounts()) == before and _events() == []


def test_admins_cannot_demote_or_deactivate_themselves(app, world):
    client = _client(app, world.admin)
    path = f"/admin/users/{world.admin.id}"
    page = client.get(path).get_data(as_text=True)
    assert "You cannot change your own network role" in page and "You cannot deactivate your own account" in page
    token = _csrf(client, path)
    before = _accounts()
    assert client.post(f"{path}/network-role", data={"csrf_token": token, "network_role": "member"}).status_code == 403
    assert client.post(f"{path}/deactivate", data={"csrf_token": token}).status_code == 403
    assert _accounts() == before and _events() == []
    with pytest.raises(NotAllowed):
        users.deactivate(world.admin, world.admin.id, now=NOW)


def test_unknown_accounts_are_a_404(app, world):
    client = _client(app, world.admin)
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/users/999999/deactivate", data={"csrf_token": _csrf(client)}).status_code == 404


# --- leads manage their own site's editors --------------------------------------------------------------


def test_a_lead_adds_and_removes_editors_of_their_own_site(app, world):
    client = _client(app, world.lead)
    page = client.get("/sites/north/people")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Eve Editor" in body and "Lee Lead" in body and "Sid South" not in body
    token = _csrf(client, "/sites/north/people")

    response = client.post("/sites/north/people", data={"csrf_token": token, "email": " MO@example.nhs.uk "})
    assert response.status_code == 302 and response.headers["Location"] == "/sites/north/people"
    assert ("mo@example.nhs.uk", "north", "editor") in _memberships()

    response = client.post(f"/sites/north/people/{world.editor.id}/remove", data={"csrf_token": token})
    assert response.status_code == 302
    assert not any(m[0] == "eve@example.nhs.uk" for m in _memberships())

    changes = _events("site_role_changed")
    assert [(e.actor_id, e.subject, e.detail["from"], e.detail["to"]) for e in changes] == [
        (world.lead.id, "user:mo@example.nhs.uk", None, "editor"),
        (world.lead.id, "user:eve@example.nhs.uk", "editor", None)]


def test_a_lead_cannot_manage_another_sites_people(app, world):
    client = _client(app, world.lead)
    token = _csrf(client)
    before = _memberships()
    assert client.get("/sites/south/people").status_code == 403
    assert client.post("/sites/south/people", data={"csrf_token": token, "email": "mo@example.nhs.uk"}).status_code == 403
    assert client.post(f"/sites/south/people/{world.south_editor.id}/remove",
                       data={"csrf_token": token}).status_code == 403
    assert client.get("/sites/nowhere/people").status_code == 404
    assert _memberships() == before and _events() == []
    with pytest.raises(NotAllowed):
        users.set_site_role(world.lead, world.member.id, "south", SiteRole.EDITOR, now=NOW)
    with pytest.raises(NotFound):
        users.set_site_role(world.lead, world.member.id, "nowhere", SiteRole.EDITOR, now=NOW)
    assert _memberships() == before


def test_a_lead_cannot_make_or_remove_leads(app, world):
    second_lead = make_user("lou@example.nhs.uk", name="Lou Lead")
    db.session.add(Membership(user=second_lead, site=world.north, role=SiteRole.LEAD))
    db.session.commit()
    client = _client(app, world.lead)
    page = client.get("/sites/north/people").get_data(as_text=True)
    assert f"/sites/north/people/{second_lead.id}/remove" not in page  # no button for leads …
    assert 'name="role"' not in page
    token = _csrf(client, "/sites/north/people")
    before = _memberships()
    # … and the service refuses whatever is posted.
    assert client.post("/sites/north/people", data={"csrf_token": token, "email": "mo@example.nhs.uk",
                                                     "role": "lead"}).status_code == 403
    assert client.post("/sites/north/people", data={"csrf_token": token,
                                                     "email": "lou@example.nhs.uk"}).status_code == 403  # demote
    assert client.post(f"/sites/north/people/{second_lead.id}/remove", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/sites/north/people/{world.lead.id}/remove", data={"csrf_token": token}).status_code == 403
    assert _memberships() == before and _events() == []
    with pytest.raises(NotAllowed):
        users.set_site_role(world.lead, world.editor.id, "north", SiteRole.LEAD, now=NOW)
    with pytest.raises(NotAllowed):
        users.set_site_role(world.lead, second_lead.id, "north", None, now=NOW)
    assert _memberships() == before


def test_editors_and_members_cannot_manage_a_sites_people(app, world):
    for person in (world.editor, world.member):
        client = _client(app, person)
        token = _csrf(client)
        before = _memberships()
        assert client.get("/sites/north/people").status_code == 403
        assert client.post("/sites/north/people", data={"csrf_token": token,
                                                         "email": "mo@example.nhs.uk"}).status_code == 403
        assert client.post(f"/sites/north/people/{world.editor.id}/remove",
                           data={"csrf_token": token}).status_code == 403
        assert _memberships() == before


def test_adding_an_address_without_an_active_account_is_explained(app, world):
    make_user("gone@example.nhs.uk", active=False)
    client = _client(app, world.lead)
    token = _csrf(client, "/sites/north/people")
    before = _memberships()
    for email in ["nobody@example.nhs.uk", "gone@example.nhs.uk"]:
        response = client.post("/sites/north/people", data={"csrf_token": token, "email": email})
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and f"There is no active account for {email}" in body
        assert f'value="{email}"' in body
    response = client.post("/sites/north/people", data={"csrf_token": token, "email": "eve@example.nhs.uk"})
    assert response.status_code == 400 and "already an editor" in response.get_data(as_text=True)
    assert _memberships() == before and _events() == []


def test_admins_make_and_remove_leads_from_the_people_page(app, world):
    client = _client(app, world.admin)
    token = _csrf(client, "/sites/south/people")
    assert 'name="role"' in client.get("/sites/south/people").get_data(as_text=True)
    client.post("/sites/south/people", data={"csrf_token": token, "email": "mo@example.nhs.uk", "role": "lead"})
    client.post(f"/sites/south/people/{world.south_lead.id}/remove", data={"csrf_token": token})
    people = [m for m in _memberships() if m[1] == "south"]
    assert people == [("mo@example.nhs.uk", "south", "lead"), ("sid@example.nhs.uk", "south", "editor")]
    assert [(e.detail["from"], e.detail["to"]) for e in _events("site_role_changed")] == [(None, "lead"), ("lead", None)]
