"""Browsing entries with filters, in SQL: the fallback when the search index cannot be read;
and the pages of a listing (:class:`Page`) that theme and site pages share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, Mapping, TypeVar

from sqlalchemy import Select, and_, exists, extract, func, or_, select

from kb.extensions import db
from kb.models import Entry, EntryType, Site, Theme, ThemeTag
from kb.models.entries import entry_other_site
from kb.services.entries import ENTRY_LOAD_OPTIONS
from kb.services.errors import BadRequest, NotFound
from kb.services.filters import MAX_PAGE, Filters
from kb.services.permissions import visible_entries

MAX_QUERY_WORDS = 12


@dataclass(frozen=True)
class BrowseResult:
    """One page of entries matching ``filters``, with what the page needs to describe them."""

    filters: Filters
    entries: list[Entry]
    total: int
    page: int
    pages: int
    site: Site | None
    theme: Theme | None


@dataclass(frozen=True)
class FilterOptions:
    """The values offered in the filter form."""

    sites: list[Site]
    themes: list[Theme]
    years: list[int]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: Filters, site: Site | None, theme: Theme | None, user: Any) -> list:
    conditions = [visible_entries(user)]
    for word in filters.q.split()[:MAX_QUERY_WORDS]:
        pattern = _like(word)
        conditions.append(
            or_(
                Entry.title.ilike(pattern, escape="\\"),
                Entry.summary.ilike(pattern, escape="\\"),
                Entry.body.ilike(pattern, escape="\\"),
            )
        )
    if filters.type:
        conditions.append(Entry.type == EntryType(filters.type))
    if site is not None:
        conditions.append(
            or_(
                Entry.site_id == site.id,
                exists().where(and_(entry_other_site.c.entry_id == Entry.id, entry_other_site.c.site_id == site.id)),
            )
        )
    if theme is not None or filters.polarity:
        tag_conditions = [ThemeTag.entry_id == Entry.id]
        if theme is not None:
            tag_conditions.append(ThemeTag.theme_id == theme.id)
        if filters.polarity:
            tag_conditions.append(ThemeTag.polarity == filters.polarity)
        conditions.append(exists().where(and_(*tag_conditions)))
    if filters.year:
        conditions.append(extract("year", Entry.published_on) == filters.year)
    if filters.strength:
        conditions.append(Entry.evidence_strength >= filters.strength)
    return conditions


_ORDER = {
    "strength": (Entry.evidence_strength.desc().nulls_last(), Entry.published_on.desc(), Entry.title),
    "newest": (Entry.published_on.desc(), Entry.title),
    "oldest": (Entry.published_on.asc(), Entry.title),
    "title": (Entry.title, Entry.published_on.desc()),
}


def browse(filters: Filters, user: Any, page_size: int = 20) -> BrowseResult:
    """Entries ``user`` may read that match every filter, one page at a time.

    :raise BadRequest: if the site or theme named in the filters does not exist.
    :raise NotFound: if the page is past the last page of results.
    """
    site = theme = None
    if filters.site:
        site = db.session.scalar(select(Site).where(Site.slug == filters.site))
        if site is None:
            raise BadRequest(f"There is no site called '{filters.site}'. Choose a site from the list.")
    if filters.theme:
        theme = db.session.scalar(select(Theme).where(Theme.slug == filters.theme))
        if theme is None:
            raise BadRequest(f"There is no theme called '{filters.theme}'. Choose a theme from the list.")

    conditions = _conditions(filters, site, theme, user)
    total = db.session.scalar(select(func.count(Entry.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / page_size))
    if filters.page > pages:
        raise NotFound(f"There is no page {filters.page} of these results: they end at page {pages}.")
    query: Select = (
        select(Entry)
        .where(*conditions)
        .order_by(*_ORDER.get(filters.effective_sort, _ORDER["newest"]))
        .limit(page_size)
        .offset((filters.page - 1) * page_size)
        .options(*ENTRY_LOAD_OPTIONS)
    )
    return BrowseResult(filters, list(db.session.scalars(query)), total, filters.page, pages, site, theme)


def filter_options(user: Any) -> FilterOptions:
    """Sites, themes and the years that have entries ``user`` may read, for the filter form."""
    years = db.session.scalars(
        select(extract("year", Entry.published_on).label("year"))
        .where(visible_entries(user), Entry.published_on.is_not(None))
        .distinct()
        .order_by("year")
    )
    return FilterOptions(
        sites=list(db.session.scalars(select(Site).order_by(Site.name))),
        themes=list(db.session.scalars(select(Theme).order_by(Theme.name))),
        years=[int(y) for y in years],
    )


# --- pages of a listing ---------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Page ``number`` (from 1) of a listing of ``total`` items, ``size`` to a page."""

    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first item; 0 on an empty listing."""
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.number * self.size)


def page_number(args: Mapping[str, str], name: str = "page") -> int:
    """The page number in the URL parameter ``name`` (1 when absent or empty).

    :raise BadRequest: naming the parameter, unless it is a whole number from 1 to ``MAX_PAGE``.
    """
    value = (args.get(name) or "").strip()
    if not value:
        return 1
    # ASCII digits only: str.isdigit() also accepts "²" (which int() refuses) and other scripts' digits.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise BadRequest(f"The page number ({name}) must be a whole number from 1 to {MAX_PAGE}, not '{shown}'.")
    return int(value)


def page_offset(total: int, number: int, size: int, what: str) -> int:
    """The offset of page ``number`` in a listing of ``total`` items.

    :raise NotFound: if the listing ends before that page (an empty listing has a page 1).
    """
    pages = max(1, math.ceil(total / size))
    if number > pages:
        raise NotFound(f"There is no page {number} of {what}: the last is page {pages}.")
    return (number - 1) * size
