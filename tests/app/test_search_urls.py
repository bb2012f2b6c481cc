"""The search page's links to itself (facets, "remove", pages, "Did you mean") are built by
:func:`kb.views.templating.search_url` without a full ``url_for`` per link; they must still be
exactly the links ``url_for`` gives, hostile queries included, under an application root too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import url_for

from kb.services.filters import Filters
from kb.views.templating import entry_url, facet_url, search_url

QUERIES: list[str] = json.loads((Path(__file__).parents[1] / "data" / "hostile_queries.json").read_text(encoding="utf-8"))
CHANGES = [{}, {"q": ""}, {"page": 3}, {"site": None}, {"theme": "data-sharing"}, {"strength": 4},
           {"q": "joint teams & <b>"}, {"sort": "oldest"}]


def _filters(q: str) -> Filters:
    return Filters(q=q, site="sheffield", polarity="barrier", year=2015, sort="title", page=2)


@pytest.mark.parametrize("root", ["", "/kb"])
def test_search_links_are_exactly_url_fors(app, root):
    mismatches = []
    with app.test_request_context("/search", base_url=f"http://localhost{root}"):
        for q in QUERIES:
            for changes in CHANGES:
                filters = _filters(q)
                expected = url_for("search.index", **filters.to_args(**changes))
                built = search_url(filters, **changes)
                if built != expected:
                    mismatches.append((q, changes, built, expected))
        assert search_url(Filters()) == url_for("search.index") == f"{root}/search"
    assert not mismatches, mismatches[:5]
    assert len(QUERIES) > 100  # the hostile set is really there


def test_links_on_a_search_page_keep_the_query(client):
    """Also: a new knowledge base with no entries yet has an index with no segment; searching it
    is a search with no results, not a broken index answered from the database."""
    html = client.get("/search?q=%22joint+team%22+%26+care&polarity=enabler").get_data(as_text=True)
    assert 'id="search-unavailable"' not in html
    assert '<p id="result-count" role="status">0 entries' in html
    assert 'href="/search?q=%22joint+team%22+%26+care&amp;polarity=enabler&amp;sort=newest"' not in html  # sanity: no invented sort
    assert 'href="/search?q=%22joint+team%22+%26+care"' in html  # the polarity filter's "remove" link


@pytest.mark.parametrize("root", ["", "/kb"])
def test_entry_links_are_exactly_url_fors(app, root):
    slugs = ["sheffield-pooled-budget", "a", "x-1-2", "Capital", "with space", "ümlaut", "a/b", "-x", "%41"]
    with app.test_request_context("/search", base_url=f"http://localhost{root}"):
        for slug in slugs * 2:  # the second time from the prefix kept for the request
            assert entry_url(slug) == url_for("entries.show", slug=slug), slug
        assert entry_url("a") == f"{root}/entries/a"


@pytest.mark.parametrize("root", ["", "/kb"])
def test_facet_links_are_exactly_search_urls(app, root):
    """facet_url puts each facet's other parameters together once per page: every option's link
    must still be the one search_url (and so url_for) gives, in the same parameter order."""
    options = {"type": ["evidence", "case_study"], "site": ["sheffield", "cornwall"], "theme": ["data-sharing"],
               "polarity": ["enabler", "barrier"], "year": ["2015", 2016], "strength": ["3", 5]}
    mismatches, checked = [], 0
    with app.test_request_context("/search", base_url=f"http://localhost{root}"):
        for q in QUERIES + [""]:
            for filters in (_filters(q), Filters(q=q), Filters(q=q, type="evidence", strength=2, page=4)):
                for name, values in options.items():
                    for value in [*values, None] * 2:  # the second time from the parts kept for the page
                        checked += 1
                        expected = search_url(filters, **{name: value})
                        if facet_url(filters, name, value) != expected:
                            mismatches.append((q, name, value, facet_url(filters, name, value), expected))
    assert not mismatches, mismatches[:5]
    assert checked > 5000
