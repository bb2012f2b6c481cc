"""Feeds checked strictly: RFC 4287 (Atom) and RSS 2.0 required elements, and hostile text that
must leave every feed well-formed XML."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

from kb.models.types import utcnow
from kb.services import feed_tokens
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.inertness import problems_in

A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ABSOLUTE = re.compile(r"^https?://kb\.test/")
KINDS = ["entries", "sites/testshire", "themes/leadership", "types/case_study", "search",
         "search?q=fish+OR+plain+OR+network"]
PAYLOADS = [line.replace("\\n", "\n") for line in
            (Path(__file__).parents[1] / "data" / "xss_payloads.txt").read_text().splitlines()
            if line and not line.startswith("#")]
HOSTILE_TITLE = "Fish & chips <b>bold</b> ]]> \x01\x0b\x1f\x7f\x9b end"
HOSTILE_TITLE_SHOWN = "Fish & chips <b>bold</b> ]]>  end"


@pytest.fixture
def world(app):
    site = make_site("testshire", name="Test & <shire> ]]> \x02")
    theme = make_theme("leadership", name="Lead <ership> & ]]>")
    make_entry("plain", site=site, theme=theme, title="Plain entry", published="2015-01-01")
    make_entry("hostile", site=site, theme=theme, title=HOSTILE_TITLE, published="2016-01-01",
               summary="Summary with ]]> & <script>alert(1)</script> \x03",
               themes=[{"theme": "leadership", "polarity": "barrier", "note": "Note ]]> <img src=x onerror=alert(1)> \x04"}],
               body="Control \x05 and ]]> and &amp; & <![CDATA[ x ]]>\n\n" + "\n\n".join(PAYLOADS))
    make_entry("network", site=site, theme=theme, title="Network & co", published="2015-06-01", visibility="network")
    return site


def _urls(client) -> list[str]:
    token = feed_tokens.issue_token(make_user(), now=utcnow())
    urls = []
    for kind in KINDS:
        path, _, query = kind.partition("?")
        for fmt in ("atom", "rss"):
            suffix = f"{path}.{fmt}" + (f"?{query}" if query else "")
            urls += [f"/feeds/{suffix}", f"/feeds/m/{token}/{suffix}"]
    return urls


def _xml(client, url: str) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.get_data()
    parsed = feedparser.parse(body)
    assert not parsed.bozo, (url, parsed.get("bozo_exception"))
    return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))  # strict: raises if malformed


def _one(element: etree._Element, name: str) -> etree._Element:
    found = element.findall(name)
    assert len(found) == 1, (name, len(found))
    return found[0]


def _check_atom(feed: etree._Element, url: str) -> int:
    assert feed.tag == f"{A}feed"
    assert ABSOLUTE.match(_one(feed, f"{A}id").text) or _one(feed, f"{A}id").text.startswith("tag:")
    assert _one(feed, f"{A}title").text
    assert RFC3339.match(_one(feed, f"{A}updated").text)
    links = {link.get("rel", "alternate"): link.get("href") for link in feed.findall(f"{A}link")}
    assert set(links) == {"self", "alternate"} and all(ABSOLUTE.match(h) for h in links.values())
    assert links["self"].endswith(url.split("/feeds/", 1)[1]) or "?" in url
    feed_author = feed.find(f"{A}author")
    assert feed_author is not None and _one(feed_author, f"{A}name").text
    ids = []
    for entry in feed.findall(f"{A}entry"):
        ids.append(_one(entry, f"{A}id").text)
        assert ids[-1].startswith("tag:kb.test,")
        assert _one(entry, f"{A}title").text is not None
        assert RFC3339.match(_one(entry, f"{A}updated").text)
        assert RFC3339.match(_one(entry, f"{A}published").text)
        assert _one(entry, f"{A}published").text <= _one(entry, f"{A}updated").text
        alternates = [link for link in entry.findall(f"{A}link") if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1 and ABSOLUTE.match(alternates[0].get("href"))
        author = _one(entry, f"{A}author")
        assert _one(author, f"{A}name").text and ABSOLUTE.match(_one(author, f"{A}uri").text)
        assert _one(entry, f"{A}content").get("type") == "html"
        assert _one(entry, f"{A}summary").text
        for category in entry.findall(f"{A}category"):
            assert category.get("term") and ABSOLUTE.match(category.get("scheme"))
    assert len(ids) == len(set(ids)) and ids
    return len(ids)


def _check_rss(rss: etree._Element) -> int:
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = _one(rss, "channel")
    assert _one(channel, "title").text and _one(channel, "description").text
    assert ABSOLUTE.match(_one(channel, "link").text)
    parsedate_to_datetime(_one(channel, "lastBuildDate").text)
    guids = []
    for item in channel.findall("item"):
        assert _one(item, "title").text is not None and _one(item, "description").text
        assert ABSOLUTE.match(_one(item, "link").text)
        guid = _one(item, "guid")
        assert guid.get("isPermaLink") == "false"
        guids.append(guid.text)
        assert parsedate_to_datetime(_one(item, "pubDate").text).tzinfo is not None
        assert item.find("author") is None  # RSS's author must be an email address: the site is dc:creator
        assert _one(item, "{http://purl.org/dc/elements/1.1/}creator").text
    assert len(guids) == len(set(guids)) and guids
    return len(guids)


def test_every_feed_meets_rfc_4287_or_rss_2(client, world):
    for url in _urls(client):
        root = _xml(client, url)
        count = _check_atom(root, url) if ".atom" in url else _check_rss(root)
        assert count == (3 if "/m/" in url else 2), url


def test_hostile_text_stays_text_and_markup_stays_sanitised(client, world):
    atom = _xml(client, "/feeds/entries.atom")
    entry = next(e for e in atom.findall(f"{A}entry") if "Fish" in e.find(f"{A}title").text)
    assert entry.find(f"{A}title").text == HOSTILE_TITLE_SHOWN
    assert entry.find(f"{A}author/{A}name").text == "Test & <shire> ]]> "
    html = entry.find(f"{A}content").text
    assert problems_in(html) == []  # the HTML a reader shows can run nothing
    assert "<h2>Themes</h2>" in html and "Note ]]&gt; &lt;img src=x onerror=alert(1)&gt;" in html
    assert "Control  and ]]&gt; and &amp; &amp;" in html  # kept as text, not as markup
    parsed = feedparser.parse(client.get("/feeds/entries.rss").get_data())
    assert not parsed.bozo
    assert parsed.entries[0].title == HOSTILE_TITLE_SHOWN


@pytest.mark.parametrize("query", ["]]>", "&<>\"'", "a\x01b", "<![CDATA[", "title:<x>", "fish & chips"])
def test_hostile_searches_give_well_formed_feeds(client, world, query):
    for fmt in ("atom", "rss"):
        response = client.get(f"/feeds/search.{fmt}?q={quote(query)}")
        assert response.status_code == 200
        etree.fromstring(response.get_data())
        assert not feedparser.parse(response.get_data()).bozo
