"""Searching entries as a given reader: the search page's one use case, and related entries.

Visibility is decided here and inside the backend, never in a view: the reader's labels go
into every request, so entries they may not read cannot be hits, counts, snippets,
suggestions or related entries. Hits are then loaded from the database and checked once more,
so an index that lags behind an unpublish can never show the entry.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

from flask import current_app
from markupsafe import Markup
from sqlalchemy import Row, Select, bindparam, select

from kb import search as search_backend
from kb.extensions import db
from kb.models import Entry, EntryStatus, EntryType, Site, Theme, Visibility
from kb.search.backend import Hit, IndexUnavailable, SearchRequest
from kb.search.documents import ANYONE, MEMBERS
from kb.search.snippets import highlight, snippet
from kb.services import best_bets as bets, browse, dataversion
from kb.services.entries import CARD_COLUMNS, EntryCard
from kb.services.errors import BadRequest, NotFound
from kb.services.filters import Filters
from kb.services.permissions import can_view_entry, is_member

_TURNS = "kb.search.turns"  # app.extensions: this process's semaphore of searches at work
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

    entry: EntryCard | Entry  # Entry when the index is down and the page comes from browsing
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
    best_bets: list[bets.BestBet] = field(default_factory=list)  # offered above the results

    @property
    def sort(self) -> str:
        """The sort in force."""
        return self.filters.effective_sort

    @property
    def active(self) -> list[tuple[Facet, FacetOption]]:
        """The facet options chosen, each with its facet."""
        return [(facet, option) for facet in self.facets for option in facet.options if option.selected]

    @property
    def evidence_count(self) -> int | None:
        """How many results there would be with the type "evaluation evidence" (the type facet's
        count, so among what the reader may see); ``None`` when there are no facets."""
        for facet in self.facets:
            if facet.name == "type":
                return next((o.count for o in facet.options if o.value == EntryType.EVIDENCE.value), 0)
        return None


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
    question = bets.question_of(filters)  # themes, polarity, evidence asked for: best bets, ranking
    request = SearchRequest(
        text=filters.q,
        readers=readers_of(user),
        filters={name: value for name in ("type", "site", "theme", "polarity", "year", "strength")
                 if (value := getattr(filters, name))},
        sort=filters.effective_sort,
        offset=(filters.page - 1) * page_size,
        limit=page_size,
        time_budget=current_app.config["KB_SEARCH_SECONDS"],
        prefer=bets.preferences(question),
    )
    try:
        with _taking_turns():
            hits = search_backend.backend().search(request)
            offered = bets.best_bets(question, filters, readers_of(user))  # their counts are searches too
    except IndexUnavailable as error:
        return _fallback(filters, user, page_size, error.message)
    pages = max(1, math.ceil(hits.total / page_size))
    if filters.page > pages:
        raise NotFound(f"There is no page {filters.page} of these results: they end at page {pages}.")
    return SearchPage(
        filters=filters,
        results=_results(hits.hits, hits.highlight, user),
        total=hits.total,
        page=filters.page,
        pages=pages,
        facets=_facets(hits.facets, filters),
        notices=hits.notices,
        suggestion=hits.suggestion,
        best_bets=offered,
        partial=hits.partial,
        site=site,
        theme=theme,
    )


@contextmanager
def _taking_turns() -> Iterator[None]:
    """Let at most ``KB_SEARCH_CONCURRENCY`` searches of this process work at once (0: no limit).

    A search is CPU work under Python's GIL: eight threads searching at once finish no sooner in
    all than one after another, but each is slowed by all the others, so a slow search (a phrase
    over thousands of entries) took eight times its own time. Taking turns, first come first
    served, keeps a search's wait to those ahead of it, and leaves the GIL freer for the cheap
    pages the other threads serve. The time budget of a search starts once it has its turn.
    """
    allowed = current_app.config["KB_SEARCH_CONCURRENCY"]
    if allowed <= 0:
        yield
        return
    turns = current_app.extensions.get(_TURNS)
    if turns is None:
        turns = current_app.extensions.setdefault(_TURNS, threading.BoundedSemaphore(allowed))
    with turns:
        yield


def similar_entries(entry: Entry, user: Any, limit: int = 5) -> list[EntryCard]:
    """Up to ``limit`` entries ``user`` may read that are most like ``entry`` (none if search is down).

    The backend works the list out once per version of ``entry`` and keeps it
    (:mod:`kb.search.similar`), so it may name entries deleted, archived or made network-only
    since: every one is read and checked against ``user`` here, and a few spare ones are asked
    for so that the list stays full. Entries published since the list was kept join it at
    ``entry``'s next version or the next index rebuild.
    """
    try:
        ids = search_backend.backend().related(entry.id, readers_of(user), limit + SIMILAR_SPARE)
    except IndexUnavailable:
        return []
    cards = _readable_cards(ids, user)
    return [cards[i] for i in ids if i in cards][:limit]


def _readable_cards(ids: list[int], user: Any) -> dict[int, EntryCard]:
    """The cards of the entries ``ids`` that ``user`` may read, by id."""
    return {entry_id: EntryCard.from_row(row) for entry_id, row in _readable_rows(_CARDS_BY_ID, ids, user).items()}


def _readable_rows(statement: Select, ids: list[int], user: Any) -> dict[int, Row]:
    """The rows ``statement`` (one of those below) selects for the entries ``ids`` that ``user``
    may read, by id.

    One query of plain values by primary key, each row checked with :func:`can_view_entry`, so
    an entry unpublished or made network-only since the index was written is dropped whatever
    the index says. (The check is made here rather than in SQL because with status and
    visibility in the ``WHERE`` clause SQLite's planner walks ``ix_entry_listing`` over every
    published entry instead of looking up the few ids: 2 ms instead of 0.2 ms at 10,000.)
    """
    if not ids:
        return {}
    return {row[0]: row for row in db.session.execute(statement, {"ids": list(ids)})
            if can_view_entry(user, _Readable(row[1], row[2]))}


def _by_id(*columns) -> Select:
    """``SELECT id, status, visibility, columns…, CARD_COLUMNS`` of the entries whose ids are
    bound as ``ids`` (what :func:`_readable_rows` reads)."""
    return (select(Entry.id, Entry.status, Entry.visibility, *columns, *CARD_COLUMNS).select_from(Entry)
            .outerjoin(Site, Entry.site_id == Site.id).where(Entry.id.in_(bindparam("ids", expanding=True))))


# Built once: a search page runs them every time, and building one and its cache key cost more
# than running it.
_CARDS_BY_ID = _by_id()
_RESULTS_BY_ID = _by_id(Entry.body_text)  # with the plain text of each body, for its snippet


class _Readable(NamedTuple):
    """What :func:`can_view_entry` reads of an entry."""

    status: EntryStatus
    visibility: Visibility


def _named(model, slug: str | None, what: str):
    if not slug:
        return None
    row = db.session.scalar(select(model).where(model.slug == slug))
    if row is None:
        raise BadRequest(f"There is no {what} called '{slug}'. Choose a {what} from the list.")
    return row


def _results(hits: list[Hit], terms: frozenset[str], user: Any) -> list[Result]:
    """The page's hits that ``user`` may read, as result cards with ``terms`` marked in their
    title, summary and a snippet of their text, in the hits' order.

    The texts are the database's, read with the cards: what the entry says now, even if the
    index has not caught up with a save yet.
    """
    rows = _readable_rows(_RESULTS_BY_ID, [h.id for h in hits], user)
    results = []
    for hit in hits:
        row = rows.get(hit.id)
        if row is not None:
            card, text = EntryCard.from_row(row), row[3]
            results.append(Result(card, highlight(card.title, terms), highlight(card.summary, terms),
                                  snippet(text, terms) if text else None))
    return results


def _site_and_theme_names() -> tuple[dict[str, str], dict[str, str]]:
    return (dict(db.session.execute(select(Site.slug, Site.name)).all()),
            dict(db.session.execute(select(Theme.slug, Theme.name)).all()))


def _facets(counts: dict[str, dict[str, int]], filters: Filters) -> list[Facet]:
    sites, themes = dataversion.memo("search.facet-names", _site_and_theme_names)
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

