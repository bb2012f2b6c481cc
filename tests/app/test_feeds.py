"""Atom and RSS feeds: every kind parses, entries are right, visibility holds, 304s, bad input."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import feedparser
import pytest
from sqlalchemy import text

from kb.extensions import db
from kb.models import NetworkRole
from kb.services import authoring
from kb.services.records import entry_record
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import get_page

ATOM = "{http://www.w3.org/2005/Atom}"
KINDS = [
    "/feeds/entries",
    "/feeds/sites/testshire",
    "/feeds/themes/leadership",
    "/feeds/types/case_study",
    "/feeds/search",
]
PUBLIC_TITLES = {"Newest public entry", "Older public entry", "Oldest public entry"}


@pytest.fixture
def world(app):
    site = make_site("testshire", name="Testshire & <Co>")
    theme = make_theme("leadership", name="Leadership")
    other = make_theme("data-sharing", name="Data sharing")
    make_entry("oldest", site=site, theme=theme, title="Oldest public entry", published="2014-01-10")
    make_entry("older", site=site, theme=theme, title="Older public entry", published="2015-06-01",
               themes=[{"theme": "leadership", "polarity": "barrier", "note": "Churn"},
                       {"theme": "data-sharing", "polarity": "enabler", "note": "Shared record"}])
    make_entry("newest", site=site, theme=theme, title="Newest public entry", published="2016-03-03",
               body="See [the other](/entries/older) and **bold**.")
    make_entry("members-only", site=site, theme=theme, title="Secret network entry", published="2016-01-01",
               visibility="network")
    make_entry("unfinished", site=site, theme=theme, title="Secret draft entry", status="draft", published=None)
    return {"site": site, "theme": theme, "other": other}


def fetch(client, url: str, status: int = 200, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response


def parse(response):
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def titles(parsed) -> list[str]:
    return [e.title for e in parsed.entries]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("path", KINDS)
def test_every_kind_of_feed_parses_and_lists_public_entries_newest_first(client, world, path, fmt):
    response = fetch(client, f"{path}.{fmt}")
    assert response.mimetype == f"application/{fmt}+xml"
    parsed = parse(response)
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    assert titles(parsed) == ["Newest public entry", "Older public entry", "Oldest public entry"]


def test_entries_carry_ids_dates_author_categories_summary_and_absolute_body_links(client, world):
    parsed = parse(fetch(client, "/feeds/entries.atom"))
    newest, older = parsed.entries[0], parsed.entries[1]
    assert re.fullmatch(r"tag:kb\.test,\d{4}-\d{2}-\d{2}:entry/\d+", newest.id)
    assert newest.link == "http://kb.test/entries/newest"
    assert newest.published.startswith("2016-03-03T00:00:00")
    assert newest.updated.startswith("2016-03-03T00:00:00")
    assert newest.author == "Testshire & <Co>"
    assert newest.author_detail.href == "http://kb.test/sites/testshire"
    assert newest.summary == "Summary of newest."
    body = newest.content[0].value
    assert 'href="http://kb.test/entries/older"' in body and "<strong>bold</strong>" in body
    assert {(t.term, t.label) for t in older.tags} == {
        ("case_study", "Case study"),
        ("leadership/barrier", "Leadership: barrier"),
        ("data-sharing/enabler", "Data sharing: enabler"),
    }
    assert parsed.feed.link == "http://kb.test/search"


def test_theme_feed_can_follow_one_polarity(client, world):
    barriers = parse(fetch(client, "/feeds/themes/leadership.atom?polarity=barrier"))
    assert titles(barriers) == ["Older public entry"]
    assert "where it was a barrier" in barriers.feed.title
    assert parse(fetch(client, "/feeds/themes/data-sharing.rss")).entries[0].title == "Older public entry"


def test_search_feed_takes_exactly_the_search_parameters(client, world):
    parsed = parse(fetch(client, "/feeds/search.atom?q=newest&sort=title&page=3"))
    assert titles(parsed) == ["Newest public entry"]
    assert parsed.feed.link == "http://kb.test/search?q=newest"
    typed = parse(fetch(client, "/feeds/search.rss?q=site:testshire+year:2015"))
    assert titles(typed) == ["Older public entry"]


def _admin():
    return make_user(network_role=NetworkRole.ADMIN, password_hash="x")


def _edit(user, slug, *, title, minor, now):
    from kb.models import Entry
    entry = db.session.scalar(db.select(Entry).where(Entry.slug == slug))
    record = {**entry_record(entry), "title": title}
    authoring.save_entry(user, slug, record, base_version=entry.version, summary="Edit", minor=minor, now=now)


def test_minor_edits_keep_updated_and_material_edits_move_it_and_ids_never_change(client, world):
    before = parse(fetch(client, "/feeds/entries.atom")).entries[1]
    admin = _admin()
    _edit(admin, "older", title="Older public entry, typo fixed", minor=True,
          now=datetime(2026, 1, 2, 10, 0, tzinfo=timezone.utc))
    minor = parse(fetch(client, "/feeds/entries.atom")).entries[1]
    assert minor.title == "Older public entry, typo fixed"
    assert (minor.id, minor.updated) == (before.id, before.updated)
    _edit(admin, "older", title="Older public entry, rewritten", minor=False,
          now=datetime(2026, 2, 3, 11, 30, tzinfo=timezone.utc))
    material = parse(fetch(client, "/feeds/entries.atom")).entries[1]
    assert material.id == before.id
    assert material.updated.startswith("2026-02-03T11:30:00")
    assert material.published == before.published


def test_public_feeds_never_hold_network_or_draft_entries_even_for_signed_in_members(app, world):
    member_client = app.test_client(user=make_user())
    for path in KINDS:
        for client in (app.test_client(), member_client):
            text = client.get(f"{path}.atom").get_data(as_text=True)
            assert "Secret" not in text and "Newest public entry" in text


def test_conditional_get_answers_304_and_public_feeds_may_be_kept_briefly(client, world):
    first = fetch(client, "/feeds/sites/testshire.atom")
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Last-Modified"] == "Thu, 03 Mar 2016 00:00:00 GMT"
    etag = first.headers["ETag"]
    again = fetch(client, "/feeds/sites/testshire.atom", 304, **{"If-None-Match": etag})
    assert again.get_data() == b""
    fetch(client, "/feeds/sites/testshire.atom", 304, **{"If-Modified-Since": first.headers["Last-Modified"]})
    fetch(client, "/feeds/sites/testshire.atom", 200, **{"If-Modified-Since": "Wed, 02 Mar 2016 00:00:00 GMT"})
    make_entry("brand-new", site=world["site"], theme=world["theme"], title="Brand new", published="2017-01-01")
    changed = fetch(client, "/feeds/sites/testshire.atom", 200, **{"If-None-Match": etag})
    assert changed.headers["ETag"] != etag and "Brand new" in changed.get_data(as_text=True)


@pytest.mark.parametrize("url, message", [
    ("/feeds/search.atom?strength=9", "strength of evidence must be a whole number from 1 to 5"),
    ("/feeds/search.rss?site=nowhere", "There is no site called"),
    ("/feeds/search.atom?type=poem", "is not a type of entry"),
    ("/feeds/themes/leadership.atom?polarity=sideways", "is not a enabler or barrier"),
])
def test_bad_parameters_are_a_clear_400(client, world, url, message):
    response = fetch(client, url, 400)
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/feeds/sites/nowhere.atom", "/feeds/themes/nothing.rss", "/feeds/types/poem.atom",
                                 "/feeds/entries.json", "/feeds/m/not-a-token/entries.atom"])
def test_unknown_feeds_are_404(client, world, url):
    fetch(client, url, 404)


def test_listing_pages_link_their_feeds_in_the_head_and_visibly(client, world):
    for url, feed in [("/", "/feeds/entries.atom"), ("/sites/testshire", "/feeds/sites/testshire.atom"),
                      ("/themes/leadership", "/feeds/themes/leadership.atom"),
                      ("/search?q=newest&type=case_study&page=1", "/feeds/search.atom?q=newest&type=case_study")]:
        page = get_page(client, url)
        alternate = page.find("link", rel="alternate", type="application/atom+xml")
        assert alternate is not None and alternate["href"] == feed, url
        updates = page.find(class_="kb-get-updates")
        assert "Get updates" in updates.get_text() and updates.find("a")["href"] == feed, url
        parse(fetch(client, alternate["href"]))


def test_a_theme_page_links_a_feed_for_each_side(client, world):
    page = get_page(client, "/themes/leadership")
    barrier_side = page.find("section", class_="kb-side--barrier")
    href = next(a["href"] for a in barrier_side.find_all("a") if a.get_text().startswith("Feed"))
    assert href == "/feeds/themes/leadership.atom?polarity=barrier"
    assert [e.title for e in parse(fetch(client, href)).entries] == ["Older public entry"]


def _retitle_behind_the_apps_back(slug: str, title: str) -> None:
    """Change a title without moving the data version (as a program outside the app would)."""
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE entry SET title = :title WHERE slug = :slug"), {"title": title, "slug": slug})


def test_public_feeds_are_stored_under_the_data_version_and_private_ones_never(client, world):
    from kb.models.types import utcnow
    from kb.services import feed_tokens
    token = feed_tokens.issue_token(make_user(), now=utcnow())
    assert "Newest public entry" in fetch(client, "/feeds/types/case_study.atom").get_data(as_text=True)
    fetch(client, f"/feeds/m/{token}/types/case_study.atom")
    _retitle_behind_the_apps_back("newest", "Retitled quietly")
    assert "Newest public entry" in fetch(client, "/feeds/types/case_study.atom").get_data(as_text=True)  # stored
    assert "Retitled quietly" in fetch(client, f"/feeds/m/{token}/types/case_study.atom").get_data(as_text=True)
    make_entry("another", site=world["site"], theme=world["theme"], title="Another entry")  # moves the version
    assert "Retitled quietly" in fetch(client, "/feeds/types/case_study.atom").get_data(as_text=True)


def test_entries_changed_since_and_their_material_changes(app, world):
    from kb.models import Entry
    from kb.services import feeds
    from kb.services.filters import Filters
    admin = _admin()
    _edit(admin, "oldest", title="Oldest, corrected", minor=True, now=datetime(2026, 3, 1, tzinfo=timezone.utc))
    _edit(admin, "older", title="Older, rewritten", minor=False, now=datetime(2026, 3, 2, tzinfo=timezone.utc))
    since = datetime(2026, 2, 1, tzinfo=timezone.utc)
    changed = feeds.entries_changed_since(Filters(site="testshire"), make_user(), since)
    assert [(e.slug, updated.isoformat()) for e, _published, updated in changed] == [
        ("older", "2026-03-02T00:00:00+00:00")]
    older = db.session.scalar(db.select(Entry).where(Entry.slug == "older"))
    oldest = db.session.scalar(db.select(Entry).where(Entry.slug == "oldest"))
    assert feeds.material_changes([older.id, oldest.id], since) == {older.id: ["Edit"]}
    assert feeds.entries_changed_since(Filters(), make_user(), since + timedelta(days=60)) == []
