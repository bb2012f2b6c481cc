"""Security headers on every kind of response: pages, errors, redirects, static files."""

from __future__ import annotations

import re

import pytest

from kb.models import NetworkRole
from kb.security import CONTENT_SECURITY_POLICY
from tests.factories import make_user

PATHS = ["/", "/search?q=care", "/search?q=site:sheffield", "/sites", "/themes", "/glossary",
         "/entries/does-not-exist", "/search?page=abc", "/static/css/kb.css", "/healthz"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(content_client, path):
    response = content_client.get(path)
    response.close()  # static files are streamed from an open file
    assert response.status_code < 500
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # only when served over HTTPS


# Pages only signed-in staff see: the editor, history, account and administration pages.
STAFF_PATHS = ["/entries/new", "/entries/sheffield-pooled-budget/edit", "/entries/sheffield-pooled-budget/history",
               "/entries/sheffield-pooled-budget/diff?from=1&to=1", "/entries/sheffield-pooled-budget/revisions/1",
               "/account/", "/account/password", "/account/entries", "/admin/", "/admin/users", "/admin/users/invite",
               "/admin/sites", "/admin/sites/sheffield/edit", "/admin/themes", "/admin/audit", "/sites/sheffield/people"]


@pytest.fixture
def admin_client(content_app):
    admin = make_user("admin@example.nhs.uk", network_role=NetworkRole.ADMIN)
    return content_app.test_client(user=admin)


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_staff_pages_carry_the_headers_and_no_inline_scripts_or_styles(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    _assert_no_inline_code(response.get_data(as_text=True), path)


def test_the_policy_allows_no_inline_script_and_no_framing():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_pages_have_no_inline_scripts_or_style_attributes(content_client):
    for path in ("/", "/search?q=care", "/sites", "/themes", "/glossary"):
        _assert_no_inline_code(content_client.get(path).get_data(as_text=True), path)


def _assert_no_inline_code(html: str, path: str) -> None:
    assert "style=" not in html, path
    assert not re.search(r"\son[a-z]+=", html), path  # no event-handler attributes
    for chunk in html.split("<script")[1:]:
        assert chunk.lstrip().startswith(("src=", "type=\"module\" src=")), (path, chunk[:80])


def test_https_deployments_also_get_strict_transport_security(tmp_path):
    # SQLite only: the header comes from configuration, whatever the database (here a file with no tables).
    from kb import create_app

    app = create_app({"KB_INSTANCE_PATH": str(tmp_path), "KB_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
                      "SESSION_COOKIE_SECURE": True, "KB_SECRET_KEY": "test"})
    response = app.test_client().get("/healthz")
    app.extensions["kb.search"].close()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
