"""Theme pages page each side on its own, and site pages each list: newest first, no gaps or
overlaps, plain links (no JavaScript), and a clear 400 or 404 for a page that cannot be shown."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import entry_links, get_page, main_text, text_of

START = date(2015, 1, 1)
ENABLERS, BARRIERS, NETWORK_ENABLERS, INVOLVED = 25, 22, 2, 21


@pytest.fixture
def world(app):
    site = make_site("pageshire", name="Pageshire")
    other = make_site("othershire", name="Othershire")
    theme = make_theme("data-sharing", name="Data sharing")

    def tagged(polarity: str) -> list[dict]:
        return [{"theme": "data-sharing", "polarity": polarity, "note": f"Why it was an {polarity}."}]

    for i in range(ENABLERS):
        make_entry(f"enabler-{i:02d}", site=site, theme=theme, title=f"Enabler {i:02d}",
                   published=(START + timedelta(days=i)).isoformat(), themes=tagged("enabler"))
    for i in range(BARRIERS):
        make_entry(f"barrier-{i:02d}", site=site, theme=theme, title=f"Barrier {i:02d}",
                   published=(START + timedelta(days=i)).isoformat(), themes=tagged("barrier"))
    for i in range(NETWORK_ENABLERS):
        make_entry(f"members-{i}", site=site, theme=theme, title=f"Members only {i}", visibility="network",
                   published=(START + timedelta(days=100 + i)).isoformat(), themes=tagged("enabler"))
    for i in range(INVOLVED):
        make_entry(f"involved-{i:02d}", site=other, theme=theme, title=f"Involved {i:02d}", other_sites=["pageshire"],
                   published=(START + timedelta(days=i)).isoformat(), themes=tagged("enabler"))
    # Two drafts tagged with the theme, which no listing may show or count.
    make_entry("draft-a", site=site, theme=theme, title="Draft A", status="draft", published=None,
               themes=tagged("enabler"))
    make_entry("draft-b", site=site, theme=theme, title="Draft B", status="in_review", themes=tagged("barrier"))
    return {"site": site, "theme": theme}


def side(page, polarity: str):
    return page.find("section", class_=f"kb-side--{polarity}")


def titles(node) -> list[str]:
    return [a.get_text(strip=True) for a in node.select('a[href^="/entries/"]')]


def next_link(node) -> str | None:
    link = node.select_one("nav.nhsuk-pagination a.nhsuk-pagination__link--next")
    return link["href"] if link else None


def params(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def walk(client, url: str, find_side) -> tuple[list[list[str]], list[str]]:  # noqa: ANN001
    """Follow one list's "Next" links from ``url``: the titles on each page, and the addresses."""
    pages, addresses = [], [url]
    while True:
        node = find_side(get_page(client, url))
        pages.append(titles(node))
        url = next_link(node)
        if url is None:
            return pages, addresses
        addresses.append(url)


def test_each_side_of_a_theme_page_is_paged_newest_first_with_no_gaps_or_overlaps(app, world):
    client = app.test_client()
    involved = [f"Involved {i:02d}" for i in range(INVOLVED)]
    mine = [f"Enabler {i:02d}" for i in range(ENABLERS)]
    # Newest first; entries published on the same day by title.
    dated = [(START + timedelta(days=i), t) for i, t in enumerate(mine)] + \
            [(START + timedelta(days=i), t) for i, t in enumerate(involved)]
    expected = [t for _, t in sorted(dated, key=lambda d: (-d[0].toordinal(), d[1]))]

    pages, addresses = walk(client, "/themes/data-sharing", lambda p: side(p, "enabler"))
    assert [len(p) for p in pages] == [20, 20, 6]
    assert [t for p in pages for t in p] == expected
    assert [params(a).get("enablers_page") for a in addresses[1:]] == [["2"], ["3"]]
    assert all(a.endswith("#enabler-heading") for a in addresses[1:])

    page = get_page(client, "/themes/data-sharing?enablers_page=3")
    assert "What helped (46)" in text_of(side(page, "enabler"))
    assert "Showing 41 to 46 of 46, newest first." in text_of(side(page, "enabler"))
    assert titles(side(page, "barrier")) == [f"Barrier {i:02d}" for i in range(BARRIERS - 1, 1, -1)]


def test_paging_one_side_leaves_the_other_side_where_it_was(app, world):
    client = app.test_client()
    page = get_page(client, "/themes/data-sharing?enablers_page=2")
    barriers_next = next_link(side(page, "barrier"))
    assert params(barriers_next) == {"enablers_page": ["2"], "barriers_page": ["2"]}
    on_both = get_page(client, barriers_next)
    assert titles(side(on_both, "barrier")) == ["Barrier 01", "Barrier 00"]
    assert titles(side(on_both, "enabler")) == titles(side(page, "enabler"))
    previous = side(on_both, "enabler").select_one("a.nhsuk-pagination__link--prev")
    assert params(previous["href"]) == {"barriers_page": ["2"]}  # page 1 is the address without a number
    assert "Page 1 of 3" in text_of(previous)


