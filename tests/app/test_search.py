"""/search on the real content: words, operators, typed filters, facets, highlights, sorting,
"Did you mean", synonyms, related entries and notices — and that nothing a reader may not
read ever shapes what they see."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import yaml
from sqlalchemy import select

from kb.extensions import db
from kb.markdown import to_plain_text
from kb.models import Entry, Site, Theme
from tests.factories import make_entry, make_site, make_theme, make_user
from tests.pages import get_page, main_text, text_of

GLOSSARY = Path(__file__).parents[2] / "content" / "glossary.yml"
HIDDEN_STATES = {"network": {"visibility": "network"}, "draft": {"status": "draft", "published": None}, "review": {"status": "in_review"}}


def _get(client, url: str, status: int = 200):
    return get_page(client, url, status)


def _url(q: str = "", **params) -> str:
    return "/search?" + urlencode({"q": q, **params} if q else params)


def _public() -> list[Entry]:
    return db.session.scalars(select(Entry).where(Entry.visibility == "public", Entry.status == "published")).all()


def _hits(page) -> list[str]:
    results = page.find(id="results")
    return [a["href"].rsplit("/", 1)[1] for a in results.select("a.nhsuk-card__link")] if results else []


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _count(page) -> int:
    return int(text_of(page.find(id="result-count")).split()[0])


def _all(client, url: str) -> list[str]:
    """Every result slug, following the "Next" links."""
    slugs = []
    while url:
        page = _get(client, url)
        slugs += _hits(page)
        nxt = page.find("a", class_="nhsuk-pagination__link--next")
        url = nxt["href"] if nxt else None
    assert len(slugs) == len(set(slugs))
    return slugs


def _search(client, q: str, **params) -> set[str]:
    return set(_all(client, _url(q, **params)))


def _searchable(entry: Entry) -> str:
    """Everything search should look in: text, site names, theme names and notes, outcome measures."""
    parts = [entry.title, entry.summary, to_plain_text(entry.body)]
    parts += [s.name for s in [entry.site, *entry.other_sites] if s]
    parts += [p for tag in entry.theme_tags for p in (tag.theme.name, tag.note)]
    return " ".join(parts + [o.measure_label for o in entry.outcomes])


def _facet(page, name: str) -> dict[str, tuple[int, str | None]]:
    """``{value: (count, link)}`` for one facet; the chosen value is ``<chosen>``, without a link."""
    options = {}
    for li in page.find(id=f"facet-{name}").find_all("li"):
        count, chosen, link = int(re.search(r"\((\d+)", text_of(li)).group(1)), li.find("strong"), li.find("a")["href"]
        options["<chosen>" if chosen else _query(link)[name][0]] = (count, None if chosen else link)
    return options


def _counts(page, name: str) -> dict[str, int]:
    return {value: count for value, (count, _) in _facet(page, name).items()}


def _facet_values(entry: Entry) -> dict[str, set[str]]:
    return {
        "type": {entry.type.value},
        "site": {s.slug for s in [entry.site, *entry.other_sites] if s},
        "theme": {t.theme.slug for t in entry.theme_tags},
        "polarity": {t.polarity.value for t in entry.theme_tags},
        "year": {str(entry.published_on.year)},
        "strength": {str(n) for n in range(1, (entry.evidence_strength or 0) + 1)},
    }


def _expected_counts(entries: list[Entry], name: str) -> dict[str, int]:
    return dict(Counter(v for e in entries for v in _facet_values(e)[name]))


# --- words, phrases, operators, prefixes, ranking ------------------------------------------
def test_every_word_must_match_by_default(content_client):
    pooled, admissions, both = (_search(content_client, q) for q in ("pooled", "admissions", "pooled admissions"))
    assert both == pooled & admissions and both and both != pooled | admissions


def test_site_and_theme_names_find_their_entries(content_client):
    public = [(e.slug, _facet_values(e)) for e in _public()]
    for facet, model in (("site", Site), ("theme", Theme)):
        for row in db.session.scalars(select(model)):
            own = {slug for slug, values in public if row.slug in values[facet]}
            assert own <= _search(content_client, row.name), row.name


def test_words_found_only_in_a_site_theme_note_or_outcome_measure_find_the_entry(content_client):
    evidence = {"design": "qualitative", "strength": 1, "provenance": "peer_reviewed", "outcomes": [
        {"measure": "flumptious index", "direction": "increase", "value": "up", "population": "staff"}]}
    make_entry("about-words", type="evidence", site=make_site("quarnshire"), theme=make_theme("wibbleness"), evidence=evidence,
               themes=[{"theme": "wibbleness", "polarity": "barrier", "note": "Paymasters grumbled."}], body="Plain text.")
    for words in ("Quarnshire", "Wibbleness", "grumbled", "flumptious index", "paymaster"):
        assert "about-words" in _search(content_client, words), words


@pytest.mark.parametrize("typed, other", [("budgets", "budget"), ("integrating", "integration"), ("evaluated", "evaluation")])
def test_a_word_finds_entries_with_other_forms_of_it(content_client, typed, other):
    assert _search(content_client, typed) == _search(content_client, other) != set()


def test_a_phrase_matches_only_the_exact_sequence(content_client):
    words, phrase = _search(content_client, "pooled budget"), _search(content_client, '"pooled budget"')
    by_slug = {e.slug: e for e in _public()}
    assert phrase and phrase < words
    for slug in words:
        assert (slug in phrase) == bool(re.search(r"\bpooled\W+budget", _searchable(by_slug[slug]), re.I)), slug


def test_or_and_not_combine_result_sets(content_client):
    care, budget = _search(content_client, "care"), _search(content_client, "budget")
    assert _search(content_client, "care OR budget") == care | budget
    assert _search(content_client, "care AND budget") == care & budget
    assert _search(content_client, "care NOT budget") == care - budget != care


def test_a_prefix_finds_every_word_starting_with_it(content_client):
    found = _search(content_client, "integrat*")
    assert found >= _search(content_client, "integration") | _search(content_client, "integrated")
    by_slug = {e.slug: e for e in _public()}
    assert all(re.search(r"\bintegrat", _searchable(by_slug[s]), re.I) for s in found)


@pytest.mark.parametrize("word", ["telehealth", "navigator", "alliance", "budget", "researcher"])
def test_entries_with_the_word_in_their_title_rank_first(content_client, word):
    titles = {e.slug: e.title for e in _public()}
    in_title = [word in titles[slug].lower() for slug in _all(content_client, _url(word))]
    assert any(in_title) and in_title == sorted(in_title, reverse=True)


# --- typed filters --------------------------------------------------------------------------
@pytest.mark.parametrize("q, expected", [
    ("site:sheffield budget", {"q": ["budget"], "site": ["sheffield"]}),
    ("strength:>=3", {"strength": ["3"]}),
    ("strength:3", {"strength": ["3"]}),
    ("care type:evidence YEAR:2015 theme:Pooled-Budgets", {"q": ["care"], "type": ["evidence"], "year": ["2015"], "theme": ["pooled-budgets"]}),
])
def test_typed_filters_redirect_to_their_own_parameters(content_client, q, expected):
    location = content_client.get(_url(q)).headers["Location"]
    assert urlsplit(location).path == "/search" and _query(location) == expected


@pytest.mark.parametrize("q, message", [
    ("strength:>=9", "The strength of evidence must be a whole number from 1 to 5"),
    ("strength:abc", "“strength:abc” is not a strength of evidence. Use strength:3 or strength:>=3"),
    ("type:blog", "'blog' is not a type of entry this site knows"),
    ("year:abcd", "The year must be a whole number from 1990 to 2100, not 'abcd'"),
    ("care site:", "Add a value after “site:”, for example site:sheffield"),
    ("site:atlantis", "There is no site called 'atlantis'"),
])
def test_malformed_typed_filters_get_a_400_that_says_why(content_client, q, message):
    response = content_client.get(_url(q))
    url = response.headers["Location"] if response.status_code == 302 else _url(q)  # slugs are checked in the database
    assert message in main_text(_get(content_client, url, 400))


# --- facets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["type", "site", "theme", "polarity", "year", "strength"])
def test_facet_counts_are_those_of_the_public_entries(content_client, name):
    assert _counts(_get(content_client, "/search"), name) == _expected_counts(_public(), name)


def test_following_a_facet_option_gives_exactly_its_count(content_client):
    page = _get(content_client, _url("care", year="2015"))
    for name in ("type", "site", "theme", "polarity", "year", "strength"):
        for value, (count, link) in _facet(page, name).items():
            if link:
                assert _count(_get(content_client, link)) == count, (name, value)


def test_facet_counts_keep_the_other_active_filters_but_not_their_own(content_client):
    evidence = [e for e in _public() if e.type.value == "evidence"]
    page = _get(content_client, "/search?type=evidence")
    assert _counts(page, "site") == _expected_counts(evidence, "site") and _counts(page, "strength") == _expected_counts(evidence, "strength")
    barrier = [e for e in _public() if "barrier" in _facet_values(e)["polarity"]]
    facet, expected = _counts(_get(content_client, "/search?type=evidence&polarity=barrier"), "type"), _expected_counts(barrier, "type")
    assert facet.pop("<chosen>") == expected.pop("evidence") and facet == expected and len(facet) >= 2


def test_each_active_filter_has_a_remove_link_that_keeps_the_others(content_client):
    params = {"type": "evidence", "year": "2015", "polarity": "barrier"}
    page = _get(content_client, _url("care", **params))
    links = {text_of(li).split(" –")[0]: li.find("a")["href"] for li in page.find(id="active-filters").find_all("li")}
    assert set(links) == {"Words: “care”", "Type: Evaluation evidence", "Year published: 2015", "Enabler or barrier: Barrier"}
    for label, link in links.items():
        kept = {k: v[0] for k, v in _query(link).items()}
        assert len(kept) == 3 and kept.items() <= {"q": "care", **params}.items(), label
    clear = page.find("a", string="Clear all filters")["href"]
    assert clear == "/search" and "active-filters" not in str(_get(content_client, clear))


# --- highlighting and escaping ------------------------------------------------------------------
def _tags_in(node) -> set[str]:
    return {tag.name for tag in node.find_all(True)}


def test_matches_are_marked_in_titles_summaries_and_snippets(content_client):
    page = _get(content_client, _url("telehealth"))
    cards = page.find(id="results").find_all("li")
    assert cards[0].find("a", class_="nhsuk-card__link").find("mark") and any(c.select(".nhsuk-card__description mark") for c in cards)
    marks = [m.get_text().lower() for m in page.find(id="results").find_all("mark")]
    assert marks and set(marks) == {"telehealth"}
    assert (snippets := page.select(".kb-snippet")) and all(s.find("mark") and _tags_in(s) == {"mark"} for s in snippets)


def test_the_readers_words_and_the_entry_text_are_escaped_and_mark_is_the_only_markup(content_client):
    html = content_client.get(_url("<script>alert(1)</script> x\"><img src=x onerror=alert(2)>")).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "&lt;script&gt;alert" in html
    make_entry(title="Fish & <b>chips</b> quizzlewick", summary="A <em>short</em> quizzlewick summary.",
               body="Before <script>alert(3)</script> the quizzlewick & <i>more</i> text.")
    html = content_client.get(_url("quizzlewick")).get_data(as_text=True)
    assert "Fish &amp; &lt;b&gt;chips&lt;/b&gt; <mark>quizzlewick</mark>" in html
    assert "A &lt;em&gt;short&lt;/em&gt; <mark>quizzlewick</mark> summary." in html
    assert "alert(3)" not in html
    page = _get(content_client, _url("A&E"))
    assert "<mark>A&amp;E</mark>" in str(page.find(id="results"))
    assert all(_tags_in(s) <= {"mark"} for s in page.select(".kb-snippet"))


# --- sorting and pages ----------------------------------------------------------------------------
def test_best_match_is_the_default_with_words_and_newest_without(content_client):
    selected = {url: _get(content_client, url).find("select", id="sort").find("option", selected=True) for url in (_url("care"), "/search")}
    assert selected[_url("care")]["value"] == "relevance" and selected["/search"]["value"] == "newest"
    assert not _get(content_client, "/search").find("option", value="relevance")
    assert _all(content_client, "/search") == _all(content_client, "/search?sort=newest")


@pytest.mark.parametrize("sort, key", [
    ("title", lambda e: (e.title.casefold(), -e.published_on.toordinal())),
    ("newest", lambda e: (-e.published_on.toordinal(), e.title.casefold())),
    ("oldest", lambda e: (e.published_on.toordinal(), e.title.casefold())),
])
def test_sort_orders(content_client, sort, key):
    assert _all(content_client, f"/search?sort={sort}") == [e.slug for e in sorted(_public(), key=key)]
    found = _search(content_client, "care")
    assert _all(content_client, _url("care", sort=sort)) == [e.slug for e in sorted(_public(), key=key) if e.slug in found]


def test_pages_hold_twenty_entries_and_link_both_ways(content_client):
    first = _get(content_client, "/search")
    assert len(_hits(first)) == 20 and not first.find("a", class_="nhsuk-pagination__link--prev")
    second = _get(content_client, first.find("a", class_="nhsuk-pagination__link--next")["href"])
    assert len(_hits(second)) == 20 and not set(_hits(first)) & set(_hits(second))
    assert _hits(_get(content_client, second.find("a", class_="nhsuk-pagination__link--prev")["href"])) == _hits(first)


def test_impossible_pages_are_refused_and_an_empty_first_page_is_not(content_client):
    assert "The page number must be a whole number" in main_text(_get(content_client, "/search?page=abc", 400))
    assert "There is no page 50 of these results" in main_text(_get(content_client, "/search?page=50", 404))
    assert "There is no page 2 of these results" in main_text(_get(content_client, _url("zzqqxx", page="2"), 404))
    assert "No entries match" in main_text(_get(content_client, _url("zzqqxx")))


# --- "Did you mean" ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed, meant", [("teleheatlh", "telehealth"), ("integraton", "integration")])
def test_a_misspelt_word_suggests_a_correction_that_finds_entries(content_client, typed, meant):
    link = _get(content_client, _url(typed)).find(id="did-you-mean").find("a")
    assert link.get_text() == meant and _query(link["href"]) == {"q": [meant]}
    assert _count(_get(content_client, link["href"])) > 0


@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_words_of_entries_the_reader_cannot_read_are_never_suggested(content_app, content_client, state):
    make_entry(f"hidden-{state}", title="Zorbulance in practice", body="The zorbulance team met.", **HIDDEN_STATES[state])
    for q in ("zorbulance", "zorbulanse"):
        page = _get(content_client, _url(q))
        assert not page.find(id="did-you-mean") and _count(page) == 0 and "Zorbulance in practice" not in main_text(page)
    member = _get(content_app.test_client(user=make_user()), _url("zorbulanse"))
    assert bool(member.find(id="did-you-mean")) == (state == "network")


# --- synonyms and the glossary -----------------------------------------------------------------
@pytest.mark.parametrize("short, long", [
    ("IG", "information governance"), ("DToC", "delayed transfers of care"),
    ("VCSE", "voluntary community and social enterprise sector"), ("DHSC", "Department of Health and Social Care"),
])
def test_an_acronym_and_its_expansion_find_the_same_entries(content_client, short, long):
    make_entry("uses-short", body=f"The {short} lead signed it off.")
    make_entry("uses-long", body=f"Worries about {long} slowed everything.")
    assert _search(content_client, short) == _search(content_client, long) >= {"uses-short", "uses-long"}


def test_a_and_e_is_one_word(content_client):
    found = _search(content_client, "A&E")
    forms = re.compile(r"A&E|accident and emergency|\bED\b|emergency department", re.I)
    assert found == {e.slug for e in _public() if forms.search(_searchable(e))} != set()


def test_the_glossary_lists_every_term_with_a_search_link(content_client):
    page = _get(content_client, "/glossary")
    rows = {text_of(row.find("dt")): row.find("dd") for row in page.select(".kb-glossary .nhsuk-summary-list__row")}
    items = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))
    assert set(rows) == {item["term"] for item in items}
    for item in items:
        text = text_of(rows[item["term"]])
        assert item["expansion"] in text and " ".join(item["definition"].split()) in text
        link = rows[item["term"]].find("a")
        assert text_of(link).startswith(f"Search for {item['term']}") and _query(link["href"]) == {"q": [item["term"]]}


# --- visibility -------------------------------------------------------------------------------------
def test_anonymous_readers_never_meet_hidden_entries_in_results_counts_or_snippets(content_app, content_client):
    for state, fields in HIDDEN_STATES.items():
        make_entry(f"hidden-{state}", type="evidence", title=f"Telehealth {state} secret", body="Telehealth xylophant.", **fields)
    for url in ["/search", _url("telehealth"), _url("telehealth OR xylophant"), "/search?type=evidence", "/search?year=2015"]:
        page = _get(content_client, url)
        assert not any(s.startswith("hidden-") for s in _hits(page)) and "secret" not in main_text(page).lower(), url
    assert not _search(content_client, "xylophant")
    public, browse = _public(), _get(content_client, "/search")
    assert _count(browse) == len(public)
    for name in ("type", "site", "theme", "polarity", "year", "strength"):
        assert _counts(browse, name) == _expected_counts(public, name), name


def test_members_find_network_entries_but_never_drafts(content_app):
    for state, fields in HIDDEN_STATES.items():
        make_entry(f"hidden-{state}", title=f"Xylophant {state}", **fields)
    member = content_app.test_client(user=make_user())
    assert _search(member, "xylophant") == {"hidden-network"}
    readable = db.session.scalars(select(Entry).where(Entry.status == "published")).all()
    assert set(_all(member, "/search")) == {e.slug for e in readable}
    assert _counts(_get(member, "/search"), "type") == _expected_counts(readable, "type")
    for entry in (e for e in readable if e.visibility.value == "network" and not e.slug.startswith("hidden-")):
        assert entry.slug in _search(member, entry.title)


def test_real_network_entries_are_not_found_anonymously(content_client):
    network = db.session.scalars(select(Entry).where(Entry.visibility == "network")).all()
    assert len(network) == 3 and not any(e.slug in _search(content_client, e.title) for e in network)


# --- related entries --------------------------------------------------------------------------------
def _related(page) -> list[str]:
    return [a["href"].rsplit("/", 1)[1] for a in page.find(id="similar-entries").find_all("a")]


def test_every_public_entry_lists_related_public_entries(content_client):
    public = {e.slug for e in _public()}
    for slug in sorted(public):
        related = _related(_get(content_client, f"/entries/{slug}"))
        assert related and slug not in related and set(related) <= public, slug


def test_a_network_near_copy_is_related_for_members_only(content_app, content_client):
    original = db.session.scalar(select(Entry).where(Entry.slug == "sheffield-pooled-budget"))
    make_entry("near-copy", title=original.title, summary=original.summary, body=original.body, visibility="network")
    make_entry("draft-copy", title=original.title, summary=original.summary, body=original.body, status="draft", published=None)
    assert not {"near-copy", "draft-copy"} & set(_related(_get(content_client, "/entries/sheffield-pooled-budget")))
    member = _related(_get(content_app.test_client(user=make_user()), "/entries/sheffield-pooled-budget"))
    assert "near-copy" in member and "draft-copy" not in member


# --- notices ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q, notice, same_as", [
    ("*care", "A * only works at the end of a word", "care"),
    ("foo:bar care", "“foo:” is not something you can search by", "foo bar care"),
    ("(care", "Your brackets did not pair up", "care"),
    ("care)) OR (budget", "Your brackets did not pair up", "care OR budget"),
    ('"care', "quote", "care"),
    ("care AND", "AND, OR and NOT need words on both sides", "care"),
])
def test_broken_searches_give_results_and_a_notice(content_client, q, notice, same_as):
    page = _get(content_client, _url(q))
    assert page.find(id="search-notices") and notice in text_of(page.find(id="search-notices"))
    assert _count(page) == _count(_get(content_client, _url(same_as)))


def test_only_common_words_say_so_and_find_nothing(content_client):
    page = _get(content_client, _url("the and"))
    assert "only has very common words" in text_of(page.find(id="search-notices"))
    assert _count(page) == 0 and "No entries match" in main_text(page)


def test_a_search_longer_than_500_characters_is_refused(content_client):
    assert "Your search is too long. Use at most 500 characters." in main_text(_get(content_client, _url("care " * 101), 400))
    assert _get(content_client, _url("c" * 500)).find(id="result-count")
