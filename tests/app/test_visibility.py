"""Unpublished and network-only entries reach nobody who may not see them, on any page."""

from __future__ import annotations

import pytest

from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import entry_links, get_page, main_text, text_of

PAGES = ["/", "/search", "/search?q=entry", "/sites/", "/themes/"]


@pytest.fixture
def world(app):
    site = make_site("testshire")
    theme = make_theme("leadership")
    entries = {
        "public": make_entry("public-entry", site=site, theme=theme, title="Public entry"),
        "network": make_entry("network-entry", site=site, theme=theme, title="Secret network entry", visibility="network"),
        "draft": make_entry("draft-entry", site=site, theme=theme, title="Secret draft entry", status="draft", published=None),
        "in_review": make_entry("review-entry", site=site, theme=theme, title="Secret review entry", status="in_review"),
        "archived": make_entry("archived-entry", site=site, theme=theme, title="Secret archived entry", status="archived"),
    }
    # The public entry links to every other one, so "related entries" could leak them.
    make_entry(
        "linker", site=site, theme=theme, title="Linker",
        links=[{"rel": "describes", "entry": slug} for slug in ("network-entry", "draft-entry", "review-entry", "archived-entry")],
    )
    return {"site": site, "theme": theme, "entries": entries}


def _everything_anonymous_can_reach(client, world) -> str:
    urls = PAGES + ["/sites/testshire", "/themes/leadership", "/entries/linker", "/search?site=testshire", "/search?theme=leadership&polarity=enabler"]
    return " ".join(main_text(get_page(client, url)) for url in urls)


def test_anonymous_readers_see_only_published_public_entries(client, world):
    text = _everything_anonymous_can_reach(client, world)
    assert "Public entry" in text
    assert "Secret" not in text


@pytest.mark.parametrize("slug", ["network-entry", "draft-entry", "review-entry", "archived-entry"])
def test_private_entries_are_a_404_to_anonymous_readers(client, world, slug):
    page = get_page(client, f"/entries/{slug}", status=404)
    assert "Secret" not in main_text(page)


def test_counts_do_not_include_private_entries(client, world):
    page = get_page(client, "/")
    assert "2 entries" in main_text(page)  # public-entry and linker, both case studies
    theme_page = get_page(client, "/themes/leadership")
    assert "(2)" in text_of(theme_page.find("section", class_="kb-side--enabler"))


def test_signed_in_members_also_see_network_entries(app, world):
    member = make_user()
    client = app.test_client(user=member)
    page = get_page(client, "/entries/network-entry")
    assert "Secret network entry" in main_text(page)
    assert "network-entry" in entry_links(get_page(client, "/search"))
    assert "Network only" in main_text(get_page(client, "/search"))
    text = main_text(get_page(client, "/entries/linker"))
    assert "Secret network entry" in text and "Secret draft entry" not in text


@pytest.mark.parametrize("slug", ["draft-entry", "review-entry", "archived-entry"])
def test_members_cannot_read_unpublished_entries(app, world, slug):
    client = app.test_client(user=make_user())
    get_page(client, f"/entries/{slug}", status=404)


def test_deactivated_accounts_read_as_anonymous(app, world):
    client = app.test_client(user=make_user(active=False))
    get_page(client, "/entries/network-entry", status=404)