def test_the_pagination_is_the_nhs_component_made_of_plain_links(app, world):
    page = get_page(app.test_client(), "/themes/data-sharing?enablers_page=2")
    nav = side(page, "enabler").select_one("nav.nhsuk-pagination")
    assert nav["aria-label"] == "Pages of what helped"
    links = nav.select("a.nhsuk-pagination__link")
    assert [text_of(a) for a in links] == ["Previous : Page 1 of 3", "Next : Page 3 of 3"]
    assert all(a["href"].startswith("/themes/data-sharing") for a in links)
    assert not page.select("main script")


def test_network_only_entries_are_listed_and_counted_for_members_only(app, world):
    anonymous, member = app.test_client(), app.test_client(user=make_user())
    first_for_anonymous = get_page(anonymous, "/themes/data-sharing")
    assert "What helped (46)" in text_of(side(first_for_anonymous, "enabler"))
    assert "Members only" not in main_text(first_for_anonymous)
    first_for_member = get_page(member, "/themes/data-sharing")
    assert "What helped (48)" in text_of(side(first_for_member, "enabler"))
    assert titles(side(first_for_member, "enabler"))[:2] == ["Members only 1", "Members only 0"]
    for client in (anonymous, member):
        pages, _ = walk(client, "/themes/data-sharing", lambda p: side(p, "enabler"))
        assert not {"Draft A", "Draft B"} & {t for p in pages for t in p}


def test_a_page_past_the_end_is_a_404_that_says_where_the_list_ends(app, world):
    client = app.test_client()
    page = get_page(client, "/themes/data-sharing?enablers_page=4", status=404)
    assert "There is no page 4 of what helped for Data sharing: the last is page 3." in page.get_text()
    page = get_page(client, "/themes/data-sharing?barriers_page=3", status=404)
    assert "There is no page 3 of what got in the way for Data sharing: the last is page 2." in page.get_text()
    page = get_page(client, "/sites/pageshire?involved_page=3", status=404)
    assert "There is no page 3 of the other entries that involve Pageshire: the last is page 2." in page.get_text()


BAD_PAGES = ["abc", "0", "-1", "2.5", "1e3", "99999999999999999999999", "10001", "%C2%B2", "%D9%A1", "%2B2"]


def test_a_page_that_is_not_a_page_number_is_a_400_that_says_so(app):
    make_entry("only-one", site=make_site("pageshire"), theme=make_theme("data-sharing"))
    client = app.test_client()
    for url, name in [("/themes/data-sharing", "enablers_page"), ("/themes/data-sharing", "barriers_page"),
                      ("/sites/pageshire", "page"), ("/sites/pageshire", "involved_page")]:
        for value in BAD_PAGES:
            page = get_page(client, f"{url}?{name}={value}", status=400)
            assert f"The page number ({name}) must be a whole number from 1 to 10000" in page.get_text()
        assert "only-one" in entry_links(get_page(client, f"{url}?{name}=1"))


def test_an_empty_side_has_one_page_and_says_nothing_is_there(app):
    make_theme("workforce", name="Workforce")
    page = get_page(app.test_client(), "/themes/workforce")
    assert "No published entry tags this theme as an enabler yet." in text_of(side(page, "enabler"))
    assert not page.select("nav.nhsuk-pagination")
    get_page(app.test_client(), "/themes/workforce?enablers_page=2", status=404)


def own_titles(page) -> list[str]:  # noqa: ANN001
    """The titles in a site page's list of its own entries."""
    return titles(page.find("h2", id="entries").find_next("ul"))


def test_a_site_page_pages_its_own_entries_and_the_entries_that_involve_it_apart(app, world):
    client = app.test_client()
    page = get_page(client, "/sites/pageshire")
    text = main_text(page)
    assert f"Entries from Pageshire ({ENABLERS + BARRIERS})" in text
    assert "Showing 1 to 20 of 47, newest first." in text
    assert f"Other entries that involve Pageshire ({INVOLVED})" in text
    assert "Draft" not in text and "Members only" not in text

    collected, url = [], "/sites/pageshire"
    while url:
        page = get_page(client, url)
        collected.append(own_titles(page))
        nav = page.find("nav", attrs={"aria-label": "Pages of entries from Pageshire"})
        following = nav.select_one("a.nhsuk-pagination__link--next")
        url = following["href"] if following else None
    assert [len(p) for p in collected] == [20, 20, 7]
    flat = [t for p in collected for t in p]
    assert sorted(flat) == sorted([f"Enabler {i:02d}" for i in range(ENABLERS)] + [f"Barrier {i:02d}" for i in range(BARRIERS)])
    assert flat[:3] == ["Enabler 24", "Enabler 23", "Enabler 22"]

    last = get_page(client, "/sites/pageshire?page=3&involved_page=2")
    assert "Showing 41 to 47 of 47, newest first." in main_text(last)
    assert "Showing 21 to 21 of 21, newest first." in main_text(last)
    involved_nav = last.find("nav", attrs={"aria-label": "Pages of other entries that involve Pageshire"})
    previous = involved_nav.select_one("a.nhsuk-pagination__link--prev")["href"]
    assert params(previous) == {"page": ["3"]} and previous.endswith("#involved")
