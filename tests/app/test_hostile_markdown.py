"""Hostile Markdown stays inert on every page it appears on."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb.extensions import db
from tests.factories import make_entry, make_site, make_theme
from tests.inertness import load_payloads, problems_in

PAYLOADS = load_payloads(Path(__file__).parent.parent / "data" / "xss_payloads.txt")


def _prose(response) -> str:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return "".join(str(div) for div in page.select(".kb-prose"))


@pytest.fixture
def hostile(app):
    # PostgreSQL cannot store a NUL character at all (and every form refuses one), so payloads
    # carrying one are stored only where stored text could hold them: SQLite.
    payloads = PAYLOADS if db.engine.dialect.name == "sqlite" else [p for p in PAYLOADS if "\x00" not in p]
    body = "\n\n".join(payloads)
    site = make_site("hostile-site", body=body)
    entry = make_entry("hostile-entry", site=site, theme=make_theme(), body=body,
                       title='<script>alert("title")</script>', summary='<img src=x onerror=alert(1)>')
    return site, entry


def test_hostile_entry_body_renders_inert(client, hostile):
    response = client.get("/entries/hostile-entry")
    assert response.status_code == 200
    prose = _prose(response)
    assert prose.count("<") > 50  # the harmless parts of the payloads are still shown
    inner = BeautifulSoup(prose, "html.parser").select_one(".kb-prose").decode_contents()
    assert problems_in(inner) == []


def test_hostile_site_profile_renders_inert(client, hostile):
    inner = BeautifulSoup(_prose(client.get("/sites/hostile-site")), "html.parser").select_one(".kb-prose").decode_contents()
    assert problems_in(inner) == []


@pytest.mark.parametrize("url", ["/entries/hostile-entry", "/sites/hostile-site", "/", "/search", "/themes/"])
def test_hostile_titles_and_summaries_are_escaped_everywhere(client, hostile, url):
    html = client.get(url).get_data(as_text=True)
    assert '<script>alert("title")' not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(" in html or url == "/themes/"
