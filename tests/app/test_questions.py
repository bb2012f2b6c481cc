"""Questions as staff type them (tests/data/questions.yml), through the real search on the real
content: each finds the entries that answer it on the first page, offers the best bet it asks
for, never highlights question words, and counts only what the reader may read."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import feedparser
import pytest
import yaml

from tests.factories import make_user
from tests.pages import get_page, text_of

ROOT = Path(__file__).parents[2]
QUESTIONS = yaml.safe_load((ROOT / "tests" / "data" / "questions.yml").read_text(encoding="utf-8"))
# Words of a question that say nothing about its subject, never to be marked in results.
QUESTION_WORDS = {"what", "how", "did", "which", "why", "where", "other", "areas", "places", "helped", "works",
                  "problems", "barriers", "get", "got", "past", "way", "reduce", "strong"}


def _page(client, q: str, **params):
    return get_page(client, "/search?" + urlencode({"q": q, **params}))


def _slugs(page) -> list[str]:
    results = page.find(id="results")
    return [a["href"].rsplit("/", 1)[1] for a in results.select("a.nhsuk-card__link")] if results else []


def _count(page) -> int:
    return int(text_of(page.find(id="result-count")).split()[0])


def _bet_links(page) -> list[str]:
    box = page.find(id="best-bet")
    return [a["href"] for a in box.select("a")] if box else []


def _params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _front_matter(slug: str) -> dict:
    text = (ROOT / "content" / "entries" / f"{slug}.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def test_the_question_set_has_at_least_thirty_questions_naming_real_public_entries():
    assert len(QUESTIONS) >= 30 and len({q["q"] for q in QUESTIONS}) == len(QUESTIONS)
    for question in QUESTIONS:
        assert question["expect"], question["q"]
        for slug in {*question["expect"], *question.get("first", ())}:
            meta = _front_matter(slug)
            assert meta["visibility"] == "public" and meta["status"] == "published", slug


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["q"] for q in QUESTIONS])
def test_each_question_finds_its_entries_first_offers_its_best_bet_and_marks_no_question_word(content_client, question):
    page = _page(content_client, question["q"])
    found = _slugs(page)
    missing = [slug for slug in question["expect"] if slug not in found]
    assert not missing, f"{question['q']!r} missed {missing}; first page: {found}"
    if "first" in question:
        assert found[0] in question["first"], f"{question['q']!r} is led by {found[0]}"

    typed = {w.lower() for w in re.findall(r"\w+", question["q"])}
    marked = {m.get_text().lower() for m in page.select("#results mark")}
    assert not marked & QUESTION_WORDS & typed

    links = _bet_links(page)
    wanted = question.get("best_bet")
    assert bool(links) == bool(wanted), f"{question['q']!r}: best bet links {links}"
    if wanted and "theme" in wanted:
        assert any(urlsplit(link).path == f"/themes/{wanted['theme']}" for link in links)
    if wanted and ("polarity" in wanted or "type" in wanted):
        searches = [_params(link) for link in links if urlsplit(link).path == "/search"]
        assert any(all(params.get(name) == value for name, value in wanted.items()) for params in searches), searches

    if "did_you_mean" in question:
        assert text_of(page.find(id="did-you-mean").find("a")) == question["did_you_mean"]


def test_a_best_bet_link_finds_exactly_the_count_it_gives(content_client):
    page = _page(content_client, "data sharing barriers")
    link = next(a for a in page.select("#best-bet a") if urlsplit(a["href"]).path == "/search")
    assert _params(link["href"]) == {"theme": "data-sharing", "polarity": "barrier"}
    said = int(text_of(link).split()[0])
    linked = get_page(content_client, link["href"])
    assert said == _count(linked) == 11
    assert set(_slugs(linked)) == set(next(q for q in QUESTIONS if q["q"] == "data sharing barriers")["expect"])


def test_entries_tagged_with_the_theme_and_polarity_asked_for_rank_first(content_client):
    expected = set(next(q for q in QUESTIONS if q["q"] == "data sharing barriers")["expect"])
    found = _slugs(_page(content_client, "data sharing barriers"))
    assert set(found[:len(expected)]) == expected and len(found) > len(expected)


def test_the_theme_page_best_bet_opens_at_the_side_asked_about(content_client):
    links = _bet_links(_page(content_client, "how did areas get past information governance problems"))
    assert "/themes/information-governance#barrier-heading" in links
    theme = get_page(content_client, "/themes/information-governance")
    assert theme.find(id="barrier-heading") is not None


def test_a_best_bet_never_counts_entries_the_reader_may_not_read(content_app, content_client):
    # network-bcf-admissions-target-briefing (network only) is tagged Better Care Fund: barrier.
    def said(client) -> int:
        link = next(a for a in _page(client, "better care fund barriers").select("#best-bet a")
                    if _params(a["href"]).get("polarity") == "barrier")
        return int(text_of(link).split()[0])

    member = content_app.test_client(user=make_user())
    assert said(content_client) == 7 and said(member) == 8


def test_question_words_are_left_out_with_a_notice_and_a_quoted_one_is_searched(content_client):
    page = _page(content_client, "what helped other areas with information governance and data sharing")
    notice = text_of(page.find(id="search-notices"))
    assert "“what”, “helped”, “other” and “areas”" in notice and "To include a word, put it in quotes." in notice
    quoted = _page(content_client, '"areas" information governance')
    assert "areas" in {m.get_text().lower() for m in quoted.select("#results mark")}
    assert _count(quoted) < _count(_page(content_client, "information governance"))


def test_a_question_made_only_of_question_words_searches_them_as_typed(content_client):
    page = _page(content_client, "what how")
    assert _count(page) > 0 and page.find(id="best-bet") is None
    assert {m.get_text().lower() for m in page.select("#results mark")} <= {"what", "how"}
    assert page.find(id="search-notices") is None


def test_a_search_with_operators_is_taken_exactly_as_typed(content_client):
    page = _page(content_client, "what AND governance")
    assert page.find(id="best-bet") is None
    assert "what" in {m.get_text().lower() for m in page.select("#results mark")}


def test_a_misspelling_inside_a_longer_search_is_corrected_keeping_the_other_words(content_client):
    page = _page(content_client, "infomation governance")
    suggestion = page.find(id="did-you-mean")
    assert suggestion is not None and text_of(suggestion.find("a")) == "information governance"
    corrected = get_page(content_client, suggestion.find("a")["href"])
    assert _count(corrected) > 0 and "north-west-london-wsic-information-sharing-agreement" in _slugs(corrected)
    assert corrected.find(id="did-you-mean") is None


def test_words_in_the_index_are_never_respelled(content_client):
    # "governance" and "sharing" are both indexed: nothing to suggest, whatever the count.
    assert _page(content_client, "governance sharing").find(id="did-you-mean") is None
    assert _page(content_client, "housing reablement").find(id="did-you-mean") is None


def test_a_search_feed_for_a_question_has_the_entries_its_search_page_has(content_client):
    # Feeds (and saved searches, which are their filters) go through the same search: a question
    # means the same entries in both, newest first.
    q = "what helped other areas with information governance and data sharing"
    page = _page(content_client, q, sort="newest")
    response = content_client.get("/feeds/search.atom?" + urlencode({"q": q}))
    assert response.status_code == 200
    feed = feedparser.parse(response.get_data())
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == _slugs(page) and len(feed.entries) == _count(page)
