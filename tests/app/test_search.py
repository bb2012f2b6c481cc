"""/search browsing: each filter narrows, pagination, sorting, and clear refusals."""

from __future__ import annotations

from sqlalchemy import select

from kb.extensions import db
from kb.models import Entry, EntryType
from tests.pages import entry_links, get_page, main_text, text_of


def _public():
    return db.session.scalars(select(Entry).where(Entry.visibility == "public", Entry.status == "published")).all()


def _all_results(client, url):
    """Follow pagination and return every entry slug listed."""
    slugs, page_number = [], 1
    while True:
        page = get_page(client, f"{url}{'&' if '?' in url else '?'}page={page_number}")
        slugs += entry_links(page)
        if not page.find("a", class_="nhsuk-pagination__link--next"):
            return slugs
        page_number += 1


def test_empty_query_browses_every_public_entry_newest_first_20_per_page(content_client):
    page = get_page(content_client, "/search")
    public = sorted(_public(), key=lambda e: (-e.published_on.toordinal(), e.title))
    assert entry_links(page) == [e.slug for e in public[:20]]
    assert f"{len(public)} entries, page 1 of 3" in text_of(page.find(id="result-count"))
    assert _all_results(content_client, "/search") == [e.slug for e in public]


def test_type_filter(content_client):
    slugs = _all_results(content_client, "/search?type=intervention")
    assert sorted(slugs) == sorted(e.slug for e in _public() if e.type == EntryType.INTERVENTION)


def test_site_filter_includes_entries_that_involve_the_site(content_client):
    slugs = set(_all_results(content_client, "/search?site=greenwich"))
    expected = {e.slug for e in _public() if (e.site and e.site.slug == "greenwich") or "greenwich" in {s.slug for s in e.other_sites}}
    assert slugs == expected and len(slugs) >= 3


def test_theme_and_polarity_filters_combine_on_the_same_tag(content_client):
    slugs = set(_all_results(content_client, "/search?theme=data-sharing&polarity=barrier"))
    expected = {e.slug for e in _public() if any(t.theme.slug == "data-sharing" and t.polarity.value == "barrier" for t in e.theme_tags)}
    assert slugs == expected and slugs


def test_year_and_strength_filters(content_client):
    assert set(_all_results(content_client, "/search?year=2015")) == {e.slug for e in _public() if e.published_on.year == 2015}
    strong = set(_all_results(content_client, "/search?strength=3"))
    assert strong == {e.slug for e in _public() if (e.evidence_strength or 0) >= 3} and strong


def test_words_match_title_summary_or_body_and_all_words_must_match(content_client):
    slugs = set(_all_results(content_client, "/search?q=guided+conversation"))
    expected = {e.slug for e in _public() if all(w in f"{e.title} {e.summary} {e.body}".lower() for w in ("guided", "conversation"))}
    assert slugs == expected and "cornwall-isles-of-scilly-living-well" in slugs


def test_like_wildcards_in_the_query_are_taken_literally(content_client):
    page = get_page(content_client, "/search?q=zz_%25_zz")
    assert entry_links(page) == [] and "No entries match" in main_text(page)


def test_sorting_by_title_and_oldest(content_client):
    by_title = _all_results(content_client, "/search?sort=title")
    assert by_title == [e.slug for e in sorted(_public(), key=lambda e: e.title)]
    oldest = _all_results(content_client, "/search?sort=oldest")
    dates = {e.slug: e.published_on for e in _public()}
    assert [dates[s] for s in oldest] == sorted(dates[s] for s in oldest)


def test_active_filters_each_have_a_remove_link_that_keeps_the_others(content_client):
    page = get_page(content_client, "/search?type=evidence&site=cornwall-isles-of-scilly&polarity=enabler")
    items = page.find(id="active-filters").find_all("li")
    site = db.session.scalar(select(Entry).where(Entry.slug == "cornwall-isles-of-scilly-living-well")).site
    assert [text_of(li).split(" –")[0] for li in items] == ["Type: Evaluation evidence", f"Site: {site.name}", "Tagged as: enabler"]
    remove_site = items[1].find("a")["href"]
    assert "site=" not in remove_site and "type=evidence" in remove_site and "polarity=enabler" in remove_site


def test_filter_form_keeps_the_current_choices(content_client):
    page = get_page(content_client, "/search?type=evidence&year=2015&sort=title")
    assert page.find("select", id="filter-type").find("option", selected=True)["value"] == "evidence"
    assert page.find("select", id="filter-year").find("option", selected=True)["value"] == "2015"
    assert page.find("select", id="filter-sort").find("option", selected=True)["value"] == "title"


def test_bad_parameters_get_a_400_with_a_message(content_client):
    for url, message in [
        ("/search?page=abc", "The page number must be a whole number"),
        ("/search?type=blog", "'blog' is not a type of entry"),
        ("/search?site=atlantis", "There is no site called 'atlantis'"),
        ("/search?theme=astrology", "There is no theme called 'astrology'"),
        ("/search?year=1066", "The year must be a whole number from 1990 to 2100"),
        ("/search?q=" + "x" * 501, "Your search is too long"),
    ]:
        page = get_page(content_client, url, status=400)
        assert message in text_of(page.find(id="error-message"))


def test_a_page_past_the_end_says_so(content_client):
    page = get_page(content_client, "/search?page=50", status=404)
    assert "There is no page 50 of these results: they end at page 3." in main_text(page)


def test_user_text_is_escaped_on_the_results_page(content_client):
    response = content_client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.data
    assert b"&lt;script&gt;alert(1)" in response.data
