"""Best bets: what a search typed as a question asks for, offered above the results.

"data sharing barriers" names the theme Data sharing and asks what got in the way
(:mod:`kb.search.questions`). The search page then offers, first, the theme's page at its "What
got in the way" side and the filtered search ``?theme=data-sharing&polarity=barrier``; the
results below stay the full-text results for the words that matter, ranked with the entries so
tagged first (:func:`preferences`).

Every count is the total of the filtered search as the reader would run it, so it never includes
an entry the reader may not read, and a best bet whose search would find nothing is not offered.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from kb import search as search_backend
from kb.extensions import db
from kb.models import Theme
from kb.search.backend import IndexUnavailable, SearchRequest
from kb.search.questions import Question, ThemeMatcher, ThemeName, understand
from kb.search.whoosh_query import analyse
from kb.services import dataversion
from kb.services.filters import Filters

MAX_THEMES = 3  # best bets for at most this many themes named in one search
_FILTERS = ("type", "site", "theme", "polarity", "year", "strength")


@dataclass(frozen=True)
class BestBet:
    """One best bet: a theme's page and/or a filtered search, with what that search finds.

    ``theme_slug``/``theme_name`` are empty when the search names no theme (then the bet is only
    the filtered search, e.g. "only what got in the way"). ``filters`` is the filtered search
    (``None`` when it would find nothing) and ``count`` its total among entries the reader may read.
    """

    theme_slug: str | None
    theme_name: str | None
    polarity: str | None
    type: str | None
    filters: Filters | None
    count: int


def _matcher() -> ThemeMatcher:
    themes = db.session.execute(select(Theme.slug, Theme.name)).all()
    forms = [item.forms for item in search_backend.glossary().items]
    return ThemeMatcher([ThemeName(slug, name) for slug, name in themes], analyse, forms)


def _theme_names() -> dict[str, str]:
    return dict(db.session.execute(select(Theme.slug, Theme.name)).all())


def question_of(filters: Filters) -> Question:
    """What the search words of ``filters`` ask for beyond their words (nothing when browsing)."""
    if not filters.q:
        return Question()
    return understand(filters.q, dataversion.memo("search.question-themes", _matcher))


def preferences(question: Question) -> tuple[tuple[str, str], ...]:
    """Ranking preferences for ``question`` (see :attr:`kb.search.backend.SearchRequest.prefer`):
    entries tagged with each theme named, with the polarity asked for, and of the type asked for."""
    prefer: list[tuple[str, str]] = []
    for slug in question.themes:
        prefer.append(("theme", slug))
        if question.polarity:
            prefer.append(("tag", f"{slug}:{question.polarity}"))
    if question.polarity and not question.themes:
        prefer.append(("polarity", question.polarity))
    if question.type:
        prefer.append(("type", question.type))
    return tuple(prefer)


def best_bets(question: Question, filters: Filters, readers: tuple[str, ...]) -> list[BestBet]:
    """The best bets for ``question``, asked with ``filters``, for a reader holding ``readers``.

    A theme's bet is always offered (its page is public); its filtered search keeps the reader's
    other filters and the words that are not the theme's name, or drops those words when nothing
    would be found with them, and is left out when it would find nothing or is the page shown.
    """
    if not question.understood or filters.page != 1:
        return []
    names = dataversion.memo("search.best-bet-theme-names", _theme_names)
    bets = []
    try:
        for slug in question.themes[:MAX_THEMES]:
            wanted = dataclasses.replace(filters, q=question.rest, theme=slug, polarity=question.polarity,
                                         type=question.type or filters.type, sort="", page=1)
            found, count = _first_finding(wanted, readers, filters)
            bets.append(BestBet(slug, names.get(slug, slug), question.polarity, question.type, found, count))
        if not question.themes and (question.polarity or question.type):
            wanted = dataclasses.replace(filters, q=question.rest, polarity=question.polarity or filters.polarity,
                                         type=question.type or filters.type, sort="", page=1)
            found, count = _first_finding(wanted, readers, filters)
            if found is not None:
                bets.append(BestBet(None, None, question.polarity, question.type, found, count))
    except IndexUnavailable:
        return []
    return bets


def _first_finding(wanted: Filters, readers: tuple[str, ...], shown: Filters) -> tuple[Filters | None, int]:
    """``wanted``, or ``wanted`` without its words, whichever first finds something, and its count."""
    for candidate in (wanted, dataclasses.replace(wanted, q="")) if wanted.q else (wanted,):
        if candidate == dataclasses.replace(shown, sort="", page=1):
            continue  # the page the reader is on
        count = _count(candidate, readers)
        if count:
            return candidate, count
    return None, 0


def _count(filters: Filters, readers: tuple[str, ...]) -> int:
    """How many entries ``readers`` may read that ``filters`` finds (what its page would say)."""
    request = SearchRequest(
        text=filters.q,
        readers=readers,
        filters={name: value for name in _FILTERS if (value := getattr(filters, name))},
        sort="newest",
        limit=1,
        time_budget=current_app.config["KB_SEARCH_SECONDS"],
    )
    return search_backend.backend().search(request).total
