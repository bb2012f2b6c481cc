"""Private feeds: a member's token reads network-only entries until it is revoked, replaced or
the account deactivated; the key page is CSRF-protected and works without JavaScript."""

from __future__ import annotations

import hashlib
import re

import feedparser
import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import FeedToken, NetworkRole, User
from kb.models.types import utcnow
from kb.services import feed_tokens, users
from kb.services.errors import NotAllowed
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import get_page

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
KINDS = ["entries", "sites/testshire", "themes/leadership", "types/case_study", "search"]


@pytest.fixture
def world(app):
    site = make_site("testshire")
    theme = make_theme("leadership")
    make_entry("public-entry", site=site, theme=theme, title="Public entry", published="2015-01-01")
    make_entry("network-entry", site=site, theme=theme, title="Network entry", published="2016-01-01",
               visibility="network")
    make_entry("draft-entry", site=site, theme=theme, title="Draft entry", status="draft", published=None)
    make_entry("archived-entry", site=site, theme=theme, title="Archived entry", status="archived")
    return site


@pytest.fixture
def member(app):
    return make_user(password_hash="x")


def titles(client, url: str, status: int = 200) -> list[str]:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    if status != 200:
        return []
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [e.title for e in parsed.entries]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_members_token_feed_holds_network_entries_and_no_drafts(client, world, member, kind, fmt):
    token = feed_tokens.issue_token(member, now=utcnow())
    assert titles(client, f"/feeds/m/{token}/{kind}.{fmt}") == ["Network entry", "Public entry"]
    assert titles(client, f"/feeds/{kind}.{fmt}") == ["Public entry"]


def test_private_feeds_are_never_stored_and_keep_the_token_out_of_referrers(client, world, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    response = client.get(f"/feeds/m/{token}/search.atom?q=entry")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Network entry" in response.get_data(as_text=True)
    assert client.get(f"/feeds/m/{token}/search.atom?q=entry",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_the_token_is_stored_only_as_a_digest(app, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    row = db.session.scalar(select(FeedToken).where(FeedToken.user_id == member.id))
    assert row.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.nonce, row.token_digest)
    assert feed_tokens.current_token(member) == token  # shown again without storing it


def test_revoking_stops_the_old_address_at_once(client, world, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    assert "Network entry" in titles(client, f"/feeds/m/{token}/entries.atom")
    assert feed_tokens.revoke_token(member) is True
    response = client.get(f"/feeds/m/{token}/entries.atom")
    assert response.status_code == 404 and b"Network entry" not in response.get_data()
    assert feed_tokens.current_token(member) is None


def test_regenerating_stops_the_old_address_and_the_new_one_works(client, world, member):
    old = feed_tokens.issue_token(member, now=utcnow())
    new = feed_tokens.issue_token(member, now=utcnow())
    assert new != old
    titles(client, f"/feeds/m/{old}/entries.rss", status=404)
    assert titles(client, f"/feeds/m/{new}/entries.rss") == ["Network entry", "Public entry"]


def test_deactivating_the_account_stops_its_private_feeds(client, world, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    admin = make_user(network_role=NetworkRole.ADMIN, password_hash="x")
    users.deactivate(admin, member.id, now=utcnow())
    for kind in KINDS:
        response = client.get(f"/feeds/m/{token}/{kind}.atom")
        assert response.status_code == 404 and b"Network entry" not in response.get_data()


def test_a_deleted_accounts_token_reads_as_nobody(client, world, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    db.session.delete(db.session.get(User, member.id))
    db.session.commit()
    titles(client, f"/feeds/m/{token}/entries.atom", status=404)


def test_only_active_members_may_have_a_key(app):
    from flask_login import AnonymousUserMixin
    with pytest.raises(NotAllowed):
        feed_tokens.issue_token(AnonymousUserMixin(), now=utcnow())
    with pytest.raises(NotAllowed):
        feed_tokens.issue_token(make_user(active=False), now=utcnow())


@pytest.mark.parametrize("token", ["", "x" * 43, "a" * 42 + "/", "é" * 43, "A" * 400])
def test_any_string_as_a_token_reads_as_nobody(app, member, token):
    feed_tokens.issue_token(member, now=utcnow())
    assert feed_tokens.reader_for_token(token) is None


def test_guessing_tokens_is_rate_limited_but_polling_is_not(app, client, world, member):
    app.config["KB_FEED_TOKEN_LIMIT"] = "5 per hour"
    token = feed_tokens.issue_token(member, now=utcnow())
    for _ in range(30):  # a reader polling its feeds is never limited
        assert client.get("/feeds/entries.atom").status_code == 200
        assert client.get(f"/feeds/m/{token}/entries.atom").status_code == 200
    statuses = [client.get(f"/feeds/m/{'g' * 42}{i % 10}/entries.atom").status_code for i in range(8)]
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429] * 3
    assert client.get("/feeds/entries.atom").status_code == 200  # public feeds are not affected


# --- the key page ---------------------------------------------------------------------------


def _csrf(page_text: str) -> str:
    match = CSRF.search(page_text)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def test_the_key_page_needs_signing_in(client):
    response = client.get("/account/feeds")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.post("/account/feeds/key").status_code in (302, 400)


def test_a_member_makes_replaces_and_revokes_their_addresses_without_javascript(app, world, member):
    client = app.test_client(user=member)
    page = client.get("/account/feeds")
    assert page.status_code == 200 and "You have no private feed addresses" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"

    made = client.post("/account/feeds/key", data={"csrf_token": _csrf(page.get_data(as_text=True))},
                       follow_redirects=True)
    text = made.get_data(as_text=True)
    token = feed_tokens.current_token(db.session.get(User, member.id))
    assert token and f"http://kb.test/feeds/m/{token}/entries.atom" in text
    assert "Your private feed addresses are ready" in text
    assert titles(app.test_client(), f"/feeds/m/{token}/entries.atom") == ["Network entry", "Public entry"]

    # Listing pages now offer the member's own feed beside the public one.
    search = get_page(client, "/search?q=entry")
    links = [a["href"] for a in search.find(class_="kb-get-updates").find_all("a")]
    assert f"/feeds/m/{token}/search.atom?q=entry" in links and "/feeds/search.atom?q=entry" in links

    replaced = client.post("/account/feeds/key", data={"csrf_token": _csrf(text)}, follow_redirects=True)
    new_token = feed_tokens.current_token(db.session.get(User, member.id))
    assert new_token != token and "The old ones no longer work" in replaced.get_data(as_text=True)
    titles(app.test_client(), f"/feeds/m/{token}/entries.atom", status=404)

    revoked = client.post("/account/feeds/revoke", data={"csrf_token": _csrf(replaced.get_data(as_text=True))},
                          follow_redirects=True)
    assert "no longer work" in revoked.get_data(as_text=True)
    titles(app.test_client(), f"/feeds/m/{new_token}/entries.atom", status=404)


def test_the_key_forms_refuse_a_missing_csrf_token(app, member):
    client = app.test_client(user=member)
    assert client.post("/account/feeds/key", data={}).status_code == 400
    assert client.post("/account/feeds/revoke", data={}).status_code == 400
    assert feed_tokens.current_token(db.session.get(User, member.id)) is None


def test_a_changed_secret_key_shows_no_address_until_a_new_one_is_made(app, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    app.config["SECRET_KEY"] = "a-new-secret"
    assert feed_tokens.current_token(member) is None  # the address shown would not be the stored one
    new = feed_tokens.issue_token(member, now=utcnow())
    assert new != token and feed_tokens.reader_for_token(new).id == member.id
    assert feed_tokens.reader_for_token(token) is None
