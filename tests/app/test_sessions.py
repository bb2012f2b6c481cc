"""Server-side sessions: signing out ends the session on the server, so a copy of the cookie taken
before stops working; other devices stay signed in; password changes, resets and deactivation
end every session; sessions expire; the database holds no usable cookie."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select, update

from kb.extensions import db
from kb.models import NetworkRole, User, UserSession
from kb.models.types import utcnow
from kb.services import accounts
from tests.factories import make_user

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a completely different passphrase"


@pytest.fixture
def person(app):
    user = make_user("pat@example.nhs.uk", name="Pat Person")
    accounts.set_password(user, PASSWORD)
    db.session.commit()
    return user


def _csrf(client, path: str = "/sign-in") -> str:
    html = client.get(path).get_data(as_text=True)
    return BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]


def _sign_in(client) -> None:
    response = client.post("/sign-in", data={"csrf_token": _csrf(client), "email": "pat@example.nhs.uk",
                                             "password": PASSWORD})
    assert response.status_code == 302


def _sign_out(client) -> None:
    assert client.post("/sign-out", data={"csrf_token": _csrf(client, "/")}).status_code == 302


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value: str):
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def _signed_in(client) -> bool:
    response = client.get("/account/")
    if response.status_code == 200:
        assert "Pat Person" in response.get_data(as_text=True)
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    return False


def _sessions() -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(UserSession)).all())


def test_a_copy_of_the_cookie_stops_working_after_signing_out(app, person):
    client = app.test_client()
    _sign_in(client)
    copy = _cookie(client)
    assert _signed_in(_with_cookie(app, copy))  # the copy works while the session lasts
    _sign_out(client)
    assert not _signed_in(client)
    replay = _with_cookie(app, copy)
    assert not _signed_in(replay)
    assert "Sign out" not in replay.get("/").get_data(as_text=True)
    assert _sessions() == 0


def test_signing_in_again_ends_the_session_this_browser_had(app, person):
    client = app.test_client()
    _sign_in(client)
    copy = _cookie(client)
    _sign_in(client)
    assert _signed_in(client) and not _signed_in(_with_cookie(app, copy))
    assert _sessions() == 1


def test_signing_out_on_one_device_keeps_the_others_signed_in(app, person):
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop)
    _sign_in(phone)
    assert _sessions() == 2
    _sign_out(laptop)
    assert not _signed_in(laptop) and _signed_in(phone)
    assert _sessions() == 1


def test_a_session_started_by_flask_logins_own_id_also_ends_on_the_server(app, person):
    client = app.test_client(user=person)  # the session holds "<id>.<account token>"
    assert _signed_in(client)
    copy = _cookie(client)
    _sign_out(client)
    assert not _signed_in(_with_cookie(app, copy))


def test_changing_the_password_ends_the_old_cookie_of_this_device_too(app, person):
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop)
    _sign_in(phone)
    before = _cookie(laptop)
    response = laptop.post("/account/password", data={
        "csrf_token": _csrf(laptop, "/account/password"), "current_password": PASSWORD, "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _signed_in(laptop) and not _signed_in(phone)
    assert not _signed_in(_with_cookie(app, before))  # the session before the change is over
    assert _sessions() == 1


def test_deactivation_ends_every_session_and_reactivation_does_not_revive_them(app, person):
    admin = make_user("ada@example.nhs.uk", name="Ada", network_role=NetworkRole.ADMIN)
    client = app.test_client()
    _sign_in(client)
    copy = _cookie(client)
    admin_client = app.test_client(user=admin)
    path = f"/admin/users/{person.id}"
    assert admin_client.post(f"{path}/deactivate", data={"csrf_token": _csrf(admin_client, path)}).status_code == 302
    assert _sessions() == 0 and not _signed_in(client)
    assert admin_client.post(f"{path}/reactivate", data={"csrf_token": _csrf(admin_client, path)}).status_code == 302
    assert not _signed_in(_with_cookie(app, copy))


def test_a_session_ends_after_the_configured_number_of_days(app, person):
    app.config["KB_SESSION_DAYS"] = 3
    client = app.test_client()
    _sign_in(client)
    assert _signed_in(client)
    db.session.execute(update(UserSession).values(created_at=utcnow() - timedelta(days=3, minutes=1)))
    db.session.commit()
    assert not _signed_in(client)
    _sign_in(client)  # signing in again works, and clears the expired session away
    assert _signed_in(client) and _sessions() == 1


def test_the_database_holds_a_digest_never_the_cookie_key(app, person):
    client = app.test_client()
    _sign_in(client)
    with client.session_transaction() as session:
        session_id = session["_user_id"]
    [stored] = db.session.scalars(select(UserSession)).all()
    key = session_id.removeprefix(accounts.SESSION_PREFIX)
    assert len(key) >= 40 and key not in stored.key_digest and stored.user_id == person.id
    assert accounts.load_user(accounts.SESSION_PREFIX + stored.key_digest) is None  # a digest is no key
    for forged in ("s:", "s:" + "A" * 5000, f"{person.id}.", f"{person.id}.wrong", "9" * 40 + ".x", ""):
        assert accounts.load_user(forged) is None, forged


def test_flask_logins_own_id_stops_working_when_the_account_token_changes(app, person):
    user = db.session.get(User, person.id)
    assert accounts.load_user(user.get_id()).id == person.id
    accounts.end_sessions(user)
    db.session.commit()
    assert accounts.load_user(f"{person.id}.{'x' * 32}") is None
