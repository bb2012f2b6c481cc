"""Accounts: invitations, password resets and changes, deactivation, and the sign-in audit trail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from kb.extensions import db
from kb.mail import MemorySender
from kb.models import AuditEvent, Membership, NetworkRole, SiteRole, User
from kb.services import accounts, tokens, users
from kb.services.errors import BadRequest, NotAllowed
from tests.factories import NOW, make_site, make_user
from tests.pages import get_page, text_of

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a completely different passphrase"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
INVITE_LINK = re.compile(r"http://kb\.test/account/invitation/[A-Za-z0-9._-]+")
RESET_LINK = re.compile(r"http://kb\.test/account/password-reset/[A-Za-z0-9._-]+")


# --- helpers ------------------------------------------------------------------------------------


def _csrf(client, path: str, **kwargs) -> str:
    response = client.get(path, **kwargs)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1) or match.group(2)


def _sign_in(client, email: str, password: str, **kwargs):
    token = _csrf(client, "/sign-in", **kwargs)
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token}, **kwargs)


def _signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def _outbox(app) -> list:
    return app.extensions["kb.mail"].outbox


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _person(email: str, password: str = PASSWORD, **fields) -> User:
    user = make_user(email, **fields)
    accounts.set_password(user, password)
    db.session.commit()
    return user


@pytest.fixture
def admin(app):
    return _person("ada@example.nhs.uk", name="Ada Admin", network_role=NetworkRole.ADMIN)


@pytest.fixture
def person(app):
    return _person("pat@example.nhs.uk", name="Pat Person")


def _admin_client(app, admin, **kwargs):
    client = app.test_client()
    assert _sign_in(client, admin.email, PASSWORD, **kwargs).status_code == 302
    return client


def _path(link: str) -> str:
    return urlsplit(link).path


def _token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


# --- invitations --------------------------------------------------------------------------------


def test_invitation_from_form_to_signed_in_with_a_link_under_the_base_url(app, admin):
    site = make_site("leeds", name="Leeds")
    # Whatever Host header the admin's requests carry, the emailed link uses KB_BASE_URL (a host
    # that is not trusted at all is refused with a 400: tests/app/test_private_caching.py).
    hostile = {"Host": "127.0.0.1:8080"}
    admin_client = _admin_client(app, admin, headers=hostile)
    token = _csrf(admin_client, "/admin/users/invite", headers=hostile)
    response = admin_client.post("/admin/users/invite", headers=hostile, data={
        "csrf_token": token, "email": "  New.Person@Example.NHS.uk ", "name": "Nia New",
        "network_role": "member", f"site_{site.id}": "editor"})
    assert response.status_code == 302

    invited = _user("new.person@example.nhs.uk")
    assert invited is not None and invited.active and invited.password_hash is None
    assert users.status(invited) == "pending" and invited.name == "Nia New"
    assert [(m.site.slug, m.role) for m in invited.memberships] == [("leeds", SiteRole.EDITOR)]
    assert response.headers["Location"] == f"/admin/users/{invited.id}"
    [event] = _events("user_invited")
    assert event.actor_id == admin.id and event.subject == "user:new.person@example.nhs.uk"
    assert event.detail["sites"] == {"leeds": "editor"}

    [message] = _outbox(app)
    assert message.to == "new.person@example.nhs.uk" and "invited" in message.subject.lower()
    link = INVITE_LINK.search(message.text).group(0)
    assert link in message.html and "Leeds" in message.text and "Ada Admin" in message.text
    assert "127.0.0.1" not in message.text + message.html

    newcomer = app.test_client()
    page = newcomer.get(_path(link))
    assert page.status_code == 200
    assert "new.person@example.nhs.uk" in page.get_data(as_text=True) and "Nia New" in page.get_data(as_text=True)
    response = newcomer.post(_path(link), data={
        "csrf_token": _csrf(newcomer, _path(link)), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/account/welcome"
    # The next step: the welcome page offers writing for the site the invitation gave a role in.
    welcome = get_page(newcomer, "/account/welcome")
    assert welcome.find("h1").get_text(strip=True) == "Your account is ready"
    write = welcome.find("a", href="/entries/new?site=leeds")
    assert write is not None and write.get_text(strip=True) == "Write an entry for Leeds"
    assert "a lead of Leeds reviews it before it is published" in text_of(welcome.find("main"))
    account = newcomer.get("/account/").get_data(as_text=True)
    assert "Nia New" in account and "new.person@example.nhs.uk" in account and "Editor" in account and "Leeds" in account
    assert users.status(_user("new.person@example.nhs.uk")) == "active"
    [accepted] = _events("invitation_accepted")
    assert accepted.actor_id == invited.id

    # The link is single-use: it now says so, with a 400, and sets nothing.
    again = app.test_client().get(_path(link))
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    stored = _user("new.person@example.nhs.uk").password_hash
    late = app.test_client()
    reused = late.post(_path(link), data={"csrf_token": _csrf(late, "/sign-in"), "password": "yet another passphrase",
                                          "confirm": "yet another passphrase"})
    assert reused.status_code == 400 and "already been used" in reused.get_data(as_text=True)
    assert _user("new.person@example.nhs.uk").password_hash == stored
    assert _sign_in(app.test_client(), "new.person@example.nhs.uk", NEW_PASSWORD).status_code == 302


def test_accepting_needs_a_long_enough_password_typed_twice(app, admin):
    sender = MemorySender()
    users.invite(admin, "sam@example.nhs.uk", "Sam", network_role=NetworkRole.MEMBER, site_roles={},
                 now=datetime.now(timezone.utc), sender=sender)
    client = app.test_client()
    path = _path(INVITE_LINK.search(sender.outbox[0].text).group(0))
    for password, confirm, problem in [("short", "short", "at least 12 characters"),
                                       (NEW_PASSWORD, NEW_PASSWORD + "!", "do not match")]:
        response = client.post(path, data={"csrf_token": _csrf(client, path), "password": password, "confirm": confirm})
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and problem in body and "There is a problem" in body
        assert _user("sam@example.nhs.uk").password_hash is None


def test_an_invitation_expires_after_seven_days(app, admin):
    sender = MemorySender()
    users.invite(admin, "sam@example.nhs.uk", "Sam", network_role=NetworkRole.MEMBER, site_roles={},
                 now=NOW, sender=sender)
    token = _token_of(INVITE_LINK.search(sender.outbox[0].text).group(0))
    assert users.invitation_for(token, now=NOW + timedelta(days=7) - timedelta(seconds=1)).email == "sam@example.nhs.uk"
    with pytest.raises(BadRequest) as expired:
        users.accept_invitation(token, NEW_PASSWORD, now=NOW + timedelta(days=7, seconds=1))
    assert expired.value.message.startswith("This link has expired. Ask for a new one")
    assert _user("sam@example.nhs.uk").password_hash is None
    assert _events("invitation_accepted") == []


def test_inviting_again_replaces_the_earlier_link(app, admin):
    site = make_site("leeds")
    sender = MemorySender()
    users.invite(admin, "sam@example.nhs.uk", "Sam", network_role=NetworkRole.MEMBER,
                 site_roles={"leeds": SiteRole.EDITOR}, now=NOW, sender=sender)
    again = users.invite(admin, "SAM@example.nhs.uk", "Sam Smith", network_role=NetworkRole.MEMBER,
                         site_roles={"leeds": SiteRole.LEAD}, now=NOW + timedelta(hours=1), sender=sender)
    assert again.resent and len(sender.outbox) == 2
    first, second = (_token_of(INVITE_LINK.search(m.text).group(0)) for m in sender.outbox)
    assert first != second
    with pytest.raises(BadRequest) as replaced:
        users.invitation_for(first, now=NOW + timedelta(hours=2))
    assert "replaced" in replaced.value.message
    # one account, with the newer name and roles
    assert db.session.scalar(select(db.func.count(User.id)).where(User.email == "sam@example.nhs.uk")) == 1
    sam = _user("sam@example.nhs.uk")
    assert sam.name == "Sam Smith" and [(m.site_id, m.role) for m in sam.memberships] == [(site.id, SiteRole.LEAD)]
    assert users.accept_invitation(second, NEW_PASSWORD, now=NOW + timedelta(hours=2)).id == sam.id


def test_inviting_an_address_with_a_set_up_account_is_refused_with_a_reason(app, admin, person):
    client = _admin_client(app, admin)
    response = client.post("/admin/users/invite", data={
        "csrf_token": _csrf(client, "/admin/users/invite"), "email": "pat@example.nhs.uk", "name": "Someone Else",
        "network_role": "admin"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "pat@example.nhs.uk already has an account" in body
    assert 'value="Someone Else"' in body  # the input is kept
    pat = _user("pat@example.nhs.uk")
    assert pat.name == "Pat Person" and pat.network_role == NetworkRole.MEMBER
    assert _outbox(app) == [] and _events("user_invited") == []


def test_only_admins_can_invite_whatever_calls_the_service(app, person):
    with pytest.raises(NotAllowed):
        users.invite(person, "x@example.nhs.uk", "X", network_role=NetworkRole.ADMIN, site_roles={}, now=NOW,
                     sender=MemorySender())
    assert _user("x@example.nhs.uk") is None


def _forged(purpose: str, payload) -> str:
    return URLSafeSerializer("test-secret", salt=f"kb.tokens.{purpose}").dumps(payload)


HOSTILE = [
    "x", "not.a.token", "a" * 5000, "..%2F..%2Fetc%2Fpasswd", "%00", "ü€😀", "<script>alert(1)</script>",
    "eyJ1IjoxfQ.forged-signature", "a/b/c", "'; DROP TABLE user; --",
]


@pytest.mark.parametrize("base", ["/account/invitation/", "/account/password-reset/"])
@pytest.mark.parametrize("token", HOSTILE)
def test_hostile_tokens_are_a_400_never_a_500(app, person, base, token):
    response = app.test_client().get(base + quote(token, safe="/%"))
    body = response.get_data(as_text=True)
    if token == "%00":  # no address of the site holds a control character: a 404 before any view runs
        assert response.status_code == 404 and "Page not found" in body
        return
    assert response.status_code == 400 and "This link is not valid" in body


@pytest.mark.parametrize("base", ["invitation", "password_reset"])
def test_tokens_that_are_signed_but_wrong_are_a_400(app, admin, base):
    sender = MemorySender()
    pending = users.invite(admin, "sam@example.nhs.uk", "Sam", network_role=NetworkRole.MEMBER, site_roles={},
                           now=NOW, sender=sender).user
    path = {"invitation": "/account/invitation/", "password_reset": "/account/password-reset/"}[base]
    other = "password_reset" if base == "invitation" else "invitation"
    forged = [
        _forged(base, [1, 2, 3]), _forged(base, {"u": "1", "f": "x", "t": 0}), _forged(base, {"u": 10**30, "f": "x", "t": 0}),
        _forged(base, {"u": True, "f": "x", "t": 0}), _forged(base, None),
        _forged(base, {"u": pending.id, "f": "x", "t": 10**20}),
        # a real token for the other purpose is not accepted here
        tokens.make_token(other, pending, now=NOW),
    ]
    for token in forged:
        response = app.test_client().get(path + token)
        assert response.status_code == 400, token
    assert _user("sam@example.nhs.uk").password_hash is None


# --- password reset -----------------------------------------------------------------------------


def _without_token(html: str) -> str:
    return TOKEN.sub("", html)


def test_asking_for_a_reset_gets_the_same_answer_whether_or_not_there_is_an_account(app, person):
    _person("gone@example.nhs.uk", active=False)
    make_user("pending@example.nhs.uk")  # invited, no password yet
    answers = []
    for email in ["pat@example.nhs.uk", "nobody@example.nhs.uk", "gone@example.nhs.uk", "pending@example.nhs.uk"]:
        client = app.test_client()
        response = client.post("/account/password-reset", data={
            "csrf_token": _csrf(client, "/account/password-reset"), "email": email})
        answers.append((response.status_code, _without_token(response.get_data(as_text=True))))
    assert answers[0][0] == 200 and "Check your email" in answers[0][1]
    assert all(answer == answers[0] for answer in answers)
    [message] = _outbox(app)  # only the account that can sign in is emailed
    assert message.to == "pat@example.nhs.uk" and RESET_LINK.search(message.text)
    requested = _events("password_reset_requested")
    assert [e.subject for e in requested] == ["user:pat@example.nhs.uk", "user:nobody@example.nhs.uk",
                                              "user:gone@example.nhs.uk", "user:pending@example.nhs.uk"]


def test_a_reset_link_works_once_and_ends_every_session(app, person):
    laptop = app.test_client()
    _sign_in(laptop, "pat@example.nhs.uk", PASSWORD)
    assert _signed_in(laptop)
    phone = app.test_client()
    phone.post("/account/password-reset", data={"csrf_token": _csrf(phone, "/account/password-reset"),
                                                "email": "PAT@example.nhs.uk"})
    link = RESET_LINK.search(_outbox(app)[0].text).group(0)
    assert link in _outbox(app)[0].html
    page = phone.get(_path(link))
    assert page.status_code == 200 and "pat@example.nhs.uk" in page.get_data(as_text=True)
    response = phone.post(_path(link), data={"csrf_token": _csrf(phone, _path(link)), "password": NEW_PASSWORD,
                                             "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert "Your password has been changed" in phone.get("/sign-in").get_data(as_text=True)

    assert not _signed_in(laptop)
    assert _sign_in(app.test_client(), "pat@example.nhs.uk", PASSWORD).status_code == 400
    assert _sign_in(app.test_client(), "pat@example.nhs.uk", NEW_PASSWORD).status_code == 302
    [event] = _events("password_reset")
    assert event.actor_id == person.id

    used = app.test_client().get(_path(link))
    assert used.status_code == 400 and "already been used" in used.get_data(as_text=True)


def test_a_reset_link_expires_after_two_hours(app, person):
    sender = MemorySender()
    accounts.request_password_reset("pat@example.nhs.uk", now=NOW, sender=sender)
    token = _token_of(RESET_LINK.search(sender.outbox[0].text).group(0))
    assert accounts.reset_target(token, now=NOW + timedelta(hours=2)).id == person.id
    before = _user("pat@example.nhs.uk").password_hash
    with pytest.raises(BadRequest) as expired:
        accounts.reset_password(token, NEW_PASSWORD, now=NOW + timedelta(hours=2, seconds=1))
    assert "expired" in expired.value.message
    assert _user("pat@example.nhs.uk").password_hash == before


def test_reset_requests_are_rate_limited_per_address(app, person):
    app.config["KB_PASSWORD_RESET_LIMIT_ACCOUNT"] = "2 per hour"
    statuses = []
    for _ in range(3):
        client = app.test_client()
        statuses.append(client.post("/account/password-reset", data={
            "csrf_token": _csrf(client, "/account/password-reset"), "email": "pat@example.nhs.uk"}).status_code)
    assert statuses == [200, 200, 429]
    assert len(_outbox(app)) == 2


def test_a_malformed_address_is_explained_and_kept(app):
    client = app.test_client()
    response = client.post("/account/password-reset", data={
        "csrf_token": _csrf(client, "/account/password-reset"), "email": "not an address"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "correct format" in body and 'value="not an address"' in body
    assert _outbox(app) == []


# --- signed-in pages ----------------------------------------------------------------------------


def test_the_account_page_shows_name_address_and_roles(app, person):
    site = make_site("leeds", name="Leeds")
    db.session.add(Membership(user_id=person.id, site_id=site.id, role=SiteRole.LEAD))
    db.session.commit()
    client = app.test_client()
    _sign_in(client, "pat@example.nhs.uk", PASSWORD)
    page = client.get("/account/").get_data(as_text=True)
    for text in ("Pat Person", "pat@example.nhs.uk", "Network member", "Site lead", "Leeds",
                 "/account/password", "/sites/leeds/people"):
        assert text in page
    assert "/admin/users" not in page
    anonymous = app.test_client().get("/account/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/sign-in")


def test_changing_a_password_keeps_this_session_and_ends_the_others(app, person):
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop, "pat@example.nhs.uk", PASSWORD)
    _sign_in(phone, "pat@example.nhs.uk", PASSWORD)
    before = _user("pat@example.nhs.uk").password_hash

    wrong = laptop.post("/account/password", data={"csrf_token": _csrf(laptop, "/account/password"),
                                                   "current_password": "not my password", "password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD})
    assert wrong.status_code == 400 and "Your current password is not correct" in wrong.get_data(as_text=True)
    mismatch = laptop.post("/account/password", data={"csrf_token": _csrf(laptop, "/account/password"),
                                                      "current_password": PASSWORD, "password": NEW_PASSWORD,
                                                      "confirm": "something else entirely"})
    assert mismatch.status_code == 400 and "do not match" in mismatch.get_data(as_text=True)
    assert _user("pat@example.nhs.uk").password_hash == before and _signed_in(phone)

    changed = laptop.post("/account/password", data={"csrf_token": _csrf(laptop, "/account/password"),
                                                     "current_password": PASSWORD, "password": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD})
    assert changed.status_code == 302 and changed.headers["Location"] == "/account/"
    assert laptop.get("/account/").status_code == 200 and _signed_in(laptop)
    assert not _signed_in(phone)
    assert _user("pat@example.nhs.uk").password_hash != before
    assert _sign_in(app.test_client(), "pat@example.nhs.uk", NEW_PASSWORD).status_code == 302
    [event] = _events("password_changed")
    assert event.actor_id == person.id


def test_deactivating_an_account_signs_it_out_at_once(app, admin, person):
    victim = app.test_client()
    _sign_in(victim, "pat@example.nhs.uk", PASSWORD)
    assert victim.get("/account/").status_code == 200
    admin_client = _admin_client(app, admin)
    path = f"/admin/users/{person.id}"
    response = admin_client.post(f"{path}/deactivate", data={"csrf_token": _csrf(admin_client, path)})
    assert response.status_code == 302
    assert not _user("pat@example.nhs.uk").active
    assert not _signed_in(victim)
    assert victim.get("/account/").status_code == 302
    assert _sign_in(app.test_client(), "pat@example.nhs.uk", PASSWORD).status_code == 400
    [event] = _events("user_deactivated")
    assert event.actor_id == admin.id and event.subject == "user:pat@example.nhs.uk"

    admin_client.post(f"{path}/reactivate", data={"csrf_token": _csrf(admin_client, path)})
    assert _user("pat@example.nhs.uk").active and len(_events("user_reactivated")) == 1
    assert _sign_in(app.test_client(), "pat@example.nhs.uk", PASSWORD).status_code == 302


# --- the audit trail of signing in ----------------------------------------------------------------


def test_sign_ins_failures_and_sign_outs_are_in_the_audit_log(app, person):
    remote = {"environ_overrides": {"REMOTE_ADDR": "203.0.113.9"}}
    client = app.test_client()
    assert _sign_in(client, " PAT@Example.nhs.uk ", "wrong password!!", **remote).status_code == 400
    assert _sign_in(client, "nobody@example.nhs.uk", PASSWORD, **remote).status_code == 400
    assert _sign_in(client, "pat@example.nhs.uk", PASSWORD, **remote).status_code == 302
    client.post("/sign-out", data={"csrf_token": _csrf(client, "/")}, **remote)

    failed = _events("sign_in_failed")
    assert [(e.detail["email"], e.subject, e.actor_id, e.client) for e in failed] == [
        ("pat@example.nhs.uk", "user:pat@example.nhs.uk", None, "203.0.113.9"),
        ("nobody@example.nhs.uk", "user:nobody@example.nhs.uk", None, "203.0.113.9"),
    ]
    [signed_in] = _events("sign_in")
    assert signed_in.actor_id == person.id and signed_in.client == "203.0.113.9"
    [signed_out] = _events("sign_out")
    assert signed_out.actor_id == person.id
