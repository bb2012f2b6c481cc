"""/account/subscriptions.opml: an OPML 2.0 file of a member's subscriptions' feeds, private
addresses when the member has a feed key, public ones (and the page says so) when not."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import feedparser
import pytest

from kb.extensions import db
from kb.models.types import utcnow
from kb.services import feed_tokens
from kb.services import subscriptions as service
from kb.services.filters import Filters
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import get_page

T0 = datetime(2015, 1, 1, tzinfo=timezone.utc)
HOSTILE = 'A & B <b>"x"</b> ]]> \'y\''


@pytest.fixture
def member(app):
    site = make_site("testshire", name="Testshire")
    theme = make_theme("leadership", name="Leadership")
    make_entry("public", site=site, theme=theme, title="Public entry")
    make_entry("members", site=site, theme=theme, title="Members' entry", visibility="network")
    user = make_user(password_hash="x", name='Mo <Member> & "Co"')
    service.follow_site(user, "testshire", now=T0)
    service.follow_theme(user, "leadership", "barrier", now=T0)
    service.save_search(user, Filters(q="care & <support>", type="case_study"), now=T0, name=HOSTILE)
    return user


def outlines(response) -> tuple[ET.Element, list[ET.Element]]:  # noqa: ANN001
    assert response.status_code == 200
    assert response.mimetype == "text/x-opml+xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.find("head/title").text and parsedate_to_datetime(root.find("head/dateCreated").text)
    return root, root.findall("body/outline")


def test_without_a_key_the_file_lists_public_feeds_and_the_page_says_how_to_get_private_ones(app, member):
    client = app.test_client(user=member)
    page = get_page(client, "/account/subscriptions")
    assert "You have no private feed key" in page.get_text() and page.find("a", href="/account/feeds")
    response = client.get("/account/subscriptions.opml")
    assert "no-store" in response.headers["Cache-Control"]
    root, items = outlines(response)
    assert "public feeds" in root.find("head/title").text
    assert root.find("head/ownerName").text == 'Mo <Member> & "Co"'
    assert [(o.get("text"), o.get("type"), o.get("xmlUrl")) for o in items] == [
        ("Testshire", "rss", "http://kb.test/feeds/sites/testshire.atom"),
        ("Leadership where it was a barrier", "rss", "http://kb.test/feeds/themes/leadership.atom?polarity=barrier"),
        (HOSTILE, "rss", "http://kb.test/feeds/search.atom?q=care+%26+%3Csupport%3E&type=case_study"),
    ]
    assert items[2].get("title") == HOSTILE
    assert items[0].get("htmlUrl") == "http://kb.test/search?site=testshire"


def test_with_a_key_the_file_lists_private_feeds_that_work(app, member):
    token = feed_tokens.issue_token(member, now=utcnow())
    client = app.test_client(user=member)
    _root, items = outlines(client.get("/account/subscriptions.opml"))
    urls = [o.get("xmlUrl") for o in items]
    assert urls[0] == f"http://kb.test/feeds/m/{token}/sites/testshire.atom"
    assert all(f"/feeds/m/{token}/" in url for url in urls)
    feed = feedparser.parse(app.test_client().get(urls[0].removeprefix("http://kb.test")).get_data())
    assert not feed.bozo and sorted(e.title for e in feed.entries) == ["Members' entry", "Public entry"]


def test_control_characters_in_names_do_not_break_the_file(app, member):
    subscription = service.save_search(member, Filters(q="frailty"), now=T0)
    # Saved before the rules refused such names (or written by another program): still well-formed.
    subscription.name = "Bad\x01name\x1f"
    db.session.commit()
    _root, items = outlines(app.test_client(user=member).get("/account/subscriptions.opml"))
    assert items[-1].get("text") == "Badname"


def test_another_members_file_holds_only_their_own(app, member):
    other = make_user(password_hash="x")
    _root, items = outlines(app.test_client(user=other).get("/account/subscriptions.opml"))
    assert items == []
