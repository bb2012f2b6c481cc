"""Signing in and out: no account enumeration, rate limits, safe redirects, CSRF, sessions."""

from __future__ import annotations

import re

import pytest

from kb.extensions import db
from kb.models import NetworkRole, User
from kb.services import accounts
from tests.factories import make_user

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture
def person(app):
    user = make_user("pat@example.nhs.uk", name="Pat")
    accounts.set_password(user, PASSWORD)
    db.session.commit()
    return user


def _token(client, path: str = "/sign-in") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    return match.group(1) or match.group(2)


def _sign_in(client, email: str, password: str, next_url: str | None = None):
    data = {"email": email, "password": password, "csrf_token": _token(client)}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/sign-in", data=data)


def _signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def test_signing_in_and_out(app, person):
    client = app.test_client()
    page = client.get("/sign-in")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.get_data(as_text=True)
    response = _sign_in(client, "  PAT@example.nhs.uk ", PASSWORD, next_url="/sites")
    assert response.status_code == 302 and response.headers["Location"] == "/sites"
    assert _signed_in(client)
    assert client.get("/sign-out").status_code == 405  # never a link: only a POST signs out
    response = client.post("/sign-out", data={"csrf_token": _token(client, "/")})
    assert response.status_code == 302 and not _signed_in(client)


def _without_token(html: str) -> str:
    return TOKEN.sub("", html)


def test_unknown_accounts_and_wrong_passwords_get_the_same_answer(app, person):
    make_user("gone@example.nhs.uk", active=False)
    answers = []
    for email, password in [("pat@example.nhs.uk", "wrong password!!"), ("nobody@example.nhs.uk", PASSWORD),
                            ("gone@example.nhs.uk", PASSWORD)]:
        response = _sign_in(app.test_client(), email, password)
        body = _without_token(response.get_data(as_text=True)).replace(email, "EMAIL")
        answers.append((response.status_code, body))
        assert "Enter a correct email address and password" in body
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 400


def test_an_account_is_locked_for_a_while_after_five_attempts(app, person):
    for attempt in range(5):
        assert _sign_in(app.test_client(), "pat@example.nhs.uk", f"guess number {attempt}").status_code == 400
    refused = _sign_in(app.test_client(), "pat@example.nhs.uk", PASSWORD)  # even the right password
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in refused.get_data(as_text=True)
    other = make_user("sam@example.nhs.uk")
    accounts.set_password(other, PASSWORD)
    db.session.commit()
    assert _sign_in(app.test_client(), "sam@example.nhs.uk", PASSWORD).status_code == 302  # other accounts unaffected


def test_one_client_trying_many_accounts_is_limited_too(app, person):
    app.config["KB_SIGN_IN_LIMIT_CLIENT"] = "3 per minute"
    client = app.test_client()
    statuses = [_sign_in(client, f"someone{i}@example.nhs.uk", "anything at all").status_code for i in range(4)]
    assert statuses == [400, 400, 400, 429]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", "\t//evil.example", "sites"])
def test_next_only_ever_leads_to_this_site(app, person, target):
    response = _sign_in(app.test_client(), "pat@example.nhs.uk", PASSWORD, next_url=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_forms_without_a_csrf_token_are_refused(app, person):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": "pat@example.nhs.uk", "password": PASSWORD})
    assert response.status_code == 400 and not _signed_in(client)
    _sign_in(client, "pat@example.nhs.uk", PASSWORD)
    assert client.post("/sign-out").status_code == 400 and _signed_in(client)


def test_changing_a_password_ends_the_other_sessions(app, person):
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop, "pat@example.nhs.uk", PASSWORD)
    _sign_in(phone, "pat@example.nhs.uk", PASSWORD)
    assert _signed_in(laptop) and _signed_in(phone)
    accounts.set_password(db.session.get(User, person.id), "a brand new passphrase")
    db.session.commit()
    assert not _signed_in(laptop) and not _signed_in(phone)
    assert _sign_in(phone, "pat@example.nhs.uk", "a brand new passphrase").status_code == 302


def test_signing_in_starts_a_fresh_session(app, person):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    _sign_in(client, "pat@example.nhs.uk", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"].startswith(accounts.SESSION_PREFIX)
        assert accounts.load_user(session["_user_id"]).id == person.id  # a session of its own on the server


def test_the_session_cookie_is_http_only_and_same_site(app, person):
    client = app.test_client()
    response = _sign_in(client, "pat@example.nhs.uk", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_stored_hashed_with_scrypt(person):
    stored = db.session.get(User, person.id).password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_create_admin_makes_the_first_administrator(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "create-admin", "Lead@Example.NHS.uk", "--name", "Lee"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(db.select(User).where(User.email == "lead@example.nhs.uk"))
    assert admin.network_role == NetworkRole.ADMIN and admin.name == "Lee"
    assert _sign_in(app.test_client(), "lead@example.nhs.uk", PASSWORD).status_code == 302

    again = runner.invoke(args=["kb", "create-admin", "lead@example.nhs.uk"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 2 and "already an account" in again.output
    bad = runner.invoke(args=["kb", "create-admin", "not-an-address"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert bad.exit_code == 2 and "correct format" in bad.output
    short = runner.invoke(args=["kb", "create-admin", "new@example.nhs.uk"], input="short\nshort\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
