"""Every form and service taking an email address checks it as one mailbox (``email-validator``):
lists, display names and markup are refused with a message, nothing stored, nothing sent."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AuditEvent, Membership, NetworkRole, User
from kb.services import accounts, users
from kb.services.errors import BadRequest
from tests.factories import NOW, make_site, make_user

PASSWORD = "correct horse battery staple"
NOT_ONE_MAILBOX = [
    "a,b@evil.example", "<svg/onload=alert(1)>@a.bc", "Ann <ann@example.nhs.uk>", "ann@example.nhs.uk, bob@evil.example",
    "ann@example.nhs.uk;bob@evil.example", '"ann"@example.nhs.uk', "ann smith@example.nhs.uk", "ann@localhost",
    "ann@example", "ann@@example.nhs.uk", "ann@exa mple.nhs.uk", "ann@example.nhs.uk\r\nBcc: x@evil.example",
    "ánn@example.nhs.uk", "a" * 250 + "@example.nhs.uk",
]


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]


def _email_error(response) -> str:
    error = BeautifulSoup(response.get_data(as_text=True), "html.parser").find(id="email-error")
    return error.get_text(" ", strip=True) if error else ""


@pytest.fixture
def admin(app):
    user = make_user("ada@example.nhs.uk", name="Ada", network_role=NetworkRole.ADMIN)
    accounts.set_password(user, PASSWORD)
    db.session.commit()
    return user


@pytest.mark.parametrize("address", NOT_ONE_MAILBOX)
def test_the_invitation_form_refuses_anything_but_one_mailbox(app, admin, address):
    client = app.test_client(user=admin)
    response = client.post("/admin/users/invite", data={
        "csrf_token": _csrf(client, "/admin/users/invite"), "email": address, "name": "Ann", "network_role": "member"})
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in _email_error(response) or \
        "without control characters" in _email_error(response)
    assert db.session.scalar(select(func.count(User.id))) == 1 and app.extensions["kb.mail"].outbox == []
    assert "<svg/onload" not in response.get_data(as_text=True)  # shown escaped, if at all


@pytest.mark.parametrize("address", NOT_ONE_MAILBOX)
def test_the_services_refuse_anything_but_one_mailbox(app, admin, address):
    with pytest.raises(BadRequest) as refused:
        users.invite(admin, address, "Ann", network_role=NetworkRole.MEMBER, site_roles={}, now=NOW, sender=None)
    assert "correct format" in refused.value.message
    with pytest.raises(BadRequest):
        accounts.create_admin(address, "Ann", PASSWORD)
    assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize("path", ["/sign-in", "/account/password-reset"])
@pytest.mark.parametrize("address", ["a,b@evil.example", "<svg/onload=alert(1)>@a.bc", "Ann <ada@example.nhs.uk>"])
def test_sign_in_and_reset_refuse_anything_but_one_mailbox(app, admin, path, address):
    client = app.test_client()
    response = client.post(path, data={"csrf_token": _csrf(client, path), "email": address, "password": PASSWORD})
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in _email_error(response)
    assert "Sign out" not in client.get("/").get_data(as_text=True)
    assert app.extensions["kb.mail"].outbox == []
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_adding_a_person_to_a_site_checks_the_address(app, admin):
    make_site("leeds", name="Leeds")
    client = app.test_client(user=admin)
    response = client.post("/sites/leeds/people", data={
        "csrf_token": _csrf(client, "/sites/leeds/people"), "email": "a,b@evil.example", "role": "editor"})
    assert response.status_code == 400 and "correct format" in _email_error(response)
    assert db.session.scalar(select(func.count(Membership.id))) == 0


def test_a_good_address_is_stored_lower_case_with_an_ascii_domain(app, admin):
    outcome = users.invite(admin, "  Ann.O'Neil@Bücher.Example.org ", "Ann", network_role=NetworkRole.MEMBER,
                           site_roles={}, now=NOW, sender=app.extensions["kb.mail"])
    assert outcome.user.email == "ann.o'neil@xn--bcher-kva.example.org"
    [message] = app.extensions["kb.mail"].outbox
    assert message.to == "ann.o'neil@xn--bcher-kva.example.org"
