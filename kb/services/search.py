"""Searching entries as a given reader: the search page's one use case, and related entries.

Visibility is decided here and inside the backend, never in a view: the reader's labels go
into every request, so entries they may not read cannot be hits, counts, snippets,
suggestions or related entries. Hits are then loaded from the database and checked once more,
so an index that lags behind an unpublish can never show the entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kb import search as search_backend
from kb.extensions import db
from kb.models import Entry, EntryType, Site, Theme
from kb.search.backend import Hit, IndexUnavailable, SearchRequest
from kb.search.documents import ANYONE, MEMBERS
from kb.services import browse
from kb.services.entries import ENTRY_LOAD_OPTIONS
from kb.services.errors import BadRequest, NotFound
from kb.services.filters import Filters
from kb.services.permissions import can_view_entry, is_member

SIMILAR_SPARE = 5  # related entries asked for beyond those shown, in case some may not be shown

FACET_LABELS = {
    "type": "Type",
    "site": "Site",
    "theme": "Theme",
    "polarity": "Enabler or barrier",
    "year": "Year published",
    "strength": "Strength of evidence",
}


@dataclass(frozen=True)
class Result:
    """One entry on the results page, with its matches marked."""

    entry: Entry
    title: Markup
    summary: Markup
    snippet: Markup | None


@dataclass(frozen=True)
class FacetOption:
    """One value of a facet: its label, how many results choosing it gives, and whether it is chosen."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    """One facet (type, site, …) and its options, most useful first."""

    name: str
    label: str
    options: list[FacetOption]


@dataclass
class SearchPage:
    """Everything the search page shows."""

    filters: Filters
    results: list[Result]
    total: int
    page: int
    pages: int
    facets: list[Facet] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    suggestion: str | None = None
    partial: bool = False
    unavailable: str | None = None
    site: Site | None = None
    theme: Theme | None = None

    @property
    def sort(self) -> str:
        """The sort in force."""
        return self.filters.effective_sort


def readers_of(user: Any) -> tuple[str, ...]:
    """The index labels ``user`` holds (see :mod:`kb.search.documents`)."""
    return (MEMBERS,) if is_member(user) else (ANYONE,)


def search(filters: Filters, user: Any, page_size: int = 20) -> SearchPage:
    """The page of entries ``user`` may read that match ``filters``, with facets and highlights.

    If the index cannot be read, the page falls back to simple browsing in the database and
    says so, rather than failing.

    :raise BadRequest: if the site or theme named in the filters does not exist.
    :raise NotFound: if the page is past the last page of results.
    """
    site, theme = _named(Site, filters.site, "site"), _named(Theme, filters.theme, "theme")
    request = SearchRequest(
        text=filters.q,
        readers=readers_of(user),
        filters={name: value for name in ("type", "site", "theme", "polarity", "year", "strength")
                 if (value := getattr(filters, name))},
        sort=filters.effective_sort,
        offset=(filters.page - 1) * page_size,
        limit=page_size,
        time_budget=current_app.config["KB_SEARCH_SECONDS"],
    )
    try:
        hits = search_backend.backend().search(request)
    except IndexUnavailable as error:
        return _fallback(filters, user, page_size, error.message)
    pages = max(1, math.ceil(hits.total / page_size))
    if filters.page > pages:
        raise NotFound(f"There is no page {filters.page} of these results: they end at page {pages}.")
    return SearchPage(
        filters=filters,
        results=_results(hits.hits, user),
        total=hits.total,
        page=filters.page,
        pages=pages,
        facets=_facets(hits.facets, filters),
        notices=hits.notices,
        suggestion=hits.suggestion,
        partial=hits.partial,
        site=site,
        theme=theme,
    )


def similar_entries(entry: Entry, user: Any, limit: int = 5) -> list[Entry]:
    """Up to ``limit`` entries ``user`` may read that are most like ``entry`` (none if search is down).

    The backend works the list out once per version of ``entry`` and keeps it
    (:mod:`kb.search.similar`), so it may name entries deleted, archived or made network-only
    since: every one is loaded and checked against ``user`` here, and a few spare ones are asked
    for so that the list stays full. Entries published since the list was kept join it at
    ``entry``'s next version or the next index rebuild.
    """
    try:
        ids = search_backend.backend().related(entry.id, readers_of(user), limit + SIMILAR_SPARE)
    except IndexUnavailable:
        return []
    if not ids:
        return []
    # Only what the list shows (title, type, site) is loaded: not the tags and sites a search result needs.
    loaded = db.session.scalars(select(Entry).where(Entry.id.in_(ids)).options(joinedload(Entry.site)))
    readable = {e.id: e for e in loaded if can_view_entry(user, e)}
    return [readable[i] for i in ids if i in readable][:limit]


def _named(model, slug: str | None, what: str):
    if not slug:
        return None
    row = db.session.scalar(select(model).where(model.slug == slug))
    if row is None:
        raise BadRequest(f"There is no {what} called '{slug}'. Choose a {what} from the list.")
    return row


def _load(ids: list[int]) -> list[Entry]:
    if not ids:
        return []
    rows = {e.id: e for e in db.session.scalars(select(Entry).where(Entry.id.in_(ids)).options(*ENTRY_LOAD_OPTIONS))}
    return [rows[i] for i in ids if i in rows]


def _results(hits: list[Hit], user: Any) -> list[Result]:
    entries = {e.id: e for e in _load([h.id for h in hits])}
    return [
        Result(entries[h.id], h.title, h.summary, h.snippet)
        for h in hits
        if h.id in entries and can_view_entry(user, entries[h.id])
    ]


def _facets(counts: dict[str, dict[str, int]], filters: Filters) -> list[Facet]:
    sites = dict(db.session.execute(select(Site.slug, Site.name)).all())
    themes = dict(db.session.execute(select(Theme.slug, Theme.name)).all())
    labels = {
        "type": {t.value: t.label for t in EntryType},
        "site": sites,
        "theme": themes,
        "polarity": {"enabler": "Enabler", "barrier": "Barrier"},
        "strength": {str(n): f"At least {n} out of 5" for n in range(1, 6)},
    }
    facets = []
    for name, label in FACET_LABELS.items():
        chosen = getattr(filters, name)
        chosen = str(chosen) if chosen is not None else None
        values = dict(counts.get(name, {}))
        if chosen and chosen not in values:
            values[chosen] = 0
        options = [
            FacetOption(value, labels.get(name, {}).get(value, value), count, value == chosen)
            for value, count in values.items()
            if name not in ("site", "theme") or value in labels[name]
        ]
        if name in ("site", "theme"):
            options.sort(key=lambda o: (-o.count, o.label))
        elif name == "year":
            options.sort(key=lambda o: o.value, reverse=True)
        else:
            options.sort(key=lambda o: o.value)
        facets.append(Facet(name, label, options))
    return facets


def _fallback(filters: Filters, user: Any, page_size: int, problem: str) -> SearchPage:
    result = browse.browse(filters, user, page_size=page_size)
    return SearchPage(
        filters=filters,
        results=[Result(e, Markup.escape(e.title), Markup.escape(e.summary), None) for e in result.entries],
        total=result.total,
        page=result.page,
        pages=result.pages,
        unavailable=problem,
        site=result.site,
        theme=result.theme,
    )

