"""One rule for typed text: NUL and other control characters are refused in every text field with
a 400 and a message next to the field (the rest of the input kept), on SQLite and PostgreSQL;
the services refuse them too; error pages roll back first and always carry the security headers.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from bs4 import BeautifulSoup
from flask_wtf import FlaskForm
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select

import kb.views
from kb.extensions import db
from kb.models import AuditEvent, Entry, EntryStatus, Membership, NetworkRole, Site, SiteRole, User
from kb.security import CONTENT_SECURITY_POLICY, SecureResponses
from kb.services import accounts, authoring, users, workflow
from kb.services.errors import BadRequest
from kb.views.forms import Form
from tests.app.test_authoring import errors_of, fill, new_entry_form, page_form, token
from tests.factories import NOW, make_entry, make_site, make_theme, make_user

PASSWORD = "correct horse battery staple"
NASTY = ["nul\x00here", "escape\x1b[31m", "bell\x07", "c1\x85control", "del\x7f"]


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _secure(response) -> None:
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def person(app):
    user = make_user("pat@example.nhs.uk", name="Pat")
    accounts.set_password(user, PASSWORD)
    db.session.commit()
    return user


@pytest.fixture
def admin(app):
    user = make_user("ada@example.nhs.uk", name="Ada Admin", network_role=NetworkRole.ADMIN)
    accounts.set_password(user, PASSWORD)
    db.session.commit()
    return user


def test_every_form_of_the_views_follows_the_text_rule():
    forms = []
    for module_info in pkgutil.iter_modules(kb.views.__path__):
        module = importlib.import_module(f"kb.views.{module_info.name}")
        forms += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, FlaskForm) and cls.__module__ == module.__name__]
    assert len(forms) >= 12, forms  # sign-in, passwords, invitations, roles, entries, sites, themes, notes…
    assert [cls for cls in forms if not issubclass(cls, Form)] == []


# --- sign-in and password reset: anonymous, the address typed ------------------------------------


@pytest.mark.parametrize("address", ["pat\x00@example.nhs.uk", "pat@example.nhs.uk\x00", "\x00", "pat@exa\x1bmple.nhs.uk"])
def test_a_control_character_in_the_sign_in_address_is_a_400_with_a_message(app, person, address):
    client = app.test_client()
    response = client.post("/sign-in", data={"csrf_token": _csrf(client, "/sign-in"), "email": address,
                                             "password": PASSWORD})
    _secure(response)
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert response.status_code == 400
    assert "Email address must be one line of text without control characters" in page.find(id="email-error").get_text()
    assert page.find(id="email")["value"] == accounts.normalise_email(address.replace("\x00", "").replace("\x1b", ""))
    assert "Sign out" not in client.get("/").get_data(as_text=True)
    assert _count(AuditEvent) == 0  # nothing with a NUL was stored (PostgreSQL could not)


@pytest.mark.parametrize("address", ["pat\x00@example.nhs.uk", "\x00", "pat@example.nhs.uk\x07"])
def test_a_control_character_in_the_reset_address_is_a_400_and_nothing_is_sent(app, person, address):
    client = app.test_client()
    response = client.post("/account/password-reset", data={
        "csrf_token": _csrf(client, "/account/password-reset"), "email": address})
    _secure(response)
    assert response.status_code == 400
    assert "must be one line of text without control characters" in response.get_data(as_text=True)
    assert app.extensions["kb.mail"].outbox == [] and _count(AuditEvent) == 0


def test_the_account_services_refuse_control_characters_too(app, person, admin):
    with pytest.raises(BadRequest):
        accounts.authenticate("pat@example.nhs.uk\x00", PASSWORD)
    assert accounts.find_by_email("pat@example.nhs.uk\x00") is None
    with pytest.raises(BadRequest):
        accounts.request_password_reset("pat\x00@example.nhs.uk", now=NOW, sender=None)
    for name in ("Nul\x00Name", "Esc\x1bName", "Two\nLines", "Sep\u2028arator"):
        with pytest.raises(BadRequest) as refused:
            users.invite(admin, "new@example.nhs.uk", name, network_role=NetworkRole.MEMBER, site_roles={},
                         now=NOW, sender=None)
        assert "control characters" in refused.value.message
    with pytest.raises(BadRequest):
        users.invite(admin, "new\x00@example.nhs.uk", "New", network_role=NetworkRole.MEMBER, site_roles={},
                     now=NOW, sender=None)
    assert _count(User) == 2 and _count(AuditEvent) == 0


# --- invitations and site people -------------------------------------------------------------------


@pytest.mark.parametrize("name", NASTY + ["tab\tname", "two\nlines", "line\u2028separator"])
def test_an_invitation_with_a_control_character_in_the_name_is_refused_and_the_rest_kept(app, admin, name):
    site = make_site("leeds", name="Leeds")
    client = app.test_client(user=admin)
    response = client.post("/admin/users/invite", data={
        "csrf_token": _csrf(client, "/admin/users/invite"), "email": "nia@example.nhs.uk", "name": name,
        "network_role": "admin", f"site_{site.id}": "lead"})
    _secure(response)
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert "Full name must be one line of text without control characters" in page.find(id="name-error").get_text()
    assert page.find(id="email")["value"] == "nia@example.nhs.uk"
    assert page.find(id="network_role").find("option", selected=True)["value"] == "admin"
    assert page.find(id=f"site_{site.id}").find("option", selected=True)["value"] == "lead"
    assert "\x00" not in page.find(id="name")["value"] and "\x1b" not in page.find(id="name")["value"]
    assert _count(User) == 1 and app.extensions["kb.mail"].outbox == []


def test_adding_a_person_by_an_address_with_a_nul_is_a_400(app, admin):
    make_site("leeds", name="Leeds")
    client = app.test_client(user=admin)
    response = client.post("/sites/leeds/people", data={
        "csrf_token": _csrf(client, "/sites/leeds/people"), "email": "pat\x00@example.nhs.uk", "role": "editor"})
    assert response.status_code == 400
    assert "must be one line of text without control characters" in response.get_data(as_text=True)
    assert _count(Membership) == 0


# --- the entry editor and the review note ----------------------------------------------------------


@pytest.fixture
def editor(app):
    make_theme("leadership")
    leeds = make_site("leeds", name="Leeds")
    user = make_user("ed@example.nhs.uk", name="Ed Editor")
    lead = make_user("lee@example.nhs.uk", name="Lee Lead")
    db.session.add_all([Membership(user=user, site=leeds, role=SiteRole.EDITOR),
                        Membership(user=lead, site=leeds, role=SiteRole.LEAD)])
    db.session.commit()
    return user


@pytest.mark.parametrize("field, value, error_id, message", [
    ("edit_summary", "fixed\x00typo", "edit_summary", "Summary of your changes must be one line of text without control"),
    ("title", "Joint\x1b team", "title", "Title must be one line of text without control characters"),
    ("summary", "A joint\x00 team.", "summary", "Summary must not contain control characters"),
    ("body", "Some text\x00 with a NUL", "body", "Text must not contain control characters"),
    ("themes__0__note", "Both\x07 backed it", "themes-0-note", "Note must be one line of text without control"),
    ("sources__0__title", "Annual\x00 report", "sources-0-title", "Title must be one line of text without control"),
])
def test_entry_fields_with_control_characters_are_refused_with_the_input_kept(app, editor, field, value, error_id,
                                                                              message):
    client = app.test_client(user=editor)
    response = client.post("/entries/new", data=new_entry_form(client, **{field: value}, action="save"))
    _secure(response)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_of(html)[error_id].startswith(message)
    page = BeautifulSoup(html, "html.parser")
    assert page.find(id="title")["value"] == ("Joint team" if field == "title" else "Joint discharge team")
    assert "The team met **daily**." in page.find(id="body").get_text() or field == "body"
    assert "\x00" not in html and "\x1b" not in html and "\x07" not in html
    assert _count(Entry) == 0


def test_a_preview_with_a_nul_shows_the_message_not_the_preview(app, editor):
    client = app.test_client(user=editor)
    response = client.post("/entries/new", data=new_entry_form(client, body="A\x00B", action="preview"))
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True))["body"].startswith("Text must not contain control characters")


def test_a_review_note_with_a_nul_is_a_400_on_the_entry_page_and_nothing_happens(app, editor):
    entry = make_entry("leeds-draft", site=db.session.scalar(select(Site)), status="draft", published=None)
    client = app.test_client(user=editor)
    url = f"/entries/{entry.slug}"
    response = client.post(f"{url}/submit", data={"csrf_token": token(client, url), "note": "Please\x00 check"})
    _secure(response)
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert response.status_code == 400
    assert "must not contain control characters" in page.find(id="review-note-error").get_text()
    assert page.find(id="review-note").get_text() == "Please check"
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).status == EntryStatus.DRAFT
    assert app.extensions["kb.mail"].outbox == []
    sent = client.post(f"{url}/submit", data={"csrf_token": token(client, url), "note": "Please\tcheck\r\nthis"})
    assert sent.status_code == 302  # tabs and line breaks are fine in a note
    assert "Please\tcheck" in app.extensions["kb.mail"].outbox[0].text


def test_an_edit_with_a_nul_in_the_summary_changes_nothing(app, editor):
    entry = make_entry("leeds-draft", site=db.session.scalar(select(Site)), status="draft", published=None)
    client = app.test_client(user=editor)
    url = f"/entries/{entry.slug}/edit"
    response = client.post(url, data=fill(page_form(client, url), title="New title", edit_summary="x\x00y"))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).version == 1 and db.session.get(Entry, entry.id).title != "New title"


def test_the_services_refuse_control_characters_in_edit_summaries_and_review_notes(app, editor):
    """Defence in depth: a caller that is not the form (a script, a future API) meets the same rule."""
    entry = make_entry("leeds-draft", site=db.session.scalar(select(Site)), status="draft", published=None)
    _, record = authoring.editable_record(editor, entry.slug)
    with pytest.raises(authoring.InvalidEntry) as refused:
        authoring.save_entry(editor, entry.slug, {**record, "title": "New title"}, base_version=1,
                             summary="x\x00y", minor=False, now=NOW)
    assert [p.message for p in refused.value.problems] == [
        "edit_summary: must be one line of text without control characters"]
    with pytest.raises(BadRequest, match="note to the site's leads must not contain control characters"):
        workflow.submit_for_review(editor, entry.slug, now=NOW, sender=app.extensions["kb.mail"], note="Bell\x07")
    db.session.expire_all()
    assert (db.session.get(Entry, entry.id).version, db.session.get(Entry, entry.id).status) == (1, EntryStatus.DRAFT)


# --- administration forms -----------------------------------------------------------------------------


def test_the_theme_form_refuses_control_characters_in_every_field(app, admin):
    client = app.test_client(user=admin)
    data = {"csrf_token": _csrf(client, "/admin/themes/new"), "slug": "shared-records", "name": "Shared\x00 records",
            "group": "Information\x1b", "definition": "Records shared\u2028 across teams."}
    response = client.post("/admin/themes/new", data=data)
    assert response.status_code == 400
    errors = errors_of(response.get_data(as_text=True))
    assert errors["name"].startswith("Name must be one line of text without control characters")
    assert errors["group"].startswith("Group must be one line of text without control characters")
    assert errors["definition"].startswith("Definition must be one line of text without control characters")
    assert BeautifulSoup(response.get_data(as_text=True), "html.parser").find(id="slug")["value"] == "shared-records"


# --- addresses and error pages ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/entries/%00", "/entries/a%00b/history", "/sites/%00", "/themes/x%1b",
                                  "/entries/x/revisions/1%00", "/sites/%00/people"])
def test_an_address_with_a_control_character_is_a_404_not_a_500(content_client, path):
    response = content_client.get(path)
    _secure(response)
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_an_error_page_after_a_failed_transaction_rolls_back_and_renders(app, person):
    """A view whose write fails (a duplicate address) leaves the session in a failed transaction;
    the error page, which loads the signed-in person, must roll back first."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def duplicate():
        db.session.add(User(email="pat@example.nhs.uk", name="Twin"))
        db.session.flush()  # IntegrityError: the transaction is now failed
        return "unreachable"

    app.add_url_rule("/test/duplicate", "duplicate", duplicate)
    client = app.test_client()
    client.post("/sign-in", data={"csrf_token": _csrf(client, "/sign-in"), "email": "pat@example.nhs.uk",
                                  "password": PASSWORD})
    response = client.get("/test/duplicate")
    _secure(response)
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html and "Sign out" in html  # the full page


def test_an_error_page_that_fails_itself_still_carries_the_headers(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.jinja_loader = ChoiceLoader([DictLoader({"errors/500.html": "{{ no_such_thing.at_all }}",
                                                 "errors/404.html": "{{ no_such_thing.at_all }}"}), app.jinja_loader])
    app.jinja_env.cache = None  # templates are looked up afresh through the loader above

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/test/broken", "broken", broken)
    client = app.test_client()
    for path, status in (("/test/broken", 500), ("/no/such/page", 404)):
        response = client.get(path)
        _secure(response)
        assert response.status_code == status and "<h1>" in response.get_data(as_text=True)


def test_an_error_that_escapes_flask_gets_a_plain_500_with_the_headers(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def exploding_app(environ, start_response):
        raise RuntimeError("escaped")

    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))

    body = b"".join(SecureResponses(app, exploding_app)({}, start_response))
    assert captured["status"].startswith("500")
    assert captured["headers"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert b"Sorry, there is a problem with the service" in body
