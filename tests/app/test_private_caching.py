"""Private responses carry ``Cache-Control: no-store``; the ``Host`` header is checked against the
trusted hosts and never reflected; numbers in routes beyond any row's are a 404."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from kb.extensions import db
from kb.models import Membership, NetworkRole, Site, SiteRole
from kb.security import CONTENT_SECURITY_POLICY
from kb.services import accounts
from tests.factories import make_user

PASSWORD = "correct horse battery staple"
ENTRY = "/entries/sheffield-pooled-budget"

# Private whoever asks: sign-in, account and token pages, the editor, history, admin.
PRIVATE_FOR_ANYONE = ["/sign-in", "/account/password-reset", "/account/password-reset/not-a-token",
                      "/account/invitation/not-a-token", "/account/", "/entries/new", f"{ENTRY}/history",
                      f"{ENTRY}/diff?from=1&to=1", f"{ENTRY}/revisions/1", "/admin/", "/admin/users",
                      "/admin/digests", "/unsubscribe/not-a-token"]
# Pages for everyone: cacheable when nobody is signed in, private for a signed-in person.
PUBLIC = ["/", ENTRY, "/sites/", "/sites/sheffield", "/themes/", "/search?q=care", "/glossary"]
STAFF = ["/account/", "/account/welcome", "/account/password", "/account/entries", "/entries/new", f"{ENTRY}/edit", f"{ENTRY}/history",
         f"{ENTRY}/diff?from=1&to=1", f"{ENTRY}/revisions/1", "/admin/", "/admin/users", "/admin/users/invite",
         "/admin/audit", "/admin/sites/sheffield/edit", "/sites/sheffield/people"]


@pytest.fixture
def admin_client(content_app):
    admin = make_user("admin@example.nhs.uk", network_role=NetworkRole.ADMIN)
    sheffield = db.session.scalar(db.select(Site).where(Site.slug == "sheffield"))
    db.session.add(Membership(user=admin, site=sheffield, role=SiteRole.LEAD))
    db.session.commit()
    return content_app.test_client(user=admin)


@pytest.mark.parametrize("path", PRIVATE_FOR_ANYONE)
def test_private_pages_are_not_stored_even_for_anonymous_visitors(content_client, path):
    response = content_client.get(path)
    assert response.status_code in (200, 302, 400, 403, 404), path
    assert response.headers["Cache-Control"] == "no-store", path


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_may_be_stored_when_nobody_is_signed_in(content_client, path):
    response = content_client.get(path)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_every_response_to_a_signed_in_person_is_not_stored(admin_client):
    for path in PUBLIC + STAFF:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    # Static files are the same for everyone and keep their own caching.
    static = admin_client.get("/static/css/kb.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_the_sign_in_answer_and_the_redirect_after_it_are_not_stored(content_app):
    user = make_user("pat@example.nhs.uk")
    accounts.set_password(user, PASSWORD)
    db.session.commit()
    client = content_app.test_client()
    html = client.get("/sign-in").get_data(as_text=True)
    token = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/sign-in", data={"csrf_token": token, "email": "pat@example.nhs.uk", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"


# --- trusted hosts ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "kb.test.evil.example", "evil.example:80", "localhost.evil.example"])
def test_a_host_that_is_not_trusted_is_a_400_and_never_reflected(content_client, host):
    for path in ("/sites", "/themes", "/", "/entries/"):  # /sites and /themes redirect to add a slash
        response = content_client.get(path, headers={"Host": host})
        assert response.status_code == 400, (path, host)
        assert "Location" not in response.headers and "evil" not in response.get_data(as_text=True)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_base_urls_host_and_the_configured_ones_are_trusted(content_app):
    client = content_app.test_client()
    redirect = client.get("/sites", headers={"Host": "kb.test"})
    assert redirect.status_code == 308 and redirect.headers["Location"] == "http://kb.test/sites/"
    assert client.get("/sites/", headers={"Host": "127.0.0.1:8123"}).status_code == 200
    assert content_app.config["TRUSTED_HOSTS"] == ["kb.test", "localhost", "127.0.0.1", "::1"]


def test_kb_trusted_hosts_adds_hosts(tmp_path, monkeypatch):
    from kb import config

    monkeypatch.setenv("KB_TRUSTED_HOSTS", "kb.internal, .nhs.example")
    loaded = config.load(tmp_path, {"KB_BASE_URL": "https://pioneers.example.org/kb", "SECRET_KEY": "x"})
    assert loaded["TRUSTED_HOSTS"] == ["pioneers.example.org", "kb.internal", ".nhs.example"]


# --- numbers in routes ------------------------------------------------------------------------------


BIG = ["9223372036854775808", "9223372036854775807", "18446744073709551616", "2147483648", "1" + "0" * 40,
       "00000000000000000001"]


@pytest.mark.parametrize("number", BIG)
def test_revision_numbers_too_big_for_any_row_are_a_404(admin_client, number):
    shown = admin_client.get(f"{ENTRY}/revisions/{number}")
    assert shown.status_code == 404 and "Page not found" in shown.get_data(as_text=True)
    html = admin_client.get(f"{ENTRY}/revisions/1").get_data(as_text=True)
    token = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]
    restored = admin_client.post(f"{ENTRY}/revisions/{number}/restore", data={"csrf_token": token})
    assert restored.status_code == 404


@pytest.mark.parametrize("number", BIG)
def test_account_ids_too_big_for_any_row_are_a_404(admin_client, number):
    assert admin_client.get(f"/admin/users/{number}").status_code == 404
    html = admin_client.get("/admin/users/invite").get_data(as_text=True)
    token = {"csrf_token": BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf_token"})["value"]}
    assert admin_client.post(f"/admin/users/{number}/deactivate", data=token).status_code == 404
    assert admin_client.post(f"/sites/sheffield/people/{number}/remove", data=token).status_code == 404


def test_the_largest_possible_number_still_reaches_the_view(admin_client):
    response = admin_client.get(f"{ENTRY}/revisions/2147483647")
    assert response.status_code == 404  # the entry has no such revision: the service said so
    assert "Page not found" in response.get_data(as_text=True)
